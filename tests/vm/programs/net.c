/* Sockets, one line per check, for comparison with a native run (modes `unix` and `malformed`) or
 * for checked lines (mode `escape`, whose answers differ from a native run on purpose).
 * Usage: net unix [DIR] | net inet | net pingpong N | net malformed | net epoll | net escape
 * HOST_ABSTRACT_NAME HOST_SOCKET_PATH */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define SHOW(what, call)                                                                    \
  do {                                                                                      \
    errno = 0;                                                                              \
    long r_ = (long)(call);                                                                 \
    int e_ = errno;                                                                         \
    printf("%s %ld%s%s\n", what, r_, r_ < 0 ? " " : "", r_ < 0 ? strerrorname_np(e_) : ""); \
  } while (0)
#define CHECK(x)                                          \
  do {                                                    \
    if (!(x)) {                                           \
      printf("check failed line %d: %s\n", __LINE__, #x); \
      exit(1);                                            \
    }                                                     \
  } while (0)

static socklen_t path_address(struct sockaddr_un* a, const char* path) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  strcpy(a->sun_path, path);
  return offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1;
}
static socklen_t abstract_address(struct sockaddr_un* a, const char* name) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  memcpy(a->sun_path + 1, name, strlen(name));
  return offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name);
}
static int send_fds(int sock, const int* fds, int n) {
  char byte = 'F';
  struct iovec iov = {&byte, 1};
  char control[CMSG_SPACE(sizeof(int) * 4)] = {0};
  struct msghdr msg = {.msg_iov = &iov,
                       .msg_iovlen = 1,
                       .msg_control = control,
                       .msg_controllen = CMSG_SPACE(sizeof(int) * n)};
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int) * n);
  memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
  return sendmsg(sock, &msg, 0);
}
/* The directory the sockets go in (the run's own: a native run and a sandbox run differ). */
static const char* dir = "/tmp/net";
static const char* in_dir(const char* name) {
  static char paths[4][128];
  static int next;
  char* out = paths[next++ % 4];
  snprintf(out, 128, "%s/%s", dir, name);
  return out;
}
static int lowest_free_fd(void) {
  int fd = dup(0);
  close(fd);
  return fd;
}

/* A stream server on a path, a client child; abstract names; datagrams with addresses; fds passed
 * to another process that reads through them; MSG_CTRUNC; credentials. */
