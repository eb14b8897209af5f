/* The isolation probe: run in a tier by `spectrum bench`, it reports what it can reach from inside.
   Built static for native, container and vm, and to wasm32-wasi for wasm (examples/probe/build).
   It only tries and reports; the verdicts (shares the host's kernel, sees host processes, ...) are
   drawn by the bench, which compares the report with what it knows of the host and checks on the
   host whether the probe's write landed. Usage:
     probe MARKER_FILE WRITE_DIR TOKEN PORT
   MARKER_FILE: a host file holding TOKEN (outside any root the tier gives);
   WRITE_DIR:   a host directory the probe tries to create a file in;
   TOKEN:       appears in the command line of the spectrum that started us (host process check);
   PORT:        a TCP port the bench listens on at the host's 127.0.0.1 (host network check).
   Output: one "key value" line per fact, nothing else. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef __wasi__
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#endif

static int read_file(const char* path, char* out, size_t size) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -1;
  ssize_t n = read(fd, out, size - 1);
  close(fd);
  if (n < 0) return -1;
  out[n] = 0;
  while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == 0)) out[--n] = 0;
  return 0;
}

/* Host processes: any process but us whose command line carries TOKEN (the spectrum runtime that
   started us does), and how many processes /proc lists at all. */
static void processes(const char* token) {
  int visible = 0, host = 0;
  DIR* dir = opendir("/proc");
  if (dir) {
    char self[32] = "self";
#ifndef __wasi__
    snprintf(self, sizeof self, "%d", (int)getpid());
#endif
    struct dirent* entry;
    while ((entry = readdir(dir))) {
      if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
      ++visible;
      if (strcmp(entry->d_name, self) == 0) continue;
      char path[300], cmdline[4096];
      snprintf(path, sizeof path, "/proc/%s/cmdline", entry->d_name);
      int fd = open(path, O_RDONLY);
      if (fd < 0) continue;
      ssize_t n = read(fd, cmdline, sizeof cmdline - 1);
      close(fd);
      if (n <= 0) continue;
      for (ssize_t i = 0; i < n; ++i)
        if (cmdline[i] == 0) cmdline[i] = ' ';
      cmdline[n] = 0;
      if (strstr(cmdline, token)) ++host;
    }
    closedir(dir);
  }
  printf("processes_visible %d\n", visible);
  printf("host_processes %d\n", host);
}

static void host_file(const char* marker, const char* token) {
  char content[256];
  int ok = read_file(marker, content, sizeof content) == 0 && strcmp(content, token) == 0;
  printf("host_file %s\n", ok ? "read" : "no");
}

static void write_outside(const char* dir) {
  char path[4096];
  snprintf(path, sizeof path, "%s/written-by-probe", dir);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) {
    (void)!write(fd, "probe\n", 6);
    close(fd);
  }
  printf("write_attempt %s\n", fd >= 0 ? "ok" : strerror(errno));
}

#ifdef __wasi__
/* WebAssembly has no system call instruction and WASI no uname, hostname or sockets: the same
   questions get the only answers the module can obtain. */
static void kernel(void) { printf("kernel -\nboot_id -\n"); }
static void hostname(void) { printf("hostname -\n"); }
static void network(int port) {
  (void)port;
  printf("host_network no\n");
}
static void syscalls(void) { printf("syscalls 0 17\n"); }
#else
static void kernel(void) {
  struct utsname u;
  if (uname(&u) == 0)
    printf("kernel %s %s %s\n", u.sysname, u.release, u.version);
  else
    printf("kernel -\n");
  char boot_id[128];
  printf("boot_id %s\n", read_file("/proc/sys/kernel/random/boot_id", boot_id, sizeof boot_id) == 0 ? boot_id : "-");
}

static void hostname(void) {
  char name[256];
  printf("hostname %s\n", gethostname(name, sizeof name) == 0 ? name : "-");
}

static void network(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int ok = 0;
  if (fd >= 0) {
    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_port = htons((unsigned short)port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = connect(fd, (struct sockaddr*)&address, sizeof address) == 0;
    close(fd);
  }
  printf("host_network %s\n", ok ? "yes" : "no");
}

/* A fixed list of system calls a hostile workload reaches for, each made with harmless arguments.
   One counts as made when the kernel neither lacks it (ENOSYS) nor refuses it (EPERM, EACCES):
   an EFAULT or EINVAL means the call got past every check a sandbox would apply. */
static long made(long result) {
  if (result >= 0) return 1;
  return errno != ENOSYS && errno != EPERM && errno != EACCES;
}
static long closing(long fd) {
  if (fd >= 0) close((int)fd);
  return fd;
}

static void syscalls(void) {
  char buffer[512]; /* holds a struct utsname */
  struct {
    const char* name;
    long ok;
  } calls[17];
  int n = 0;
#define CALL(label, expr)          \
  do {                             \
    errno = 0;                     \
    calls[n].name = label;         \
    calls[n].ok = made(expr);      \
    ++n;                           \
  } while (0)
  CALL("getpid", syscall(SYS_getpid));
  CALL("uname", syscall(SYS_uname, buffer));
  CALL("sysinfo", syscall(SYS_sysinfo, NULL));
  CALL("getrandom", syscall(SYS_getrandom, buffer, 8, 0));
  CALL("memfd_create", closing(syscall(SYS_memfd_create, "probe", 0)));
  CALL("socket_inet", closing(syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0)));
  CALL("socket_netlink", closing(syscall(SYS_socket, AF_NETLINK, SOCK_RAW, 0)));
  CALL("socket_packet", closing(syscall(SYS_socket, 17 /* AF_PACKET */, SOCK_RAW, 0)));
  CALL("userfaultfd", closing(syscall(SYS_userfaultfd, 0)));
  CALL("io_uring_setup", syscall(SYS_io_uring_setup, 1, NULL));
  CALL("perf_event_open", syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
  CALL("keyctl", syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */, -3 /* session */, 0));
  CALL("syslog", syscall(SYS_syslog, 10 /* SIZE_BUFFER */, NULL, 0));
  CALL("open_by_handle_at", syscall(SYS_open_by_handle_at, AT_FDCWD, NULL, O_RDONLY));
  CALL("init_module", syscall(SYS_init_module, NULL, 0, ""));
  CALL("iopl", syscall(SYS_iopl, 0));
  CALL("unshare_user", syscall(SYS_unshare, 0x10000000 /* CLONE_NEWUSER */));
#undef CALL
  int count = 0;
  for (int i = 0; i < n; ++i) count += calls[i].ok != 0;
  printf("syscalls %d %d\n", count, n);
  for (int i = 0; i < n; ++i) printf("syscall_%s %s\n", calls[i].name, calls[i].ok ? "yes" : "no");
}
#endif

int main(int argc, char** argv) {
  if (argc != 5) {
    fputs("usage: probe MARKER_FILE WRITE_DIR TOKEN PORT\n", stderr);
    return 2;
  }
  kernel();
  hostname();
  processes(argv[3]);
  host_file(argv[1], argv[3]);
  network(atoi(argv[4]));
  write_outside(argv[2]);
  /* Last: unsharing a user namespace changes what the process is. */
  syscalls();
  return 0;
}
