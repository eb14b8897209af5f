/* Pipes, dup, fcntl and poll as a shell uses them; prints one line per check, so the output can be
 * compared with a native run. Usage: ipc pipe | ipc poll-attack */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs a call, then prints its result and errno's name (the arguments of one printf would be
 * evaluated in no fixed order). */
static const char* err_name(int e) {
  return e == EAGAIN         ? "EAGAIN"
         : e == EBADF        ? "EBADF"
         : e == EFAULT       ? "EFAULT"
         : e == EINVAL       ? "EINVAL"
         : e == EPIPE        ? "EPIPE"
         : e == EOPNOTSUPP   ? "EOPNOTSUPP"
         : e == EAFNOSUPPORT ? "EAFNOSUPPORT"
         : e == EISCONN      ? "EISCONN"
                             : "other";
}
#define SHOW(what, call)                                                             \
  do {                                                                               \
    errno = 0;                                                                       \
    long r_ = (long)(call);                                                          \
    int e_ = errno;                                                                  \
    printf("%s %ld%s%s\n", what, r_, r_ < 0 ? " " : "", r_ < 0 ? err_name(e_) : ""); \
  } while (0)

static int check_pipe(void) {
  int p[2];
  if (pipe(p) != 0) return printf("pipe failed %d\n", errno), 1;
  printf("pipe fds %d %d\n", p[0], p[1]);
  char buf[64] = {0};
  /* an empty pipe with O_NONBLOCK: EAGAIN, and F_GETFL shows the flag */
  fcntl(p[0], F_SETFL, O_NONBLOCK);
  SHOW("nonblock read", read(p[0], buf, sizeof buf));
  printf("flags %s\n", (fcntl(p[0], F_GETFL) & O_NONBLOCK) ? "O_NONBLOCK" : "-");
  fcntl(p[0], F_SETFL, 0);
  struct pollfd pfd = {p[0], POLLIN, 0};
  printf("poll empty %d\n", poll(&pfd, 1, 0));
  write(p[1], "through the pipe", 16);
  SHOW("poll full", poll(&pfd, 1, 1000));
  printf("revents %s\n", (pfd.revents & POLLIN) ? "POLLIN" : "-");
  /* dup2 onto another number, then read through the copy */
  int copy = dup2(p[0], 10);
  printf("dup2 %d cloexec %d\n", copy, fcntl(copy, F_GETFD));
  ssize_t n = read(copy, buf, sizeof buf - 1);
  printf("read %zd '%s'\n", n, buf);
  int high = fcntl(p[1], F_DUPFD_CLOEXEC, 20);
  printf("F_DUPFD_CLOEXEC %d cloexec %d\n", high, fcntl(high, F_GETFD));
  /* EOF once every write end is closed (the duplicate too) */
  close(p[1]);
  printf("read with a write end open: poll %d\n", poll(&pfd, 1, 0));
  close(high);
  printf("read at EOF %zd\n", read(p[0], buf, sizeof buf));
  /* a write to a pipe nobody reads: EPIPE once SIGPIPE is ignored */
  int q[2];
  pipe2(q, O_CLOEXEC);
  printf("pipe2 cloexec %d\n", fcntl(q[0], F_GETFD));
  close(q[0]);
  signal(SIGPIPE, SIG_IGN);
  SHOW("write without reader", write(q[1], "x", 1));
  SHOW("dup2 to a bad number", dup2(0, 100000));
  SHOW("close of a bad number", close(-5));
  SHOW("read of a bad number", read(1 << 30, buf, 1));
  return 0;
}

/* Guest pointers at the edge of a mapping: the array runs into an unmapped page. */
static int poll_attack(void) {
  char* page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  munmap(page + 4096, 4096);
  struct pollfd* edge = (struct pollfd*)(page + 4096 - sizeof(struct pollfd));
  edge[0].fd = 0;
  edge[0].events = POLLIN;
  SHOW("poll across the edge", poll(edge, 2, 0));
  SHOW("poll of too many fds", poll(edge, 1u << 20, 0));
  int* p = (int*)(page + 4096 - sizeof(int));
  SHOW("pipe across the edge", pipe(p));
  SHOW("pipe into the kernel area", pipe((int*)0x1000));
  /* nothing leaked by the failed pipe: the next fd is still 3 */
  int q[2];
  pipe(q);
  printf("next pipe %d %d\n", q[0], q[1]);
  return 0;
}