static int check_unix(void) {
  struct sockaddr_un a, got;
  socklen_t len;
  mkdir(dir, 0755);
  unlink(in_dir("s"));
  int server = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  CHECK(server >= 0);
  SHOW("bind path", bind(server, (struct sockaddr*)&a, path_address(&a, in_dir("s"))));
  SHOW("bind again",
       bind(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr*)&a, path_address(&a, in_dir("s"))));
  struct stat st;
  SHOW("the socket file exists", stat(in_dir("s"), &st) == 0 && S_ISSOCK(st.st_mode));
  SHOW("listen", listen(server, 8));
  len = sizeof got;
  SHOW("getsockname", getsockname(server, (struct sockaddr*)&got, &len));
  printf("name is the bound path: %d, len %d\n", strcmp(got.sun_path, in_dir("s")) == 0,
         len == offsetof(struct sockaddr_un, sun_path) + strlen(in_dir("s")) + 1);
  SHOW("accept nothing yet (non-blocking)",
       accept4(socket(AF_UNIX, SOCK_STREAM, 0), NULL, NULL, SOCK_NONBLOCK));
  int flags = fcntl(server, F_GETFL);
  fcntl(server, F_SETFL, flags | O_NONBLOCK);
  SHOW("accept on an empty non-blocking listener", accept(server, NULL, NULL));
  fcntl(server, F_SETFL, flags);
  pid_t child = fork();
  if (child == 0) {
    usleep(20000); /* the parent blocks in accept first */
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    chdir(dir);
    struct sockaddr_un rel;
    if (connect(c, (struct sockaddr*)&rel, path_address(&rel, "s")) != 0) _exit(2);
    socklen_t l = sizeof rel;
    getpeername(c, (struct sockaddr*)&rel, &l);
    if (strcmp(rel.sun_path, in_dir("s")) != 0) _exit(3);
    write(c, "hello from the child", 20);
    /* receive a pipe's read end and read through it */
    char byte;
    char control[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {&byte, 1};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
    if (recvmsg(c, &msg, 0) != 1) _exit(4);
    struct cmsghdr* cm = CMSG_FIRSTHDR(&msg);
    if (!cm || cm->cmsg_type != SCM_RIGHTS) _exit(5);
    int fd;
    memcpy(&fd, CMSG_DATA(cm), sizeof fd);
    char buf[64] = {0};
    int n = read(fd, buf, sizeof buf - 1);
    write(c, buf, n > 0 ? n : 0);
    _exit(0);
  }
  struct sockaddr_un peer;
  socklen_t peer_len = sizeof peer;
  int conn = accept(server, (struct sockaddr*)&peer, &peer_len);
  CHECK(conn >= 0);
  printf("accepted peer len %u family %d\n", peer_len, peer.sun_family);
  struct ucred cred;
  len = sizeof cred;
  SHOW("SO_PEERCRED", getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len));
  printf("peer is the child: %d, uid %d gid %d\n", cred.pid == child, cred.uid == getuid(),
         cred.gid == getgid());
  char buf[64] = {0};
  SHOW("read from the child", read(conn, buf, 20));
  printf("%s\n", buf);
  int p[2];
  CHECK(pipe(p) == 0);
  CHECK(write(p[1], "through a passed pipe", 21) == 21);
  SHOW("sendmsg SCM_RIGHTS", send_fds(conn, &p[0], 1));
  close(p[0]);
  close(p[1]);
  memset(buf, 0, sizeof buf);
  SHOW("the child read it", read(conn, buf, sizeof buf - 1));
  printf("%s\n", buf);
  int status;
  CHECK(waitpid(child, &status, 0) == child);
  printf("child exit %d\n", WEXITSTATUS(status));

  /* abstract names: bind, connect, names, a second bind of the name */
  int abs = socket(AF_UNIX, SOCK_SEQPACKET, 0);
  socklen_t alen = abstract_address(&a, "spectrum-net-test");
  SHOW("bind abstract", bind(abs, (struct sockaddr*)&a, alen));
  SHOW("bind abstract again", bind(socket(AF_UNIX, SOCK_SEQPACKET, 0), (struct sockaddr*)&a, alen));
  SHOW("listen abstract", listen(abs, 1));
  int ac = socket(AF_UNIX, SOCK_SEQPACKET, 0);
  SHOW("connect abstract", connect(ac, (struct sockaddr*)&a, alen));
  len = sizeof got;
  memset(&got, 0, sizeof got);
  SHOW("getpeername abstract", getpeername(ac, (struct sockaddr*)&got, &len));
  printf("abstract peer len %u name %s\n", len, got.sun_path + 1);
  int as = accept(abs, NULL, NULL);
  SHOW("seqpacket send", send(ac, "one", 3, 0));
  SHOW("seqpacket send", send(ac, "three", 5, 0));
  SHOW("seqpacket recv keeps boundaries", recv(as, buf, sizeof buf, 0));
  SHOW("seqpacket recv keeps boundaries", recv(as, buf, sizeof buf, 0));
  SHOW("connect to an unbound abstract name",
       connect(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr*)&a, abstract_address(&a, "nobody-here")));

  /* datagrams with addresses */
  int d1 = socket(AF_UNIX, SOCK_DGRAM, 0), d2 = socket(AF_UNIX, SOCK_DGRAM, 0);
  struct sockaddr_un a1, a2;
  unlink(in_dir("d1"));
  unlink(in_dir("d2"));
  socklen_t l1 = path_address(&a1, in_dir("d1")), l2 = path_address(&a2, in_dir("d2"));
  CHECK(bind(d1, (struct sockaddr*)&a1, l1) == 0 && bind(d2, (struct sockaddr*)&a2, l2) == 0);
  SHOW("sendto a path", sendto(d1, "datagram", 8, 0, (struct sockaddr*)&a2, l2));
  memset(&got, 0, sizeof got);
  len = sizeof got;
  SHOW("recvfrom", recvfrom(d2, buf, sizeof buf, 0, (struct sockaddr*)&got, &len));
  printf("from the sender's path: %d, len %d\n", strcmp(got.sun_path, in_dir("d1")) == 0,
         len == offsetof(struct sockaddr_un, sun_path) + strlen(in_dir("d1")) + 1);
  SHOW("recv on empty, MSG_DONTWAIT", recv(d2, buf, sizeof buf, MSG_DONTWAIT));
  SHOW("sendto a missing path",
       sendto(d1, "x", 1, 0, (struct sockaddr*)&a, path_address(&a, in_dir("none"))));

  /* MSG_CTRUNC: three fds, room for two; no fd leaked */
  int sp[2];
  CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sp) == 0);
  int before = lowest_free_fd();
  int three[3] = {dup(0), dup(0), dup(0)};
  SHOW("send three fds", send_fds(sp[0], three, 3));
  for (int i = 0; i < 3; ++i) close(three[i]);
  char byte;
  char small[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {&byte, 1};
  struct msghdr msg = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = small, .msg_controllen = sizeof small};
  SHOW("recvmsg with room for one", recvmsg(sp[1], &msg, 0));
  printf("MSG_CTRUNC %d controllen %zu\n", !!(msg.msg_flags & MSG_CTRUNC), (size_t)msg.msg_controllen);
  struct cmsghdr* got_fds = CMSG_FIRSTHDR(&msg);
  int received = got_fds ? (int)((got_fds->cmsg_len - CMSG_LEN(0)) / sizeof(int)) : 0;
  printf("fds received %d\n", received);
  for (int i = 0; i < received; ++i) {
    int one;
    memcpy(&one, CMSG_DATA(got_fds) + i * sizeof(int), sizeof one);
    close(one);
  }
  printf("no fd leaked: %d\n", lowest_free_fd() == before);

  /* SCM_CREDENTIALS with one's own ids, and with another pid */
  int on = 1;
  setsockopt(sp[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
  struct ucred mine = {getpid(), getuid(), getgid()};
  char ccontrol[CMSG_SPACE(sizeof mine)];
  msg = (struct msghdr){
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ccontrol, .msg_controllen = sizeof ccontrol};
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_CREDENTIALS;
  c->cmsg_len = CMSG_LEN(sizeof mine);
  memcpy(CMSG_DATA(c), &mine, sizeof mine);
  SHOW("send own credentials", sendmsg(sp[0], &msg, 0));
  memset(ccontrol, 0, sizeof ccontrol);
  msg.msg_controllen = sizeof ccontrol;
  SHOW("receive credentials", recvmsg(sp[1], &msg, 0));
  c = CMSG_FIRSTHDR(&msg);
  struct ucred theirs = {0};
  if (c && c->cmsg_type == SCM_CREDENTIALS) memcpy(&theirs, CMSG_DATA(c), sizeof theirs);
  printf("credentials are the sender's: %d uid %d\n", theirs.pid == getpid(), theirs.uid == getuid());
  int rcv;
  len = sizeof rcv;
  SHOW("SO_RCVBUF", getsockopt(sp[0], SOL_SOCKET, SO_RCVBUF, &rcv, &len));
  on = 1;
  SHOW("SO_REUSEADDR", setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on));
  SHOW("shutdown", shutdown(ac, SHUT_WR));
  SHOW("recv after the peer's shutdown", recv(as, buf, sizeof buf, 0));
  unlink(in_dir("s"));
  unlink(in_dir("d1"));
  unlink(in_dir("d2"));
  return 0;
}

