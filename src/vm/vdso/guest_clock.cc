#include "vm/vdso/guest_clock.h"

#include <cpuid.h>
#include <x86intrin.h>

#include <algorithm>

namespace spectrum::vm {

namespace {

constexpr std::int64_t kCalibrationBaseline = 10'000'000;  // ns of CLOCK_MONOTONIC before first use
// A sample whose two TSC reads are further apart than this (~1 us at 4 GHz; ~50 ns is usual) was
// interrupted between them: its clock reading is not pinned to its TSC closely enough to calibrate
// by. At a 10 ms baseline that leaves the rate within 100 ppm, and a longer one makes it finer.
constexpr std::uint64_t kTightSample = 4'000;
// REALTIME and BOOTTIME move against MONOTONIC only by steps (settimeofday, a suspend): NTP slews
// all three alike. An offset is read between two MONOTONIC reads at most kOffsetBracket apart
// (else the monitor was preempted in between, and the reading is dropped), and taken only when
// it moved by more than kOffsetStep: the jitter of the reads must never move REALTIME back.
constexpr std::int64_t kOffsetBracket = 5'000, kOffsetStep = 50'000;  // ns
// The guest's TSC may not drift from the host's by more than this between two measurements of its
// offset (KVM with TSC scaling, or an offset changed under the guest): then the vDSO stays unused.
constexpr std::int64_t kOffsetDrift = 20'000;  // ticks

std::int64_t read_ns(clockid_t clock) {
  timespec ts{};
  ::clock_gettime(clock, &ts);
  return ts.tv_sec * 1'000'000'000 + ts.tv_nsec;
}

std::uint64_t read_tsc() {
  _mm_lfence();
  return __rdtsc();
}

bool invariant_tsc() {
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(0x80000007, &eax, &ebx, &ecx, &edx)) return false;
  return (edx >> 8) & 1;  // CPUID.80000007H:EDX[8]: the TSC runs at a constant rate in every state
}

bool coarse(int clock) { return clock == CLOCK_REALTIME_COARSE || clock == CLOCK_MONOTONIC_COARSE; }

}  // namespace

GuestClock::GuestClock(spectrum_vdso_data* page) : page_(page), usable_(invariant_tsc()) {}

GuestClock::Sample GuestClock::sample() {
  const std::uint64_t before = read_tsc();
  const std::int64_t mono = read_ns(CLOCK_MONOTONIC);
  return {before, read_tsc(), mono};
}
bool GuestClock::Sample::tight() const { return after >= before && after - before <= kTightSample; }

std::int64_t GuestClock::formula(std::uint64_t guest_tsc, int clock) const {
  const std::int64_t base = page_->base_ns[clock];
  if (coarse(clock)) return base;
  const std::uint64_t ticks = guest_tsc > page_->tsc_base ? guest_tsc - page_->tsc_base : 0;
  return base + static_cast<std::int64_t>((static_cast<unsigned __int128>(ticks) * page_->mult) >> 32);
}

std::optional<std::int64_t> GuestClock::now(clockid_t clock) const {
  if (!in_use() || clock < 0 || clock >= SPECTRUM_VDSO_CLOCKS || page_->base_ns[clock] == 0)
    return std::nullopt;
  return formula(read_tsc() + static_cast<std::uint64_t>(tsc_offset_), clock);
}

void GuestClock::update_offsets(std::uint64_t host_tsc) {
  // Read between two readings of CLOCK_MONOTONIC: its offset from their middle, if they were close.
  auto update = [first = !offsets_known_](clockid_t clock, std::int64_t& offset) {
    const std::int64_t before = read_ns(CLOCK_MONOTONIC), value = read_ns(clock),
                       after = read_ns(CLOCK_MONOTONIC);
    if (after - before > kOffsetBracket) return false;
    const std::int64_t measured = value - (before + (after - before) / 2);
    if (first || std::abs(measured - offset) > kOffsetStep) offset = measured;
    return true;
  };
  const bool realtime = update(CLOCK_REALTIME, realtime_offset_);
  const bool boottime = update(CLOCK_BOOTTIME, boottime_offset_);
  if (realtime && boottime) offsets_known_ = true;
  offsets_checked_at_ = host_tsc;
}

