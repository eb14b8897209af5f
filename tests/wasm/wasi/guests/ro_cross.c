/* Attacks on a read-only file through a second name or a second directory (issue 10):
 *   ro_cross RW_DIR RO_FILE LINK_TEXT
 * RO_FILE is the read-only file as the guest reaches it ("/ro/file", or "/./locked/file" through a
 * writable root); LINK_TEXT is the symlink text leading from RW_DIR to it. Every attempt must be
 * refused; one that is allowed goes on to write "pwned" through what it made. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int failures = 0;

static void pwn(const char* path) {
  int fd = open(path, O_WRONLY | O_TRUNC);
  if (fd >= 0) {
    if (write(fd, "pwned\n", 6) != 6) printf("(write failed: %s)\n", strerror(errno));
    close(fd);
  }
}

static void expect_refused(int ok, const char* what, const char* then_write) {
  if (ok) {
    printf("ALLOWED %s\n", what);
    failures++;
    if (then_write) pwn(then_write);
  } else {
    printf("refused %s: %s\n", what, strerror(errno));
  }
}

int main(int argc, char** argv) {
  if (argc != 4) return 2;
  const char *rw = argv[1], *ro_file = argv[2], *link_text = argv[3];
  char copy[512], ro_dir[512], hard[512], soft[512], moved[512], made[512], other[512];
  snprintf(copy, sizeof copy, "%s", ro_file);
  snprintf(ro_dir, sizeof ro_dir, "%s", dirname(copy));
  snprintf(hard, sizeof hard, "%s/hard", rw);
  snprintf(soft, sizeof soft, "%s/soft", rw);
  snprintf(moved, sizeof moved, "%s/moved", rw);

  int fd = open(ro_file, O_WRONLY | O_TRUNC);
  expect_refused(fd >= 0, "open O_WRONLY|O_TRUNC", NULL);
  if (fd >= 0) pwn(ro_file);
  expect_refused(open(ro_file, O_RDWR) >= 0, "open O_RDWR", NULL);
  /* The finding: a hard link into the writable directory, then a write through it. */
  expect_refused(link(ro_file, hard) == 0, "link into the writable dir", hard);
  expect_refused(rename(ro_file, moved) == 0, "rename out", moved);
  snprintf(other, sizeof other, "%s/planted", rw);
  close(open(other, O_WRONLY | O_CREAT, 0644));
  snprintf(made, sizeof made, "%s/planted", ro_dir);
  expect_refused(rename(other, made) == 0, "rename in", NULL);
  unlink(other);
  snprintf(made, sizeof made, "%s/dir", ro_dir);
  expect_refused(mkdir(made, 0755) == 0, "mkdir", NULL);
  snprintf(made, sizeof made, "%s/sym", ro_dir);
  expect_refused(symlink("file", made) == 0, "symlink", NULL);
  expect_refused(unlink(ro_file) == 0, "unlink", NULL);
  struct timespec times[2] = {{0, 0}, {0, 0}};
  expect_refused(utimensat(AT_FDCWD, ro_file, times, 0) == 0, "utimensat", NULL);
  /* A symlink in the writable directory leading to the file: following it for writing, and
   * hard-linking what it leads to. */
  if (symlink(link_text, soft) != 0) printf("(symlink %s: %s)\n", soft, strerror(errno));
  expect_refused(open(soft, O_WRONLY | O_TRUNC) >= 0, "open through a symlink", soft);
  expect_refused(linkat(AT_FDCWD, soft, AT_FDCWD, hard, AT_SYMLINK_FOLLOW) == 0, "link through a symlink",
                 hard);
  unlink(soft);
  /* The directory opened by itself, then a write below it. */
  int dir = open(ro_dir, O_RDONLY | O_DIRECTORY);
  if (dir < 0) {
    printf("FAILED to open %s: %s\n", ro_dir, strerror(errno));
    return 1;
  }
  int in_dir = openat(dir, "file", O_WRONLY | O_TRUNC);
  expect_refused(in_dir >= 0, "openat below the directory's fd", NULL);
  if (in_dir >= 0) close(in_dir);
  expect_refused(mkdirat(dir, "dir2", 0755) == 0, "mkdirat below the directory's fd", NULL);
  close(dir);
  return failures ? 1 : 0;
}