/* Edge-triggered and one-shot interest on a socket. */
static int check_epoll(void) {
  int s[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, s) == 0);
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u64 = 7}, out[4];
  SHOW("add edge-triggered", epoll_ctl(ep, EPOLL_CTL_ADD, s[1], &ev));
  write(s[0], "a", 1);
  SHOW("edge", epoll_wait(ep, out, 4, 1000));
  SHOW("no new edge", epoll_wait(ep, out, 4, 0));
  write(s[0], "b", 1);
  SHOW("new data, new edge", epoll_wait(ep, out, 4, 1000));
  ev.events = EPOLLIN | EPOLLONESHOT;
  SHOW("mod one-shot", epoll_ctl(ep, EPOLL_CTL_MOD, s[1], &ev));
  SHOW("one shot", epoll_wait(ep, out, 4, 0));
  SHOW("disarmed", epoll_wait(ep, out, 4, 0));
  SHOW("re-armed", epoll_ctl(ep, EPOLL_CTL_MOD, s[1], &ev));
  SHOW("one shot again", epoll_wait(ep, out, 4, 0));
  ev.events = EPOLLIN | EPOLLEXCLUSIVE;
  SHOW("exclusive with MOD", epoll_ctl(ep, EPOLL_CTL_MOD, s[1], &ev));
  SHOW("exclusive with ADD", epoll_ctl(ep, EPOLL_CTL_ADD, s[0], &ev));
  struct timespec t = {0, 1000000};
  SHOW("epoll_pwait2 ready", epoll_pwait2(ep, out, 4, &t, NULL));
  SHOW("epoll_pwait with a mask", epoll_pwait(ep, out, 4, 0, NULL));
  return 0;
}

