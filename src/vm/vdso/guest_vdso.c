/* The guest's vDSO: clock_gettime, gettimeofday, time and getcpu without a system call, which on
 * the vm tier is a trip out of the VM to the monitor (tens of microseconds) and on the sandbox tier
 * a ptrace stop. glibc, musl and Go find these symbols through the auxiliary vector's
 * AT_SYSINFO_EHDR, as on Linux. Freestanding: no libc, no writable data, no relocations; the data
 * page sits one page below the image (vdso_data.h). Anything it cannot answer is the system call. */
#include <stddef.h>
#include <stdint.h>

#include "vdso_data.h"

struct vdso_timespec {
  int64_t tv_sec;
  long tv_nsec;
};
struct vdso_timeval {
  int64_t tv_sec;
  long tv_usec;
};
struct vdso_timezone {
  int tz_minuteswest, tz_dsttime;
};

enum { kRealtime = 0, kMonotonic = 1, kMonotonicRaw = 4, kRealtimeCoarse = 5, kMonotonicCoarse = 6 };
enum { kSysGettimeofday = 96, kSysTime = 201, kSysClockGettime = 228, kSysClockGetres = 229, kSysGetcpu = 309 };

/* The linker's symbol for the image's first byte (its ELF header): the data page is the page before. */
extern const char __ehdr_start[] __attribute__((visibility("hidden")));

static inline const volatile struct spectrum_vdso_data* data_page(void) {
  uintptr_t image = (uintptr_t)__ehdr_start;
  __asm__("" : "+r"(image)); /* an address, not an index into __ehdr_start (no -Warray-bounds) */
  return (const volatile struct spectrum_vdso_data*)(image - 4096);
}

static inline long raw_syscall(long number, long a, long b, long c) {
  long ret;
  __asm__ volatile("syscall" : "=a"(ret) : "a"(number), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
  return ret;
}

static inline uint64_t read_tsc(void) {
  uint32_t lo, hi;
  /* lfence: the TSC is read after the loads before it, as Linux's rdtsc_ordered. */
  __asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
  return (uint64_t)hi << 32 | lo;
}

/* The time of `clock` in nanoseconds into *ns; 0 when the kernel must answer instead. */
static int now_ns(unsigned clock, int64_t* ns) {
  const volatile struct spectrum_vdso_data* d = data_page();
  if (clock >= SPECTRUM_VDSO_CLOCKS) return 0;
  const int coarse = clock == kRealtimeCoarse || clock == kMonotonicCoarse;
  for (;;) {
    const uint32_t seq = d->seq;
    __asm__ volatile("" ::: "memory");
    if (seq & 1) continue;
    if (!d->valid) return 0;
    const int64_t base = d->base_ns[clock];
    if (base == 0) return 0;
    int64_t value = base;
    if (!coarse) {
      const uint64_t tsc = read_tsc(), from = d->tsc_base;
      const uint64_t ticks = tsc > from ? tsc - from : 0; /* a TSC a little behind reads as no time */
      value += (int64_t)(((unsigned __int128)ticks * d->mult) >> 32);
    }
    __asm__ volatile("" ::: "memory");
    if (d->seq != seq) continue;
    *ns = value;
    return 1;
  }
}

int __vdso_clock_gettime(int clock, struct vdso_timespec* ts) {
  int64_t ns;
  if (clock < 0 || !now_ns((unsigned)clock, &ns))
    return (int)raw_syscall(kSysClockGettime, clock, (long)ts, 0);
  ts->tv_sec = ns / 1000000000;
  ts->tv_nsec = ns % 1000000000;
  return 0;
}

int __vdso_gettimeofday(struct vdso_timeval* tv, struct vdso_timezone* tz) {
  int64_t ns;
  if (!now_ns(kRealtime, &ns)) return (int)raw_syscall(kSysGettimeofday, (long)tv, (long)tz, 0);
  if (tv) {
    tv->tv_sec = ns / 1000000000;
    tv->tv_usec = ns % 1000000000 / 1000;
  }
  if (tz) tz->tz_minuteswest = tz->tz_dsttime = 0;
  return 0;
}

int64_t __vdso_time(int64_t* t) {
  int64_t ns;
  if (!now_ns(kRealtime, &ns)) return raw_syscall(kSysTime, (long)t, 0, 0);
  if (t) *t = ns / 1000000000;
  return ns / 1000000000;
}

/* One vCPU: every task runs on CPU 0 of node 0 (sched_getcpu, as the kernel's getcpu says). */
int __vdso_getcpu(unsigned* cpu, unsigned* node, void* unused) {
  (void)unused;
  if (cpu) *cpu = 0;
  if (node) *node = 0;
  return 0;
}

int __vdso_clock_getres(int clock, struct vdso_timespec* res) {
  return (int)raw_syscall(kSysClockGetres, clock, (long)res, 0);
}

/* The names without the prefix, as Linux's vDSO also exports them. */
int clock_gettime(int, struct vdso_timespec*) __attribute__((weak, alias("__vdso_clock_gettime")));
int gettimeofday(struct vdso_timeval*, struct vdso_timezone*) __attribute__((weak, alias("__vdso_gettimeofday")));
int64_t time(int64_t*) __attribute__((weak, alias("__vdso_time")));
int getcpu(unsigned*, unsigned*, void*) __attribute__((weak, alias("__vdso_getcpu")));
int clock_getres(int, struct vdso_timespec*) __attribute__((weak, alias("__vdso_clock_getres")));
