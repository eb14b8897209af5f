// An AF_UNIX listening socket in /tmp: connect, accept, exchange, and a child as the client.
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "conf.h"
int main(void) {
  char dir[] = "/tmp/confXXXXXX";
  CHECK(mkdtemp(dir));
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  snprintf(addr.sun_path, sizeof addr.sun_path, "%s/sock", dir);
  int server = socket(AF_UNIX, SOCK_STREAM, 0);
  CHECK(server >= 0);
  CHECK(bind(server, (struct sockaddr*)&addr, sizeof addr) == 0);
  CHECK(listen(server, 4) == 0);
  printf("bind again: %s\n",
         ERRNO_OF(bind(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr*)&addr, sizeof addr)));
  // In one process: the connection completes into the backlog before accept.
  int client = socket(AF_UNIX, SOCK_STREAM, 0);
  CHECK(connect(client, (struct sockaddr*)&addr, sizeof addr) == 0);
  int conn = accept(server, NULL, NULL);
  CHECK(conn >= 0);
  CHECK(write(client, "hello", 5) == 5);
  char buf[16] = {0};
  CHECK(read(conn, buf, sizeof buf) == 5);
  printf("same process: %s\n", buf);
  close(client);
  close(conn);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(connect(c, (struct sockaddr*)&addr, sizeof addr) == 0);
    CHECK(write(c, "from the child", 14) == 14);
    _exit(0);
  }
  conn = accept(server, NULL, NULL);
  CHECK(conn >= 0);
  memset(buf, 0, sizeof buf);
  size_t got = 0;
  ssize_t n;
  while ((n = read(conn, buf + got, sizeof buf - 1 - got)) > 0) got += n;
  printf("child: %s\n", buf);
  int status;
  CHECK(waitpid(pid, &status, 0) == pid);
  struct sockaddr_un missing = {.sun_family = AF_UNIX, .sun_path = "/tmp/no-such-socket"};
  printf("connect to nothing: %s\n",
         ERRNO_OF(connect(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr*)&missing, sizeof missing)));
  unlink(addr.sun_path);
  rmdir(dir);
  return 0;
}
