/* The scheduler, vfork and clone3 under attack: what a hostile or careless guest does with them.
 * One line per check, no ids printed, so a run can be compared with a native one.
 * Usage: sched spin-thread | spin-pipe | stray-signal | spin-forever | spinners | vfork-share |
 *        vfork-return | vfork-spin | vfork-chain | same-addresses | table-churn */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

/* Thread A spins on a flag thread B sets, never blocking, with a floating point value live in a
 * register while B computes with its own. */
static atomic_int flag;
static void* set_flag(void* arg) {
  (void)arg;
  volatile double sum = 0;
  for (int i = 1; i <= 3000000; i++) sum += 1.0 / i;
  atomic_store(&flag, 1);
  return NULL;
}
static int spin_thread(void) {
  pthread_t t;
  if (pthread_create(&t, NULL, set_flag, NULL) != 0) return 1;
  double mine = 0;
  long spins = 0;
  while (!atomic_load(&flag)) {
    mine += 0.5;
    spins++;
  }
  pthread_join(t, NULL);
  printf("the spinning thread saw the flag\n");
  printf("its own sum intact: %d\n", mine == 0.5 * (double)spins);
  return 0;
}

/* Two processes that each poll a non-blocking pipe in a loop: a ping and a pong. */
static void spin_read(int fd, char* c) {
  while (read(fd, c, 1) != 1) {
  }
}
static int spin_pipe(void) {
  int ping[2], pong[2];
  if (pipe2(ping, O_NONBLOCK) != 0 || pipe2(pong, O_NONBLOCK) != 0) return 1;
  char c = 'a';
  pid_t pid = fork();
  if (pid == 0) {
    spin_read(ping[0], &c);
    c++;
    write(pong[1], &c, 1);
    _exit(0);
  }
  write(ping[1], &c, 1);
  spin_read(pong[0], &c);
  int status;
  waitpid(pid, &status, 0);
  printf("pong %c, child code %d\n", c, WEXITSTATUS(status));
  return 0;
}

/* vfork shares memory until the child execs or exits; posix_spawn learns an exec failure through
 * that memory. */
static int vfork_share(void) {
  volatile int seen = 0;
  pid_t pid = vfork();
  if (pid == 0) {
    seen = 1;
    _exit(4);
  }
  int status;
  waitpid(pid, &status, 0);
  printf("parent saw the child's write: %d, child code %d\n", seen, WEXITSTATUS(status));
  char* missing[] = {"/no/such/program", NULL};
  int err = posix_spawn(&pid, missing[0], NULL, NULL, missing, environ);
  printf("posix_spawn of a missing program: %s\n", err == ENOENT ? "ENOENT" : err ? "other" : "0");
  return 0;
}

static volatile sig_atomic_t stray;
static void on_signal(int sig) { stray = sig; }

/* The time slice's host signal must never become the guest's: a guest that handles SIGVTALRM and
 * SIGPROF and spins through many slices gets neither, and has nothing pending. */
static int stray_signal(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGVTALRM, &sa, NULL);
  sigaction(SIGPROF, &sa, NULL);
  sigaction(SIGALRM, &sa, NULL);
  volatile unsigned long work = 0;
  for (unsigned long i = 0; i < 400000000ul; i++) work += i;
  sigset_t pending;
  sigpending(&pending);
  printf("signal handled while spinning: %d\n", (int)stray);
  printf("SIGVTALRM pending: %d\n", sigismember(&pending, SIGVTALRM));
  return 0;
}

static int spin_forever(void) {
  for (volatile unsigned long i = 0;; i++) {
  }
  return 0;
}

/* Three children that never block and a parent that waits for each: all of them finish. */
static int spinners(void) {
  int fds[2];
  if (pipe(fds) != 0) return 1;
  for (int i = 0; i < 3; i++) {
    if (fork() == 0) {
      volatile unsigned long work = 0;
      for (unsigned long k = 0; k < 30000000ul; k++) work += k;
      char c = 'x';
      write(fds[1], &c, 1);
      for (;;) { /* spins until killed */
      }
    }
  }
  char c;
  int got = 0;
  while (got < 3 && read(fds[0], &c, 1) == 1) got++;
  printf("spinning children that reported: %d\n", got);
  kill(0, SIGKILL); /* the whole group, this process included: the run ends with SIGKILL */
  return 0;
}

