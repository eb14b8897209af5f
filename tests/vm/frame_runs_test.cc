// The frames behind the workload's memory stay in long contiguous runs however many processes come
// and go: the ptrace platform maps one run per injected mmap whenever it switches to a process,
// so scattered frames cost a call per page.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "vm/boot.h"
#include "vm/guest/abi.h"
#include "vm/memory.h"

namespace spectrum::vm {
namespace {

using x86::kPageSize;

std::size_t runs(const AddressSpace& space) {
  return space.frame_runs(AddressSpace::kUserLowest, AddressSpace::kUserEnd).size();
}

void stamp(AddressSpace& space, std::uint64_t start, std::uint64_t pages) {
  for (std::uint64_t p = start; p < start + pages * kPageSize; p += kPageSize)
    ASSERT_TRUE(space.fill(p, {reinterpret_cast<const std::uint8_t*>(&p), sizeof p}));
}

TEST(FrameRuns, ForkExecAndExitOverAndOverKeepEveryProcessInFewRuns) {
  // The ptrace platform's memory (a memfd, no table reset), as fork_exec in bench/vm drives it.
  auto memory = GuestMemory::create(64 << 20, GuestMemory::Backing::memfd);
  ASSERT_TRUE(memory);
  FrameAllocator frames(*memory, GUEST_KERNEL_AREA_END);
  const auto kernel = kernel_area_ranges();
  auto parent = AddressSpace::create(*memory, frames, kernel);
  ASSERT_TRUE(parent);
  constexpr std::uint64_t kText = 0x400000, kData = 0x600000, kStack = 0x7fff'f000'0000;
  ASSERT_TRUE(parent->map(kText, 16 * kPageSize, kProtRead | kProtExec));
  ASSERT_TRUE(parent->map(kData, 8 * kPageSize, kProtRead | kProtWrite));
  ASSERT_TRUE(parent->map(kStack, 32 * kPageSize, kProtRead | kProtWrite));
  stamp(*parent, kText, 16);
  stamp(*parent, kData, 8);
  stamp(*parent, kStack, 32);
  const std::uint64_t free_before = frames.free_frames();

  std::vector<std::size_t> child_runs, exec_runs;
  for (int i = 0; i < 60; ++i) {
    {
      auto child = parent->copy(kernel);
      ASSERT_TRUE(child);
      child_runs.push_back(runs(*child));
      const std::uint64_t word = 7;  // a write to the top of the stack: a copy of the child's own
      ASSERT_TRUE(
          child->write(kStack + 31 * kPageSize, {reinterpret_cast<const std::uint8_t*>(&word), sizeof word}));
      auto image = child->fresh(kernel);  // execve
      ASSERT_TRUE(image);
      ASSERT_TRUE(image->map(kText, 120 * kPageSize, kProtRead | kProtExec));
      ASSERT_TRUE(image->map(kStack, 16 * kPageSize, kProtRead | kProtWrite));
      exec_runs.push_back(runs(*image));
    }
    // The parent's heap grows a page now and then between the children.
    if (i % 10 == 0) {
      ASSERT_TRUE(parent->map(kData + (8 + i / 10) * kPageSize, kPageSize, kProtRead | kProtWrite));
      stamp(*parent, kData + (8 + i / 10) * kPageSize, 1);
    }
  }
  // The exec's mappings each in one run, or two where a page table was taken in between. (With a
  // LIFO free list and page-table frames kept out of use: 12 runs for the 60th exec.) A fork maps
  // the parent's frames (copy-on-write), so its runs are the parent's.
  EXPECT_LE(exec_runs.back(), 4u) << "first exec: " << exec_runs.front();
  EXPECT_EQ(child_runs.back(), runs(*parent));
  EXPECT_EQ(frames.free_frames(), free_before - 6) << "every process's frames and tables came back";
}

TEST(FrameRuns, FreedFramesAreHandedOutLowestFirst) {
  auto memory = GuestMemory::create(8 << 20, GuestMemory::Backing::memfd);
  ASSERT_TRUE(memory);
  FrameAllocator frames(*memory, GUEST_KERNEL_AREA_END);
  std::vector<std::uint64_t> taken;
  for (int i = 0; i < 8; ++i) taken.push_back(*frames.allocate());
  frames.release(taken[5]);
  frames.release(taken[1]);
  frames.release(std::vector<std::uint64_t>{taken[6], taken[2], taken[3]});
  for (int i : {1, 2, 3, 5, 6}) EXPECT_EQ(*frames.allocate(), taken[i]);
  EXPECT_EQ(*frames.allocate(), taken[7] + kPageSize) << "then memory never handed out";
}

}  // namespace
}  // namespace spectrum::vm
