#include "vm/arch/fp_state.h"

#include <algorithm>
#include <cstring>

namespace spectrum::vm::arch {

namespace {
constexpr std::size_t kFcw = 0, kMxcsr = kMxcsrOffset, kMxcsrMask = 28, kXstateBv = 512, kXcompBv = 520;
constexpr std::size_t kRegistersEnd = kXmmOffset + 16 * 16;  // x87 control, ST0-7, XMM0-15; reserved after
constexpr std::uint32_t kDefaultMxcsrMask = 0xffbf;          // when the CPU reports none (fxsave's rule)

template <class T>
T load(std::span<const std::uint8_t> bytes, std::size_t at) {
  T value{};
  if (at + sizeof value <= bytes.size()) std::memcpy(&value, bytes.data() + at, sizeof value);
  return value;
}
template <class T>
void store(std::vector<std::uint8_t>& bytes, std::size_t at, T value) {
  if (at + sizeof value <= bytes.size()) std::memcpy(bytes.data() + at, &value, sizeof value);
}
}  // namespace

std::size_t xsave_size(std::uint64_t features) {
  std::size_t size = kHeaderEnd;
  for (unsigned component = 2; component < 64; ++component) {
    if (!(features & (std::uint64_t{1} << component))) continue;
    std::uint32_t eax, ebx, ecx, edx;
    __asm__("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(0xD), "c"(component));
    size = std::max<std::size_t>(size, std::size_t{ebx} + eax);
  }
  return size;
}

std::vector<std::uint8_t> fp_frame(std::span<const std::uint8_t> state, std::size_t size,
                                   std::uint64_t features) {
  std::vector<std::uint8_t> out(size + sizeof kFpXstateMagic2, 0);
  std::memcpy(out.data(), state.data(), std::min(size, state.size()));
  FpxSwBytes sw{};
  sw.magic1 = kFpXstateMagic1;
  sw.extended_size = static_cast<std::uint32_t>(size + sizeof kFpXstateMagic2);
  sw.xfeatures = features;
  sw.xstate_size = static_cast<std::uint32_t>(size);
  store(out, kSwBytesOffset, sw);
  store(out, size, kFpXstateMagic2);
  return out;
}

std::vector<std::uint8_t> fp_init(std::vector<std::uint8_t> current) {
  const std::uint32_t mxcsr_mask = load<std::uint32_t>(current, kMxcsrMask);
  const std::uint64_t xcomp_bv = load<std::uint64_t>(current, kXcompBv);
  std::fill(current.begin(), current.end(), 0);
  store<std::uint16_t>(current, kFcw, 0x37f);
  store<std::uint32_t>(current, kMxcsr, 0x1f80);
  store(current, kMxcsrMask, mxcsr_mask);
  store(current, kXcompBv, xcomp_bv);
  return current;  // XSTATE_BV 0: every component in its init state
}

std::optional<std::vector<std::uint8_t>> fp_from_frame(std::span<const std::uint8_t> frame,
                                                       std::vector<std::uint8_t> current, std::size_t size,
                                                       std::uint64_t features) {
  if (current.size() < kHeaderEnd || frame.size() < kLegacySize) return std::nullopt;
  const auto sw = load<FpxSwBytes>(frame, kSwBytesOffset);
  const bool whole = sw.magic1 == kFpXstateMagic1 && sw.xstate_size == size &&
                     sw.extended_size == size + sizeof kFpXstateMagic2 &&
                     frame.size() >= size + sizeof kFpXstateMagic2 &&
                     load<std::uint32_t>(frame, size) == kFpXstateMagic2;
  const std::uint32_t cpu_mxcsr_mask =
      load<std::uint32_t>(current, kMxcsrMask);  // the CPU's, not the guest's
  const std::uint32_t mxcsr_mask = cpu_mxcsr_mask ? cpu_mxcsr_mask : kDefaultMxcsrMask;
  if (load<std::uint32_t>(frame, kMxcsr) & ~mxcsr_mask) return std::nullopt;
  const std::uint64_t xcomp_bv = load<std::uint64_t>(current, kXcompBv);
  std::memcpy(current.data(), frame.data(), kRegistersEnd);
  store(current, kMxcsrMask, cpu_mxcsr_mask);
  // The header: which components the frame holds (x87 and SSE only for a legacy frame), never one
  // the platform has not enabled; the rest of it zero.
  std::fill(current.begin() + kXstateBv, current.begin() + kHeaderEnd, 0);
  const std::uint64_t held = whole ? load<std::uint64_t>(frame, kXstateBv) & sw.xfeatures : 3;
  store(current, kXstateBv, held & features);
  store(current, kXcompBv, xcomp_bv);
  if (whole) {
    const std::size_t end = std::min({size, current.size(), frame.size()});
    if (end > kHeaderEnd)
      std::memcpy(current.data() + kHeaderEnd, frame.data() + kHeaderEnd, end - kHeaderEnd);
  }
  return current;
}

}  // namespace spectrum::vm::arch
