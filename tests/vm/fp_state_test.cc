// The FP state a signal frame holds comes back from the guest at rt_sigreturn: whatever bytes the
// guest left there, the state given to the platform has only enabled components, a zero header
// beyond them, the platform's compaction word and the CPU's MXCSR_MASK; an MXCSR the CPU would
// refuse is refused (SIGSEGV, as Linux's XRSTOR faults), and a frame without the software bytes is
// x87 and SSE only.
#include "vm/arch/fp_state.h"

#include <gtest/gtest.h>

#include <cstring>

namespace spectrum::vm::arch {
namespace {

constexpr std::size_t kSize = 832;        // legacy + header + AVX (offset 576, 256 bytes)
constexpr std::uint64_t kFeatures = 0x7;  // x87, SSE, AVX
constexpr std::size_t kXstateBv = 512, kXcompBv = 520;

template <class T>
T at(const std::vector<std::uint8_t>& bytes, std::size_t offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof value);
  return value;
}
template <class T>
void put(std::vector<std::uint8_t>& bytes, std::size_t offset, T value) {
  std::memcpy(bytes.data() + offset, &value, sizeof value);
}

// A platform's area: MXCSR_MASK 0xffff, AVX in use.
std::vector<std::uint8_t> platform_state() {
  std::vector<std::uint8_t> state(4096, 0);
  put<std::uint32_t>(state, kMxcsrOffset, 0x1f80);
  put<std::uint32_t>(state, 28, 0xffff);
  put<std::uint64_t>(state, kXstateBv, 0x7);
  for (std::size_t i = 576; i < kSize; ++i) state[i] = 0x11;
  return state;
}

TEST(FpStateTest, AFrameRoundTripsAndHoldsLinuxsSoftwareBytes) {
  const auto state = platform_state();
  const auto frame = fp_frame(state, kSize, kFeatures);
  ASSERT_EQ(frame.size(), kSize + 4);
  const auto sw = at<FpxSwBytes>(frame, kSwBytesOffset);
  EXPECT_EQ(sw.magic1, kFpXstateMagic1);
  EXPECT_EQ(sw.extended_size, kSize + 4);
  EXPECT_EQ(sw.xstate_size, kSize);
  EXPECT_EQ(sw.xfeatures, kFeatures);
  EXPECT_EQ(at<std::uint32_t>(frame, kSize), kFpXstateMagic2);
  auto back = fp_from_frame(frame, platform_state(), kSize, kFeatures);
  ASSERT_TRUE(back);
  EXPECT_EQ(at<std::uint64_t>(*back, kXstateBv), 0x7u);
  EXPECT_EQ((*back)[600], 0x11);
  const auto init = fp_init(platform_state());
  EXPECT_EQ(at<std::uint64_t>(init, kXstateBv), 0u);
  EXPECT_EQ(at<std::uint32_t>(init, kMxcsrOffset), 0x1f80u);
  EXPECT_EQ(at<std::uint16_t>(init, 0), 0x37f);
  EXPECT_EQ(at<std::uint32_t>(init, 28), 0xffffu);
}

TEST(FpStateTest, WhatTheGuestWroteIsSanitizedOrRefused) {
  auto frame = fp_frame(platform_state(), kSize, kFeatures);
  put<std::uint64_t>(frame, kXstateBv, ~std::uint64_t{0});  // every component, enabled or not
  put<std::uint64_t>(frame, kXcompBv, 0x8000000000000007ull);
  for (std::size_t i = 528; i < 576; ++i) frame[i] = 0xee;  // the header's reserved bytes
  put<std::uint32_t>(frame, 28, 0);                         // the guest's MXCSR_MASK
  put<std::uint32_t>(frame, kMxcsrOffset, 0x7f80);
  auto back = fp_from_frame(frame, platform_state(), kSize, kFeatures);
  ASSERT_TRUE(back);
  EXPECT_EQ(at<std::uint64_t>(*back, kXstateBv), kFeatures);
  EXPECT_EQ(at<std::uint64_t>(*back, kXcompBv), 0u);
  for (std::size_t i = 528; i < 576; ++i) ASSERT_EQ((*back)[i], 0) << i;
  EXPECT_EQ(at<std::uint32_t>(*back, 28), 0xffffu);
  EXPECT_EQ(at<std::uint32_t>(*back, kMxcsrOffset), 0x7f80u);

  put<std::uint32_t>(frame, kMxcsrOffset, 0x10000);  // a reserved bit: XRSTOR would fault
  EXPECT_FALSE(fp_from_frame(frame, platform_state(), kSize, kFeatures));

  // Software bytes that do not check out: x87 and SSE only, the AVX component left to its init.
  auto legacy = fp_frame(platform_state(), kSize, kFeatures);
  put<std::uint32_t>(legacy, kSwBytesOffset, 0);
  back = fp_from_frame(legacy, platform_state(), kSize, kFeatures);
  ASSERT_TRUE(back);
  EXPECT_EQ(at<std::uint64_t>(*back, kXstateBv), 0x3u);
  auto wrong_size = fp_frame(platform_state(), kSize, kFeatures);
  put<std::uint32_t>(wrong_size, kSize, 0);  // no FP_XSTATE_MAGIC2 where the sizes say
  back = fp_from_frame(wrong_size, platform_state(), kSize, kFeatures);
  ASSERT_TRUE(back);
  EXPECT_EQ(at<std::uint64_t>(*back, kXstateBv), 0x3u);
  // Too short to be a frame at all.
  EXPECT_FALSE(fp_from_frame(std::vector<std::uint8_t>(100), platform_state(), kSize, kFeatures));
}

}  // namespace
}  // namespace spectrum::vm::arch