/* --net host: a TCP echo server on 127.0.0.1 and a client in a child; UDP both ways; readiness. */
static int check_inet(void) {
  int server = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  CHECK(server >= 0);
  int on = 1;
  SHOW("SO_REUSEADDR", setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on));
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  SHOW("bind 127.0.0.1:0", bind(server, (struct sockaddr*)&a, sizeof a));
  SHOW("listen", listen(server, 4));
  socklen_t len = sizeof a;
  SHOW("getsockname", getsockname(server, (struct sockaddr*)&a, &len));
  printf("a port was given: %d\n", ntohs(a.sin_port) != 0);
  pid_t child = fork();
  if (child == 0) {
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(c, (struct sockaddr*)&a, sizeof a) != 0) _exit(2);
    int nodelay = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &nodelay, sizeof nodelay);
    if (write(c, "echo me", 7) != 7) _exit(3);
    char buf[16] = {0};
    size_t got = 0;
    ssize_t n;
    while (got < 7 && (n = read(c, buf + got, 7 - got)) > 0) got += n;
    _exit(got == 7 && memcmp(buf, "echo me", 7) == 0 ? 0 : 4);
  }
  struct pollfd pfd = {server, POLLIN, 0};
  SHOW("poll the listener", poll(&pfd, 1, 10000));
  struct sockaddr_in peer;
  len = sizeof peer;
  int conn = accept4(server, (struct sockaddr*)&peer, &len, SOCK_CLOEXEC);
  CHECK(conn >= 0);
  printf("peer is 127.0.0.1: %d\n", peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 1}, out;
  SHOW("epoll_ctl", epoll_ctl(ep, EPOLL_CTL_ADD, conn, &ev));
  SHOW("epoll_wait", epoll_wait(ep, &out, 1, 10000));
  char buf[16] = {0};
  size_t got = 0;
  ssize_t n;
  while (got < 7 && (n = recv(conn, buf + got, 7 - got, 0)) > 0) got += n;
  printf("server got %zu: %s\n", got, buf);
  SHOW("echo back", send(conn, buf, got, 0));
  int status;
  CHECK(waitpid(child, &status, 0) == child);
  printf("client exit %d\n", WEXITSTATUS(status));
  int u1 = socket(AF_INET, SOCK_DGRAM, 0), u2 = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in b = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  CHECK(bind(u2, (struct sockaddr*)&b, sizeof b) == 0);
  len = sizeof b;
  CHECK(getsockname(u2, (struct sockaddr*)&b, &len) == 0);
  SHOW("udp sendto", sendto(u1, "datagram", 8, 0, (struct sockaddr*)&b, sizeof b));
  struct sockaddr_in from;
  len = sizeof from;
  SHOW("udp recvfrom", recvfrom(u2, buf, sizeof buf, 0, (struct sockaddr*)&from, &len));
  printf("from 127.0.0.1: %d\n", from.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
  SHOW("socket AF_INET raw", socket(AF_INET, SOCK_RAW, IPPROTO_ICMP) >= 0 ? 0 : -1);
  return 0;
}

