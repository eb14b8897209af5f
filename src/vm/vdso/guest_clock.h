// The guest's clocks as its vDSO reads them (vdso_data.h): MONOTONIC, REALTIME, BOOTTIME and their
// coarse forms as a function of the TSC, which the guest reads in ring 3 without leaving it. The
// monitor keeps that function close to the host's clocks: before each entry into the guest
// (refresh) its bases are set to the host's time, or left where they are if the function is ahead
// of it, so the guest's monotonic clocks never go backward; between two entries the function runs
// a little slow (its rate is the calibrated one less 50 ppm), so it does not run ahead. The
// system calls answer from the same function (now), so a time read through the vDSO and one read
// through the kernel are one clock.
//
// The rate is calibrated against the host's CLOCK_MONOTONIC from the start of the run; the vDSO
// takes over once the calibration has a baseline of 10 ms (before that, and on a host without an
// invariant TSC, every call is the system call, as it was without a vDSO).
#pragma once

#include <cstdint>
#include <ctime>
#include <functional>
#include <optional>

#include "vm/vdso/vdso_data.h"

namespace spectrum::vm {

class GuestClock {
 public:
  // `page`: the data page in guest memory, which only this class writes.
  explicit GuestClock(spectrum_vdso_data* page);

  // Where the guest's TSC is not the host's (KVM: the vCPU's offset), how far it is from it now;
  // nullopt when that cannot be measured (the vDSO then leaves every clock to the kernel).
  using TscOffset = std::function<std::optional<std::int64_t>()>;
  void set_tsc_offset(TscOffset measure) { measure_offset_ = std::move(measure); }

  // Before each entry into the guest.
  void refresh();
  // The guest's time of `clock` in nanoseconds as its vDSO would read it at this instant; nullopt
  // for a clock the vDSO leaves to the kernel, or while it leaves all of them.
  std::optional<std::int64_t> now(clockid_t clock) const;
  bool in_use() const { return page_->valid != 0; }

  // Calibrated rate: ns per host TSC tick, times 2^32 (0 until calibrated). For tests.
  std::uint64_t rate() const { return rate_; }

 private:
  // CLOCK_MONOTONIC between two reads of the host's TSC.
  struct Sample {
    std::uint64_t before, after;
    std::int64_t mono;  // ns
    // The two reads were close: `mono` belongs to their middle closely enough to calibrate by.
    bool tight() const;
    std::uint64_t middle() const { return before + (after - before) / 2; }
  };
  static Sample sample();
  std::int64_t formula(std::uint64_t guest_tsc, int clock) const;  // what the page gives now
  void update_offsets(std::uint64_t host_tsc);                     // REALTIME's and BOOTTIME's
  void write_page(std::uint64_t guest_tsc, std::int64_t mono, std::uint64_t mult);

  spectrum_vdso_data* page_;
  TscOffset measure_offset_;
  bool usable_ = false;  // an invariant TSC
  bool broken_ = false;  // the guest's TSC moved against the host's: never in use
  std::optional<Sample> first_;
  std::int64_t tsc_offset_ = 0, first_offset_ = 0;
  std::uint64_t rate_ = 0;
  std::int64_t realtime_offset_ = 0, boottime_offset_ = 0;  // from CLOCK_MONOTONIC
  std::uint64_t offsets_checked_at_ = 0;                    // host TSC
  bool offsets_known_ = false;  // both offsets read once between close MONOTONIC reads
};

}  // namespace spectrum::vm
