// The vDSO: the auxiliary vector names it (AT_SYSINFO_EHDR), /proc/self/maps shows [vdso] and
// [vvar], its dynamic symbols export __vdso_clock_gettime at version LINUX_2.6 as glibc, musl and
// Go look it up, and calling it gives the time the system call gives: never behind a reading made
// before it, never ahead of one after, through libc and the raw call mixed, for the clocks a vDSO
// serves. Its data page cannot be made writable, nor written to.
#include <elf.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

#include "conf.h"

typedef int (*clock_gettime_fn)(clockid_t, struct timespec*);

// The vDSO's symbol `name` at version `version`, by its DT_HASH or DT_GNU_HASH-less walk of the
// dynamic symbols (their count from DT_HASH's nchain), as a libc without a dynamic linker does.
static void* vdso_symbol(const char* name, const char* version) {
  const unsigned char* base = (const unsigned char*)getauxval(AT_SYSINFO_EHDR);
  if (!base) return NULL;
  const Elf64_Ehdr* eh = (const Elf64_Ehdr*)base;
  const Elf64_Phdr* ph = (const Elf64_Phdr*)(base + eh->e_phoff);
  long bias = 0;
  const Elf64_Dyn* dyn = NULL;
  for (int i = 0; i < eh->e_phnum; i++) {
    if (ph[i].p_type == PT_LOAD) bias = (long)base + (long)ph[i].p_offset - (long)ph[i].p_vaddr;
    if (ph[i].p_type == PT_DYNAMIC) dyn = (const Elf64_Dyn*)(base + ph[i].p_offset);
  }
  if (!dyn) return NULL;
  const Elf64_Sym* syms = NULL;
  const char* strings = NULL;
  const Elf32_Word* hash = NULL;
  const Elf64_Half* versym = NULL;
  const Elf64_Verdef* verdef = NULL;
  for (; dyn->d_tag != DT_NULL; dyn++) {
    const void* at = (const void*)(bias + (long)dyn->d_un.d_ptr);
    if (dyn->d_tag == DT_SYMTAB) syms = at;
    if (dyn->d_tag == DT_STRTAB) strings = at;
    if (dyn->d_tag == DT_HASH) hash = at;
    if (dyn->d_tag == DT_VERSYM) versym = at;
    if (dyn->d_tag == DT_VERDEF) verdef = at;
  }
  if (!syms || !strings || !hash || !versym || !verdef) return NULL;
  for (Elf32_Word i = 0; i < hash[1]; i++) {
    if (strcmp(strings + syms[i].st_name, name) != 0 || syms[i].st_shndx == SHN_UNDEF) continue;
    for (const Elf64_Verdef* d = verdef;; d = (const Elf64_Verdef*)((const char*)d + d->vd_next)) {
      const Elf64_Verdaux* aux = (const Elf64_Verdaux*)((const char*)d + d->vd_aux);
      if (d->vd_ndx == (versym[i] & 0x7fff) && strcmp(strings + aux->vda_name, version) == 0)
        return (void*)(bias + (long)syms[i].st_value);
      if (!d->vd_next) break;
    }
  }
  return NULL;
}

static long long ns_of(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }
static long long raw_now(clockid_t clock) {
  struct timespec t;
  CHECK(syscall(SYS_clock_gettime, clock, &t) == 0);
  return ns_of(t);
}

static sigjmp_buf fault;
static void on_segv(int sig) {
  (void)sig;
  siglongjmp(fault, 1);
}

int main(void) {
  printf("AT_SYSINFO_EHDR: %d\n", getauxval(AT_SYSINFO_EHDR) != 0);
  FILE* maps = fopen("/proc/self/maps", "r");
  CHECK(maps);
  char line[512];
  int vdso = 0, vvar = 0;
  unsigned long vvar_start = 0;
  while (fgets(line, sizeof line, maps)) {
    if (strstr(line, "[vdso]")) vdso++;
    if (strstr(line, "[vvar]") && !vvar++) CHECK(sscanf(line, "%lx-", &vvar_start) == 1);
  }
  fclose(maps);
  printf("maps: [vdso] %d, [vvar] %d\n", vdso, vvar > 0);

  clock_gettime_fn vdso_clock_gettime = (clock_gettime_fn)vdso_symbol("__vdso_clock_gettime", "LINUX_2.6");
  printf("__vdso_clock_gettime@LINUX_2.6: %d\n", vdso_clock_gettime != NULL);
  if (!vdso_clock_gettime) return 1;

  // Past the first tens of milliseconds of the run (a sandbox calibrates its vDSO clock there).
  for (long long start = raw_now(CLOCK_MONOTONIC); raw_now(CLOCK_MONOTONIC) - start < 30000000;) {
  }
  const clockid_t clocks[] = {CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_BOOTTIME};
  const char* names[] = {"MONOTONIC", "REALTIME", "BOOTTIME"};
  for (int c = 0; c < 3; c++) {
    int out_of_order = 0;
    for (int i = 0; i < 20000; i++) {
      struct timespec direct, through_libc;
      const long long before = raw_now(clocks[c]);
      CHECK(vdso_clock_gettime(clocks[c], &direct) == 0);
      CHECK(clock_gettime(clocks[c], &through_libc) == 0);
      const long long after = raw_now(clocks[c]);
      out_of_order += ns_of(direct) < before || ns_of(through_libc) < ns_of(direct) || after < ns_of(through_libc);
    }
    printf("%s: readings out of order: %d\n", names[c], out_of_order);
  }
  struct timespec coarse, fine;
  CHECK(vdso_clock_gettime(CLOCK_MONOTONIC_COARSE, &coarse) == 0);
  CHECK(clock_gettime(CLOCK_MONOTONIC, &fine) == 0);
  printf("MONOTONIC_COARSE not after MONOTONIC: %d\n", ns_of(coarse) <= ns_of(fine));
  struct timespec cpu;
  printf("the vDSO's CPU clock: %d\n", vdso_clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu) == 0);
  struct timeval tv;
  struct timezone tz = {99, 99};
  CHECK(gettimeofday(&tv, &tz) == 0);
  const long long real = raw_now(CLOCK_REALTIME);
  printf("gettimeofday within 1 s of REALTIME, timezone UTC: %d %d\n",
         real / 1000 - (tv.tv_sec * 1000000LL + tv.tv_usec) < 1000000, tz.tz_minuteswest == 0 && tz.tz_dsttime == 0);
  const time_t t = time(NULL);
  printf("time() within 1 s: %d\n", raw_now(CLOCK_REALTIME) / 1000000000 - t <= 1);

  // The data page is the kernel's: read-only, and it stays so.
  printf("mprotect [vvar] writable: %s\n",
         ERRNO_OF(mprotect((void*)vvar_start, 4096, PROT_READ | PROT_WRITE)));
  signal(SIGSEGV, on_segv);
  if (sigsetjmp(fault, 1) == 0) {
    *(volatile char*)vvar_start = 1;
    printf("write to [vvar]: no fault\n");
  } else {
    printf("write to [vvar]: SIGSEGV\n");
  }
  return 0;
}
