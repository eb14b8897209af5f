/* Cost of reading the time: N clock_gettime(CLOCK_MONOTONIC) calls through libc (the vDSO where
 * the auxiliary vector names one) and, for comparison, N/1000 through the raw syscall instruction.
 * First it spins for 20 ms: the sandbox kernel's vDSO clock is calibrated over the first 10 ms of a
 * run, and calls before that are system calls. Also counts readings that went backward, mixing
 * both kinds. Usage: clock_cost [N] */
#include <stdio.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long long ns_of(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }
static long long libc_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return ns_of(t);
}
static long long syscall_now(void) {
  struct timespec t;
  syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &t);
  return ns_of(t);
}

int main(int argc, char** argv) {
  long n = argc > 1 ? atol(argv[1]) : 1000000;
  for (long long start = libc_now(); libc_now() - start < 20000000;) {
  }
  long long backward = 0, last = 0;
  long long a = libc_now();
  for (long i = 0; i < n; ++i) {
    long long t = libc_now();
    backward += t < last;
    last = t;
  }
  long long b = libc_now();
  long m = n / 1000 > 0 ? n / 1000 : 1;
  for (long i = 0; i < m; ++i) {
    long long t = syscall_now();
    backward += t < last;
    last = t;
    t = libc_now();
    backward += t < last;
    last = t;
  }
  long long c = libc_now();
  printf("%.1f ns per clock_gettime, vDSO %s; with a raw syscall each: %.1f ns per pair; %lld backward\n",
         (double)(b - a) / n, getauxval(AT_SYSINFO_EHDR) ? "yes" : "no", (double)(c - b) / m, backward);
  return backward != 0;
}