void GuestClock::write_page(std::uint64_t guest_tsc, std::int64_t mono, std::uint64_t mult) {
  volatile spectrum_vdso_data* page = page_;
  page->seq = page->seq + 1;  // odd: a reader (another vCPU, one day) waits
  __asm__ volatile("" ::: "memory");
  page->tsc_base = guest_tsc;
  page->mult = mult;
  page->base_ns[CLOCK_MONOTONIC] = mono;
  page->base_ns[CLOCK_MONOTONIC_COARSE] = mono;
  page->base_ns[CLOCK_REALTIME] = mono + realtime_offset_;
  page->base_ns[CLOCK_REALTIME_COARSE] = mono + realtime_offset_;
  page->base_ns[CLOCK_BOOTTIME] = mono + boottime_offset_;
  page->valid = 1;
  __asm__ volatile("" ::: "memory");
  page->seq = page->seq + 1;
}

void GuestClock::refresh() {
  if (!usable_ || broken_) return;
  const Sample now = sample();
  if (!first_) {
    if (!now.tight()) return;
    if (measure_offset_) {
      const auto offset = measure_offset_();
      if (!offset) {
        broken_ = true;
        return;
      }
      first_offset_ = tsc_offset_ = *offset;
    }
    first_ = now;
    update_offsets(now.after);
    return;
  }
  if (now.tight() && now.middle() > first_->middle() && now.mono - first_->mono >= kCalibrationBaseline) {
    if (!in_use() && measure_offset_) {
      // Once more, a baseline later: a guest TSC that runs at another rate than the host's (TSC
      // scaling) would have moved. The vDSO is used only where it has not.
      const auto offset = measure_offset_();
      if (!offset || std::abs(*offset - first_offset_) > kOffsetDrift) {
        broken_ = true;
        return;
      }
      tsc_offset_ = *offset;
    }
    // The rate over the whole run so far: the longer the baseline, the smaller the error of its ends.
    rate_ = static_cast<std::uint64_t>((static_cast<unsigned __int128>(now.mono - first_->mono) << 32) /
                                       (now.middle() - first_->middle()));
  }
  if (rate_ == 0) return;
  if (!offsets_known_) update_offsets(now.after);
  if (!offsets_known_) return;  // (every read so far was interrupted: the kernel answers meanwhile)
  // At most every millisecond (by the TSC at the calibrated rate): REALTIME's and BOOTTIME's steps.
  if (((static_cast<unsigned __int128>(now.after - offsets_checked_at_) * rate_) >> 32) > 1'000'000)
    update_offsets(now.after);
  // The base belongs to the later TSC read: the clock was read before it, so the guest's clock is
  // never ahead of the host's there, however long the sample took.
  const std::uint64_t guest_tsc = now.after + static_cast<std::uint64_t>(tsc_offset_);
  std::int64_t mono = now.mono;
  // Slow by more than the calibration's error, so that it falls behind rather than ahead: 50 ppm
  // while the baseline is short, 5 ppm from a second on (the error of a sample's ends over a
  // second is below 1 ppm). A guest that computes for a minute without a call lags by 0.3 ms.
  const std::int64_t baseline = now.mono - first_->mono;
  std::uint64_t mult = rate_ - rate_ / (baseline < 1'000'000'000 ? 20'000 : 200'000);
  if (in_use()) {
    const std::int64_t reached = formula(guest_tsc, CLOCK_MONOTONIC);
    if (reached > mono) {
      // Ahead of the host all the same (the host's clock slowed, or a poor sample): the guest's
      // clock stays where it is and runs 0.1% slow until the host's has caught up.
      mono = reached;
      mult = rate_ - rate_ / 1'000;
    }
  }
  write_page(guest_tsc, mono, mult);
}

}  // namespace spectrum::vm
