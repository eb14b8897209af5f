/* The page the monitor shares read-only with every guest process, just below its vDSO ([vvar]):
 * what the vDSO needs to tell the time without a system call. C, because the vDSO (guest_vdso.c) is
 * built as a freestanding shared object; the monitor's side is vdso/vdso.h and vdso/guest_clock.h.
 *
 * The guest's clocks are a function of its TSC: base_ns[clock] + (tsc - tsc_base) * mult >> 32.
 * The monitor moves the bases forward before each entry into the guest (never backward for the
 * monotonic clocks), so a reading through the vDSO and one through the kernel agree. */
#ifndef SPECTRUM_VM_VDSO_DATA_H
#define SPECTRUM_VM_VDSO_DATA_H

#include <stdint.h>

#define SPECTRUM_VDSO_CLOCKS 8 /* clock ids 0..7: CLOCK_REALTIME to CLOCK_BOOTTIME */

struct spectrum_vdso_data {
  /* Odd while the monitor writes the rest; a reader retries when it changed under it. */
  uint32_t seq;
  /* 0: every call goes to the kernel (no stable TSC here, or it is not calibrated yet). */
  uint32_t valid;
  uint64_t tsc_base; /* the guest's TSC when the bases were taken */
  uint64_t mult;     /* nanoseconds per TSC tick, times 2^32 */
  /* Per clock id, the time at tsc_base (0: a clock the vDSO leaves to the kernel). The coarse
   * clocks are their bases alone: the time at the last entry into the guest. */
  int64_t base_ns[SPECTRUM_VDSO_CLOCKS];
};

#endif
