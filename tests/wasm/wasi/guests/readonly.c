/* In the read-only preopen argv[1] (holding "file"): reading works, every write is refused. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int failures = 0;

static void expect_refused(int ok, const char* what) {
  if (ok) {
    printf("ALLOWED %s\n", what);
    failures++;
  } else {
    printf("refused %s: %s\n", what, strerror(errno));
  }
}

int main(int argc, char** argv) {
  const char* dir = argc > 1 ? argv[1] : "/ro";
  char path[512], other[512], buf[64] = {0};
  snprintf(path, sizeof path, "%s/file", dir);
  FILE* f = fopen(path, "r");
  if (!f || !fgets(buf, sizeof buf, f)) {
    printf("FAILED to read %s: %s\n", path, strerror(errno));
    return 1;
  }
  fclose(f);
  printf("read: %s\n", buf);
  expect_refused(fopen(path, "w") != NULL, "fopen w");
  expect_refused(fopen(path, "a") != NULL, "fopen a");
  expect_refused(open(path, O_RDWR) >= 0, "open O_RDWR");
  snprintf(other, sizeof other, "%s/new", dir);
  expect_refused(open(other, O_WRONLY | O_CREAT, 0644) >= 0, "create");
  expect_refused(mkdir(other, 0755) == 0, "mkdir");
  expect_refused(unlink(path) == 0, "unlink");
  expect_refused(rename(path, other) == 0, "rename");
  expect_refused(symlink("file", other) == 0, "symlink");
  return failures ? 1 : 0;
}