/* N one-byte round trips over an AF_UNIX stream socket pair between two processes (a measurement). */
static int pingpong(long rounds) {
  int s[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, s) == 0);
  char byte = 'p';
  if (fork() == 0) {
    for (long i = 0; i < rounds; ++i)
      if (read(s[1], &byte, 1) != 1 || write(s[1], &byte, 1) != 1) _exit(1);
    _exit(0);
  }
  for (long i = 0; i < rounds; ++i) CHECK(write(s[0], &byte, 1) == 1 && read(s[0], &byte, 1) == 1);
  int status;
  wait(&status);
  return WEXITSTATUS(status);
}

/* Malformed message headers and control data: what Linux answers, and no fd left behind. */
static int check_malformed(void) {
  int sp[2];
  CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sp) == 0);
  int before = lowest_free_fd();
  char byte = 'x';
  struct iovec iov = {&byte, 1};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
  msg.msg_iovlen = 1025;
  SHOW("sendmsg with 1025 iovecs", sendmsg(sp[0], &msg, 0));
  msg.msg_iovlen = 1;
  SHOW("sendmsg with the msghdr in the kernel area", sendmsg(sp[0], (struct msghdr*)0x1000, 0));
  char* page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  munmap(page + 4096, 4096);
  struct iovec* edge = (struct iovec*)(page + 4096 - sizeof(struct iovec));
  *edge = iov;
  msg.msg_iov = edge;
  msg.msg_iovlen = 2;
  SHOW("sendmsg with iovecs across the edge", sendmsg(sp[0], &msg, 0));
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  iov.iov_base = (void*)0x1000;
  SHOW("sendmsg from the kernel area", sendmsg(sp[0], &msg, 0));
  iov.iov_base = &byte;
  char control[CMSG_SPACE(sizeof(int) * 300)] = {0};
  msg.msg_control = control;
  struct cmsghdr* c = (struct cmsghdr*)control;
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int)) + 64;
  msg.msg_controllen = CMSG_SPACE(sizeof(int));
  SHOW("cmsg_len past controllen", sendmsg(sp[0], &msg, 0));
  c->cmsg_len = 4;
  SHOW("cmsg_len below a header", sendmsg(sp[0], &msg, 0));
  c->cmsg_len = CMSG_LEN(sizeof(int));
  int bad = 999;
  memcpy(CMSG_DATA(c), &bad, sizeof bad);
  SHOW("SCM_RIGHTS of a closed fd", sendmsg(sp[0], &msg, 0));
  int* fds = (int*)CMSG_DATA(c);
  for (int i = 0; i < 254; ++i) fds[i] = 0;
  c->cmsg_len = CMSG_LEN(sizeof(int) * 254);
  msg.msg_controllen = CMSG_SPACE(sizeof(int) * 254);
  SHOW("SCM_RIGHTS of 254 fds", sendmsg(sp[0], &msg, 0));
  c->cmsg_type = 77;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  msg.msg_controllen = CMSG_SPACE(sizeof(int));
  SHOW("an unknown control message", sendmsg(sp[0], &msg, 0));
  msg.msg_controllen = 1 << 30;
  SHOW("a 1 GiB control length", sendmsg(sp[0], &msg, 0));
  msg.msg_control = (void*)0x1000;
  msg.msg_controllen = CMSG_SPACE(sizeof(int));
  SHOW("control data in the kernel area", sendmsg(sp[0], &msg, 0));
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  SHOW("bind with a negative length", bind(sp[0], (struct sockaddr*)&a, (socklen_t)-1));
  int spare = socket(AF_UNIX, SOCK_DGRAM, 0);
  SHOW("bind with an address in the kernel area", bind(spare, (struct sockaddr*)0x1000, 20));
  close(spare);
  socklen_t len = 4;
  SHOW("getsockname into the kernel area", getsockname(sp[0], (struct sockaddr*)0x1000, &len));
  SHOW("getsockopt length in the kernel area",
       getsockopt(sp[0], SOL_SOCKET, SO_TYPE, &len, (socklen_t*)0x1000));
  printf("nothing in flight: %zd\n", recv(sp[1], &byte, 1, MSG_DONTWAIT));
  printf("no fd leaked: %d\n", lowest_free_fd() == before);
  return 0;
}

