/* Tries to reach files outside the preopen argv[1]; each attempt must fail. Prints one line per
   attempt ("refused <path>: <error>" or "ESCAPED <path>") and exits 1 if any succeeded. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int escaped = 0;

static void try_open(const char* path) {
  int fd = open(path, O_RDONLY);
  if (fd >= 0) {
    printf("ESCAPED %s\n", path);
    escaped = 1;
    close(fd);
  } else {
    printf("refused %s: %s\n", path, strerror(errno));
  }
}

int main(int argc, char** argv) {
  const char* dir = argc > 1 ? argv[1] : "/data";
  char path[512];
  snprintf(path, sizeof path, "%s/../secret", dir);
  try_open(path);
  snprintf(path, sizeof path, "%s/sub/../../secret", dir);
  try_open(path);
  try_open("/etc/passwd");
  try_open("/secret");
  try_open("../secret");
  snprintf(path, sizeof path, "%s/link-out", dir);  /* a symlink to ../secret made by the test */
  try_open(path);
  snprintf(path, sizeof path, "%s/link-abs", dir);  /* a symlink to the absolute host path */
  try_open(path);
  snprintf(path, sizeof path, "%s/../made-outside", dir);
  if (mkdir(path, 0755) == 0) {
    printf("ESCAPED mkdir %s\n", path);
    escaped = 1;
  } else {
    printf("refused mkdir %s: %s\n", path, strerror(errno));
  }
  return escaped;
}
