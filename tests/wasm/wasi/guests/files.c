/* File operations inside the preopen given as argv[1]: write, read, seek, readdir, rename,
   unlink, mkdir, rmdir, stat. Prints "files ok", or the failing step and exits 1. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char* dir;
static char path_buf[4][512];

static const char* at(int slot, const char* name) {
  snprintf(path_buf[slot], sizeof path_buf[slot], "%s/%s", dir, name);
  return path_buf[slot];
}

#define CHECK(cond, step)                                              \
  do {                                                                 \
    if (!(cond)) {                                                     \
      printf("FAILED %s: %s\n", step, strerror(errno));                \
      return 1;                                                        \
    }                                                                  \
  } while (0)

int main(int argc, char** argv) {
  dir = argc > 1 ? argv[1] : "/data";
  FILE* f = fopen(at(0, "notes.txt"), "w");
  CHECK(f, "fopen w");
  CHECK(fputs("0123456789 spectrum\n", f) >= 0, "fputs");
  CHECK(fclose(f) == 0, "fclose");

  int fd = open(at(0, "notes.txt"), O_RDWR);
  CHECK(fd >= 0, "open rw");
  CHECK(lseek(fd, 11, SEEK_SET) == 11, "lseek set");
  char buf[64] = {0};
  CHECK(read(fd, buf, 8) == 8 && memcmp(buf, "spectrum", 8) == 0, "read after seek");
  CHECK(lseek(fd, 0, SEEK_CUR) == 19, "tell");
  CHECK(pwrite(fd, "AB", 2, 0) == 2, "pwrite");
  CHECK(pread(fd, buf, 4, 0) == 4 && memcmp(buf, "AB23", 4) == 0, "pread");
  CHECK(lseek(fd, 0, SEEK_END) == 20, "lseek end");
  CHECK(ftruncate(fd, 5) == 0, "ftruncate");
  struct stat st;
  CHECK(fstat(fd, &st) == 0 && st.st_size == 5 && S_ISREG(st.st_mode), "fstat");
  CHECK(close(fd) == 0, "close");

  CHECK(mkdir(at(0, "sub"), 0755) == 0, "mkdir");
  CHECK(mkdir(at(0, "sub"), 0755) != 0 && errno == EEXIST, "mkdir twice is EEXIST");
  CHECK(rename(at(0, "notes.txt"), at(1, "sub/renamed.txt")) == 0, "rename");
  CHECK(stat(at(0, "notes.txt"), &st) != 0 && errno == ENOENT, "old name gone");
  CHECK(stat(at(0, "sub/renamed.txt"), &st) == 0 && st.st_size == 5, "stat new name");

  DIR* d = opendir(at(0, "sub"));
  CHECK(d, "opendir");
  int found = 0, others = 0;
  struct dirent* e;
  while ((e = readdir(d))) {
    if (strcmp(e->d_name, "renamed.txt") == 0) found = 1;
    else if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) others++;
  }
  closedir(d);
  CHECK(found && others == 0, "readdir lists renamed.txt alone");

  CHECK(rmdir(at(0, "sub")) != 0 && errno == ENOTEMPTY, "rmdir non-empty is ENOTEMPTY");
  CHECK(unlink(at(0, "sub/renamed.txt")) == 0, "unlink");
  CHECK(rmdir(at(0, "sub")) == 0, "rmdir");
  CHECK(stat(at(0, "sub"), &st) != 0 && errno == ENOENT, "directory gone");

  CHECK(symlink("target.txt", at(0, "link")) == 0, "symlink");
  f = fopen(at(0, "target.txt"), "w");
  CHECK(f && fputs("via link", f) >= 0 && fclose(f) == 0, "write target");
  f = fopen(at(0, "link"), "r");
  CHECK(f && fgets(buf, sizeof buf, f) && strcmp(buf, "via link") == 0, "read through inside symlink");
  fclose(f);
  ssize_t n = readlink(at(0, "link"), buf, sizeof buf);
  CHECK(n == 10 && memcmp(buf, "target.txt", 10) == 0, "readlink");
  CHECK(link(at(0, "target.txt"), at(1, "hard")) == 0, "link");
  CHECK(stat(at(0, "hard"), &st) == 0 && st.st_nlink == 2, "hard link count");
  CHECK(unlink(at(0, "hard")) == 0 && unlink(at(1, "link")) == 0 && unlink(at(2, "target.txt")) == 0, "cleanup");
  puts("files ok");
  return 0;
}