/* eventfd counts, and an AF_UNIX socket pair between a parent and its child. */
static int check_sockets(void) {
  int efd = eventfd(3, EFD_NONBLOCK);
  uint64_t v = 4;
  write(efd, &v, sizeof v);
  SHOW("eventfd read", read(efd, &v, sizeof v));
  printf("eventfd value %llu\n", (unsigned long long)v);
  SHOW("eventfd read when zero", read(efd, &v, sizeof v));
  int sv[2];
  SHOW("socketpair", socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
  int unused[2];
  SHOW("socketpair AF_INET", socketpair(AF_INET, SOCK_STREAM, 0, unused));
  pid_t child = fork();
  if (child == 0) {
    close(sv[0]);
    char buf[32] = {0};
    ssize_t n = recv(sv[1], buf, sizeof buf - 1, 0); /* blocks until the parent sends */
    char reply[64];
    int len = snprintf(reply, sizeof reply, "child got %zd '%s'", n, buf);
    send(sv[1], reply, (size_t)len, 0);
    shutdown(sv[1], SHUT_WR);
    _exit(0);
  }
  close(sv[1]);
  char buf[64] = {0};
  SHOW("recv before anything was sent (MSG_DONTWAIT)", recv(sv[0], buf, sizeof buf, MSG_DONTWAIT));
  send(sv[0], "ping", 4, 0);
  ssize_t n = recv(sv[0], buf, sizeof buf - 1, 0);
  printf("parent got %zd '%s'\n", n, buf);
  SHOW("recv after shutdown", recv(sv[0], buf, sizeof buf, 0));
  waitpid(child, NULL, 0);
  /* select on the socket: readable at its end, writable */
  fd_set rd, wr;
  FD_ZERO(&rd);
  FD_ZERO(&wr);
  FD_SET(sv[0], &rd);
  FD_SET(sv[0], &wr);
  struct timeval tv = {1, 0};
  SHOW("select", select(sv[0] + 1, &rd, &wr, NULL, &tv));
  printf("select: readable %d writable %d\n", FD_ISSET(sv[0], &rd) != 0, FD_ISSET(sv[0], &wr) != 0);
  FD_ZERO(&rd);
  FD_SET(efd, &rd);
  tv.tv_usec = 1000;
  tv.tv_sec = 0;
  SHOW("select that times out", select(efd + 1, &rd, NULL, NULL, &tv));
  FD_SET(50, &rd);
  SHOW("select of a closed fd", select(51, &rd, NULL, NULL, &tv));
  /* epoll over a pipe */
  int ep = epoll_create1(EPOLL_CLOEXEC), q[2];
  pipe(q);
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 42}, got[4];
  SHOW("epoll_ctl add", epoll_ctl(ep, EPOLL_CTL_ADD, q[0], &ev));
  SHOW("epoll_ctl add twice", epoll_ctl(ep, EPOLL_CTL_ADD, q[0], &ev));
  SHOW("epoll_wait on an empty pipe", epoll_wait(ep, got, 4, 0));
  write(q[1], "e", 1);
  SHOW("epoll_wait", epoll_wait(ep, got, 4, 1000));
  printf("epoll event %s data %llu\n", (got[0].events & EPOLLIN) ? "EPOLLIN" : "-",
         (unsigned long long)got[0].data.u64);
  SHOW("epoll_ctl del", epoll_ctl(ep, EPOLL_CTL_DEL, q[0], NULL));
  SHOW("epoll_wait after del", epoll_wait(ep, got, 4, 0));
  SHOW("epoll_wait with no room", epoll_wait(ep, got, 0, 0));
  SHOW("sendto with an address", sendto(sv[0], "x", 1, 0, (struct sockaddr*)buf, 16));
  return 0;
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  for (int fd = 3; fd < 64; ++fd) close(fd); /* natively, whatever the test runner left open */
  if (argc > 1 && strcmp(argv[1], "pipe") == 0) return check_pipe();
  if (argc > 1 && strcmp(argv[1], "poll-attack") == 0) return poll_attack();
  if (argc > 1 && strcmp(argv[1], "sockets") == 0) return check_sockets();
  return 2;
}