/* Ways out: a host abstract socket, a host path socket through symlinks and `..`, other families. */
static int check_escape(const char* host_abstract, const char* host_path) {
  struct sockaddr_un a;
  SHOW("connect to the host's abstract socket",
       connect(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr*)&a, abstract_address(&a, host_abstract)));
  SHOW("sendto the host's abstract socket",
       sendto(socket(AF_UNIX, SOCK_DGRAM, 0), "x", 1, 0, (struct sockaddr*)&a,
              abstract_address(&a, host_abstract)));
  SHOW("connect to the host path",
       connect(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr*)&a, path_address(&a, host_path)));
  SHOW("connect through an absolute symlink",
       connect(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr*)&a, path_address(&a, "/escape-abs")));
  SHOW("connect through a climbing symlink",
       connect(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr*)&a, path_address(&a, "/escape-rel")));
  char climb[108];
  snprintf(climb, sizeof climb, "../../../../../../../..%s", host_path);
  SHOW("connect through ..",
       connect(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr*)&a, path_address(&a, climb)));
  SHOW("bind through a symlinked directory",
       bind(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr*)&a, path_address(&a, "/escape-dir/planted")));
  SHOW("bind through ..",
       bind(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr*)&a, path_address(&a, "/../../planted")));
  SHOW("socket AF_NETLINK", socket(AF_NETLINK, SOCK_RAW, 0));
  SHOW("socket AF_PACKET", socket(AF_PACKET, SOCK_RAW, 0));
  SHOW("socket AF_INET raw", socket(AF_INET, SOCK_RAW, 1));
  SHOW("socket AF_INET stream", socket(AF_INET, SOCK_STREAM, 0));
  SHOW("socket AF_INET6 datagram", socket(AF_INET6, SOCK_DGRAM, 0));
  SHOW("socketpair AF_INET", socketpair(AF_INET, SOCK_STREAM, 0, (int[2]){0, 0}));
  return 0;
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc >= 3) dir = argv[2];
  if (argc >= 2 && strcmp(argv[1], "unix") == 0) return check_unix();
  if (argc >= 2 && strcmp(argv[1], "epoll") == 0) return check_epoll();
  if (argc >= 2 && strcmp(argv[1], "inet") == 0) return check_inet();
  if (argc >= 3 && strcmp(argv[1], "pingpong") == 0) return pingpong(atol(argv[2]));
  if (argc >= 2 && strcmp(argv[1], "malformed") == 0) return check_malformed();
  if (argc >= 4 && strcmp(argv[1], "escape") == 0) return check_escape(argv[2], argv[3]);
  fprintf(stderr, "usage: net unix|epoll|malformed|escape NAME PATH\n");
  return 2;
}
