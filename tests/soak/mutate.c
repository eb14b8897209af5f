/* A hostile workload for the rootfs view: it changes everything it can reach under / (creates,
 * appends to, truncates, renames, deletes, chmods and chowns files, directories and links), then
 * prints how many changes succeeded. The test compares the user's rootfs before and after.
 * Static, so it runs in the container and vm tiers alike. Usage: mutate [MARK] */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { kMaxPaths = 20000 };
static char* paths[kMaxPaths];
static int count;
static long done, refused;

static void collect(const char* dir) {
  DIR* d = opendir(dir);
  if (!d) return;
  struct dirent* e;
  while ((e = readdir(d)) && count < kMaxPaths) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", strcmp(dir, "/") ? dir : "", e->d_name);
    /* The kernel's file systems are not the rootfs. */
    if (!strcmp(path, "/proc") || !strcmp(path, "/sys") || !strcmp(path, "/dev")) continue;
    paths[count++] = strdup(path);
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) collect(path);
  }
  closedir(d);
}

static void tally(int rc) { rc == 0 ? done++ : refused++; }

int main(int argc, char** argv) {
  const char* mark = argc > 1 ? argv[1] : "changed";
  collect("/");
  /* Every directory: a new file, a new directory, a new link; its mode and owner changed. */
  for (int i = 0; i < count; i++) {
    struct stat st;
    if (lstat(paths[i], &st) != 0) continue;
    char path[4200];
    if (S_ISDIR(st.st_mode)) {
      snprintf(path, sizeof path, "%s/.spectrum-new", paths[i]);
      int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
      tally(fd < 0 ? -1 : (int)(write(fd, mark, strlen(mark)) < 0) * -1);
      if (fd >= 0) close(fd);
      snprintf(path, sizeof path, "%s/.spectrum-dir", paths[i]);
      tally(mkdir(path, 0700));
      snprintf(path, sizeof path, "%s/.spectrum-link", paths[i]);
      tally(symlink("/etc/passwd", path));
      tally(chmod(paths[i], 0700));
      tally(chown(paths[i], 1234, 5678));
    } else if (S_ISREG(st.st_mode)) {
      /* Files: every other one appended to, the rest truncated; all chmod and chown. */
      int fd = open(paths[i], O_WRONLY | (i % 2 ? O_APPEND : O_TRUNC));
      tally(fd < 0 ? -1 : (int)(write(fd, mark, strlen(mark)) < 0) * -1);
      if (fd >= 0) close(fd);
      tally(chmod(paths[i], 0600));
      tally(chown(paths[i], 1234, 5678));
    } else if (S_ISLNK(st.st_mode)) {
      tally(lchown(paths[i], 1234, 5678));
    }
  }
  /* Then renames and deletions, deepest first so that a directory's contents go before it. */
  for (int i = count - 1; i >= 0; i--) {
    char to[4200];
    snprintf(to, sizeof to, "%s.spectrum-renamed", paths[i]);
    if (i % 3 == 0) {
      tally(rename(paths[i], to));
    } else {
      struct stat st;
      if (lstat(paths[i], &st) != 0) continue;
      tally(S_ISDIR(st.st_mode) ? rmdir(paths[i]) : unlink(paths[i]));
    }
  }
  int fd = open("/spectrum-was-here", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) {
    tally((int)(write(fd, mark, strlen(mark)) < 0) * -1);
    close(fd);
  }
  printf("paths %d changed %ld refused %ld\n", count, done, refused);
  return 0;
}