/* vfork misuse: the child returns from the function that called vfork, and goes on in main on
 * the parent's stack, which it shares. Undefined natively; here the monitor must come through
 * whatever the child does to that stack, and the run must end with the guest's own outcome. */
static pid_t __attribute__((noinline)) vfork_here(void) { return vfork(); }
static int vfork_return(void) {
  pid_t pid = vfork_here();
  if (pid == 0) {
    volatile char scribble[512];
    memset((char*)scribble, 0x41, sizeof scribble); /* over the parent's frames */
    _exit(5);
  }
  int status = 0;
  if (pid > 0) waitpid(pid, &status, 0);
  printf("parent back, child code %d\n", WEXITSTATUS(status));
  return 0;
}

/* A vfork child that never execs nor exits: its parent stays suspended (the --timeout ends it). */
static int vfork_spin(void) {
  pid_t pid = vfork();
  if (pid == 0)
    for (;;) {
    }
  printf("parent resumed\n");
  return 0;
}

/* A chain of vfork + exec, each level waiting for the next: --pids ends it, each level passes
 * the end up. Usage: sched vfork-chain DEPTH */
static int vfork_chain(int depth) {
  char next[16];
  snprintf(next, sizeof next, "%d", depth + 1);
  pid_t pid = vfork();
  if (pid < 0) {
    printf("vfork at depth %d: %s\n", depth, errno == EAGAIN ? "EAGAIN" : "other");
    return 3;
  }
  if (pid == 0) {
    execl("/bin/sched", "sched", "vfork-chain", next, (char*)NULL);
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (depth == 0) printf("the chain ended with code %d\n", WEXITSTATUS(status));
  return WEXITSTATUS(status);
}

/* Attack on the address spaces: processes that come and go map fresh memory at the same
 * addresses, concurrently, and each must read zeros there and then only its own bytes. On
 * kvm_pvm a page-table frame used again for another table once brought the old table's
 * translations along: one process read another's memory. `waves` rounds of `width` children,
 * each mapping `pages` pages `stride` bytes apart. */
static int same_addresses(int waves, int width, int pages, long stride) {
  char* const base = (char*)0x20000000;
  int bad = 0;
  for (int wave = 0; wave < waves; wave++) {
    pid_t pids[8];
    for (int k = 0; k < width; k++) {
      const char id = (char)(1 + (wave * width + k) % 120);
      pids[k] = fork();
      if (pids[k] != 0) continue;
      for (int i = 0; i < pages; i++) {
        char* p = mmap(base + i * stride, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        if (p == MAP_FAILED) _exit(3);
        if (*p != 0) _exit(1);
        *p = id;
      }
      for (int round = 0; round < 5; round++) {
        for (int i = 0; i < pages; i++)
          if (base[i * stride] != id) _exit(1);
        sched_yield();
      }
      _exit(0);
    }
    for (int k = 0; k < width; k++) {
      int status = 0;
      waitpid(pids[k], &status, 0);
      bad += status != 0;
    }
  }
  printf("processes that saw memory not their own: %d\n", bad);
  return 0;
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  const char* mode = argc > 1 ? argv[1] : "";
  if (!strcmp(mode, "spin-thread")) return spin_thread();
  if (!strcmp(mode, "spin-pipe")) return spin_pipe();
  if (!strcmp(mode, "vfork-share")) return vfork_share();
  if (!strcmp(mode, "stray-signal")) return stray_signal();
  if (!strcmp(mode, "spin-forever")) return spin_forever();
  if (!strcmp(mode, "spinners")) return spinners();
  if (!strcmp(mode, "vfork-return")) return vfork_return();
  if (!strcmp(mode, "vfork-spin")) return vfork_spin();
  if (!strcmp(mode, "vfork-chain")) return vfork_chain(argc > 2 ? atoi(argv[2]) : 0);
  if (!strcmp(mode, "same-addresses")) return same_addresses(30, 4, 16, 4096);
  if (!strcmp(mode, "table-churn")) return same_addresses(16, 2, 64, 2l << 20);  // a table a page
  fprintf(stderr, "usage: sched MODE\n");
  return 2;
}
