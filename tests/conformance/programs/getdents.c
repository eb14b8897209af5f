// Listing a folder (getdents64 through readdir) gives every entry once, with its type.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "conf.h"
static int by_name(const void* a, const void* b) { return strcmp(*(char* const*)a, *(char* const*)b); }
int main(void) {
  char dir[] = "/tmp/confXXXXXX";
  CHECK(mkdtemp(dir));
  CHECK(chdir(dir) == 0);
  // Enough entries that one getdents64 call cannot return them all.
  for (int i = 0; i < 300; i++) {
    char name[32];
    snprintf(name, sizeof name, "file-with-a-long-name-%03d", i);
    int fd = open(name, O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0 && close(fd) == 0);
  }
  CHECK(mkdir("sub", 0755) == 0);
  CHECK(symlink("sub", "link") == 0);
  DIR* d = opendir(".");
  CHECK(d);
  char* names[400];
  int n = 0, files = 0, dirs = 0, links = 0;
  struct dirent* e;
  while ((e = readdir(d)) != NULL) {
    CHECK(n < 400);
    names[n++] = strdup(e->d_name);
    files += e->d_type == DT_REG;
    dirs += e->d_type == DT_DIR;
    links += e->d_type == DT_LNK;
  }
  closedir(d);
  qsort(names, n, sizeof *names, by_name);
  int dups = 0;
  for (int i = 1; i < n; i++) dups += strcmp(names[i - 1], names[i]) == 0;
  printf("entries=%d regular=%d dirs=%d links=%d duplicates=%d\n", n, files, dirs, links, dups);
  printf("first=%s %s %s last=%s\n", names[0], names[1], names[2], names[n - 1]);
  for (int i = 0; i < 300; i++) {
    char name[32];
    snprintf(name, sizeof name, "file-with-a-long-name-%03d", i);
    CHECK(unlink(name) == 0);
  }
  CHECK(unlink("link") == 0 && rmdir("sub") == 0 && chdir("/") == 0 && rmdir(dir) == 0);
  return 0;
}
