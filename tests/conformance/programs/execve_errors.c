// execve failures: a missing file, a file without x, a folder, an unknown format, a bad interpreter.
#include <fcntl.h>
#include <sys/stat.h>

#include "conf.h"
static char dir[] = "/tmp/confXXXXXX";
static void put(const char* name, const char* text, mode_t mode) {
  char path[64];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int fd = open(path, O_WRONLY | O_CREAT, mode);
  CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text) && close(fd) == 0);
}
static void try(const char* name) {
  char path[64];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  char* args[] = {path, NULL};
  char* env[] = {NULL};
  execve(path, args, env);
  printf("%s: %s\n", name, strerrorname_np(errno));
}
int main(void) {
  CHECK(mkdtemp(dir));
  put("noexec", "#!/bin/sh\necho no\n", 0644);
  put("garbage", "\x01\x02\x03 not an executable\n", 0755);
  put("badinterp", "#!/no/such/interpreter\n", 0755);
  put("elfhead",
      "\x7f"
      "ELF truncated",
      0755);
  CHECK(mkdir("/tmp/conf-execve-dir", 0755) == 0 || errno == EEXIST);
  try("missing");
  try("noexec");
  try("garbage");
  try("badinterp");
  try("elfhead");
  char* args[] = {"x", NULL};
  execve("/tmp/conf-execve-dir", args, args + 1);
  printf("folder: %s\n", strerrorname_np(errno));
  printf("still running after the failures\n");
  return 0;
}
