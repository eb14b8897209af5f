// socketpair: stream bytes both ways, datagram boundaries kept, shutdown, an fd passed with SCM_RIGHTS.
#include <fcntl.h>
#include <sys/socket.h>

#include "conf.h"
int main(void) {
  int s[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, s) == 0);
  CHECK(send(s[0], "ping", 4, 0) == 4);
  char buf[64] = {0};
  CHECK(recv(s[1], buf, sizeof buf, 0) == 4);
  CHECK(write(s[1], "pong", 4) == 4);
  CHECK(read(s[0], buf + 4, 4) == 4);
  printf("stream: %s\n", buf);
  CHECK(shutdown(s[0], SHUT_WR) == 0);
  printf("after shutdown, peer reads %zd\n", recv(s[1], buf, sizeof buf, 0));
  int d[2];
  CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, d) == 0);
  CHECK(send(d[0], "one", 3, 0) == 3 && send(d[0], "three", 5, 0) == 5);
  printf("datagrams: %zd %zd\n", recv(d[1], buf, sizeof buf, 0), recv(d[1], buf, sizeof buf, 0));
  printf("empty non-blocking: %s\n", ERRNO_OF(recv(d[1], buf, sizeof buf, MSG_DONTWAIT)));
  // Pass a pipe's read end over the socket, read through the received fd.
  int p[2];
  CHECK(pipe(p) == 0 && write(p[1], "through the passed fd", 21) == 21);
  struct msghdr msg = {0};
  char byte = '!';
  struct iovec iov = {&byte, 1};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } control;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &p[0], sizeof(int));
  CHECK(sendmsg(d[0], &msg, 0) == 1);
  close(p[0]);
  memset(&control, 0, sizeof control);
  msg.msg_controllen = sizeof control.buf;
  CHECK(recvmsg(d[1], &msg, 0) == 1);
  c = CMSG_FIRSTHDR(&msg);
  CHECK(c && c->cmsg_type == SCM_RIGHTS);
  int got;
  memcpy(&got, CMSG_DATA(c), sizeof got);
  memset(buf, 0, sizeof buf);
  CHECK(read(got, buf, sizeof buf) == 21);
  printf("SCM_RIGHTS: %s\n", buf);
  int type;
  socklen_t len = sizeof type;
  CHECK(getsockopt(s[0], SOL_SOCKET, SO_TYPE, &type, &len) == 0);
  printf("SO_TYPE stream: %d\n", type == SOCK_STREAM);
  return 0;
}
