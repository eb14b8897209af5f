// Attacks of a hostile workload on the monitor's memory calls, kept as regression tests (no
// /dev/kvm needed: the handlers run over real guest memory and page tables).
//   - ring 0 from ring 3: an address at or above the user end, or X + 2^48 (the walk uses bits
//     12-47 only, so it aliases X), must never reach the kernel area or the page tables;
//   - madvise(MADV_DONTNEED) on the GDT/IDT/TSS or the kernel's code must not discard them;
//   - no monitor loop may be as long as a range the guest names (2^46 bytes).
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <vector>

#include "test_support.h"
#include "vm/boot.h"
#include "vm/guest/abi.h"
#include "vm/kernel/process.h"
#include "vm/memory.h"

namespace spectrum::vm {
namespace {

using x86::kPageSize;

constexpr std::uint64_t kUserPage = 0x400000;
constexpr std::uint64_t kAlias = 1ull << 48;

// The kernel area's bytes and every page-table page reachable from CR3, as one string: what no
// guest call may change.
std::string protected_state(const GuestMemory& memory, std::uint64_t root) {
  std::string out(reinterpret_cast<const char*>(memory.at(0, GUEST_KERNEL_AREA_END)), GUEST_KERNEL_AREA_END);
  auto walk = [&](auto&& self, std::uint64_t table, int level) -> void {
    const auto* t = reinterpret_cast<const std::uint64_t*>(memory.at(table, kPageSize));
    out.append(reinterpret_cast<const char*>(t), kPageSize);
    if (level == 0) return;
    for (int i = 0; i < 512; ++i)
      if ((t[i] & x86::kPtePresent) && !(t[i] & x86::kPteLarge))
        self(self, t[i] & x86::kPteAddressMask, level - 1);
  };
  walk(walk, root, 3);
  return out;
}

class MemoryAttackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    memory_ = std::make_unique<GuestMemory>(std::move(*GuestMemory::create(32 << 20)));
    frames_ = std::make_unique<FrameAllocator>(*memory_, GUEST_KERNEL_AREA_END);
    const auto ranges = kernel_area_ranges();
    space_ = std::make_unique<AddressSpace>(std::move(*AddressSpace::create(*memory_, *frames_, ranges)));
    ASSERT_TRUE(write_kernel_area(*memory_));
    ASSERT_TRUE(space_->map(kUserPage, 4 * kPageSize, kProtRead | kProtWrite));
    ProcessConfig config;
    config.memory_bytes = 32 << 20;
    config.log = [](const std::string&) {};
    process_ = std::make_unique<Process>(*space_, *memory_, std::move(config));
    process_->set_brk_start(0x1000000);
  }
  std::int64_t call(long nr, std::uint64_t a0 = 0, std::uint64_t a1 = 0, std::uint64_t a2 = 0,
                    std::uint64_t a3 = 0, std::uint64_t a4 = 0, std::uint64_t a5 = 0) {
    return process_->handle({static_cast<std::uint64_t>(nr), {a0, a1, a2, a3, a4, a5}}).value;
  }
  std::string state() { return protected_state(*memory_, space_->root()); }

  std::unique_ptr<GuestMemory> memory_;
  std::unique_ptr<FrameAllocator> frames_;
  std::unique_ptr<AddressSpace> space_;
  std::unique_ptr<Process> process_;
};

// Addresses a guest would use to reach ring 0's memory: the kernel area itself, its aliases and
// a user page's alias above 2^48, non-canonical and upper-half addresses, the user end.
const std::uint64_t kHostile[] = {
    0,
    GUEST_GDT_ADDR,
    GUEST_IDT_ADDR,
    GUEST_TSS_ADDR,
    GUEST_KSTACK_BOTTOM,
    GUEST_KERNEL_ADDR,
    GUEST_KERNEL_ADDR + kAlias,
    GUEST_GDT_ADDR + kAlias,
    kUserPage + kAlias,
    1ull << 47,
    0xffff'8000'0001'0000,
    AddressSpace::kUserEnd,
    AddressSpace::kUserEnd + kPageSize,
    ~std::uint64_t{0xFFF},
};

TEST_F(MemoryAttackTest, NoMemoryCallReachesTheKernelAreaOrThePageTables) {
  const std::string before = state();
  constexpr std::uint64_t rwx = PROT_READ | PROT_WRITE | PROT_EXEC;
  constexpr std::uint64_t anon = MAP_PRIVATE | MAP_ANONYMOUS;
  for (std::uint64_t at : kHostile) {
    SCOPED_TRACE(::testing::Message() << "address 0x" << std::hex << at);
    for (std::uint64_t length : {kPageSize, 16 * kPageSize, std::uint64_t{GUEST_KERNEL_AREA_END}}) {
      // The exploit of the review: make the kernel's code page user-writable through an alias.
      EXPECT_LT(call(SYS_mprotect, at, length, rwx), 0);
      EXPECT_LT(call(SYS_mmap, at, length, rwx, anon | MAP_FIXED, ~0ull, 0), 0);
      EXPECT_LT(call(SYS_mmap, at, length, rwx, anon | MAP_FIXED_NOREPLACE, ~0ull, 0), 0);
      EXPECT_LT(call(SYS_munmap, at, length), 0);
      EXPECT_LT(call(SYS_mremap, at, length, 2 * length, MREMAP_MAYMOVE), 0);
      EXPECT_LT(call(SYS_madvise, at, length, MADV_DONTNEED), 0);
    }
    EXPECT_EQ(call(SYS_brk, at), 0x1000000) << "brk into the kernel area or beyond is refused";
    EXPECT_EQ(state(), before) << "the kernel area or a page table changed";
  }
  // A hint is only a hint: the mapping lands in user space, never at the hostile address.
  for (std::uint64_t at : kHostile) {
    const std::int64_t hinted = call(SYS_mmap, at, 16 * kPageSize, rwx, anon, ~0ull, 0);
    ASSERT_GT(hinted, 0);
    EXPECT_GE(static_cast<std::uint64_t>(hinted), AddressSpace::kUserLowest);
    EXPECT_LT(static_cast<std::uint64_t>(hinted), AddressSpace::kUserEnd);
    EXPECT_EQ(call(SYS_munmap, static_cast<std::uint64_t>(hinted), 16 * kPageSize), 0);
  }
  // The kernel's pages are still supervisor-only and read-only.
  for (std::uint64_t page : {std::uint64_t{GUEST_KERNEL_ADDR}, std::uint64_t{GUEST_GDT_ADDR}}) {
    EXPECT_FALSE(space_->entry(page) & x86::kPteUser);
    EXPECT_FALSE(space_->entry(page) & x86::kPteWritable);
  }
  // The user page under the alias is untouched too.
  EXPECT_TRUE(space_->translate(kUserPage, Access::write));
}

TEST_F(MemoryAttackTest, TheAddressSpaceRefusesAliasesAndTheUpperHalfItself) {
  for (std::uint64_t at : kHostile) {
    SCOPED_TRACE(::testing::Message() << "address 0x" << std::hex << at);
    EXPECT_FALSE(space_->map(at, kPageSize, kProtRead | kProtWrite));
    EXPECT_FALSE(space_->protect(at, kPageSize, kProtRead | kProtWrite | kProtExec));
    EXPECT_FALSE(space_->unmap(at, kPageSize));
    EXPECT_FALSE(space_->discard(at, kPageSize));
    EXPECT_FALSE(space_->is_mapped(at));
    EXPECT_FALSE(space_->range_free(at, kPageSize));
    EXPECT_FALSE(space_->range_mapped(at, kPageSize));
    EXPECT_FALSE(space_->translate(at, Access::read));
  }
  // Above 2^47 the walk itself refuses: X + 2^48 never reads X's entry.
  EXPECT_NE(space_->entry(kUserPage), 0u);
  EXPECT_EQ(space_->entry(kUserPage + kAlias), 0u);
  EXPECT_EQ(space_->entry(GUEST_KERNEL_ADDR + kAlias), 0u);
}

TEST_F(MemoryAttackTest, MadviseDiscardsOnlyTheWorkloadsMemory) {
  const std::string before = state();
  for (std::uint64_t at : {std::uint64_t{0}, std::uint64_t{GUEST_GDT_ADDR}, std::uint64_t{GUEST_KERNEL_ADDR}})
    EXPECT_EQ(call(SYS_madvise, at, GUEST_KERNEL_AREA_END - at, MADV_DONTNEED), -ENOMEM);
  EXPECT_EQ(call(SYS_madvise, GUEST_KERNEL_ADDR + kAlias, kPageSize, MADV_DONTNEED), -ENOMEM);
  EXPECT_EQ(state(), before);
  // On the workload's own memory it works: the page reads as zero afterwards.
  const std::uint8_t byte = 0x5a;
  ASSERT_TRUE(space_->write(kUserPage, {&byte, 1}));
  EXPECT_EQ(call(SYS_madvise, kUserPage, kPageSize, MADV_DONTNEED), 0);
  std::uint8_t back = 1;
  ASSERT_TRUE(space_->read(kUserPage, {&back, 1}));
  EXPECT_EQ(back, 0);
}

// Every call with a range of 2^46 bytes (64 TiB) returns, in a child that an alarm would kill if
// a loop walked the range page by page (2^34 iterations: hours). The bound is generous on purpose.
TEST_F(MemoryAttackTest, NoLoopIsAsLongAsTheRangeTheGuestNames) {
  const std::uint64_t huge = 1ull << 46;
  const std::uint64_t low = AddressSpace::kUserLowest;
  const pid_t child = ::fork();
  if (child == 0) {
    ::alarm(60);
    constexpr std::uint64_t rw = PROT_READ | PROT_WRITE, anon = MAP_PRIVATE | MAP_ANONYMOUS;
    call(SYS_madvise, low, huge, MADV_DONTNEED);
    call(SYS_madvise, low, huge, MADV_WILLNEED);
    call(SYS_mmap, low, huge, rw, anon | MAP_FIXED_NOREPLACE, ~0ull, 0);
    call(SYS_mmap, 0x800000, huge, rw, anon | MAP_FIXED_NOREPLACE, ~0ull, 0);
    call(SYS_mmap, low, huge, rw, anon, ~0ull, 0);  // hint search
    call(SYS_mmap, 0x800000, huge, rw, anon | MAP_FIXED, ~0ull, 0);
    call(SYS_brk, 0x1000000 + huge);
    call(SYS_mremap, kUserPage, kPageSize, huge, 0);
    call(SYS_mremap, kUserPage, kPageSize, huge, MREMAP_MAYMOVE);
    call(SYS_mremap, kUserPage, huge, kPageSize, 0);
    call(SYS_mprotect, low, huge, PROT_READ);
    call(SYS_mprotect, kUserPage, huge, PROT_READ);
    call(SYS_munmap, low, huge);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << (WIFSIGNALED(status) ? std::string("killed by ") + ::strsignal(WTERMSIG(status)) : "exit status");
}

// Shared memory across fork: the copy maps the very frames, and a frame is free again only when
// its last holder lets go, never earlier (another process would get live shared memory) and never
// lost (guest memory would leak with every fork of a process holding shared pages).
TEST_F(MemoryAttackTest, SharedFramesAreFreedByTheirLastHolderOnly) {
  constexpr std::uint64_t kShared = 0x800000;
  const auto ranges = kernel_area_ranges();
  ASSERT_TRUE(space_->map(kShared, 2 * kPageSize, kProtRead | kProtWrite, true));
  const std::uint64_t frame = space_->entry(kShared) & x86::kPteAddressMask;
  ASSERT_TRUE(space_->write(kShared, std::vector<std::uint8_t>(16, 0xab)));
  const std::uint64_t before = frames_->free_frames();
  for (int round = 0; round < 3; ++round) {
    auto child = space_->copy(ranges);
    ASSERT_TRUE(child);
    EXPECT_EQ(child->entry(kShared) & x86::kPteAddressMask, frame);  // the same frame, not a copy
    // A private writable page: copy-on-write in both, read-only to the hardware until written.
    EXPECT_TRUE(child->entry(kUserPage) & x86::kPteCopyOnWrite);
    EXPECT_FALSE(space_->entry(kUserPage) & x86::kPteWritable);
    std::uint8_t byte = 0x5a;
    ASSERT_TRUE(child->write(kShared + 1, {&byte, 1}));
    // The child lets go first (munmap), then ends: the parent's page keeps its bytes.
    ASSERT_TRUE(child->unmap(kShared, kPageSize));
  }
  EXPECT_EQ(frames_->free_frames(), before);  // every copy's frames came back, the shared ones kept
  std::uint8_t seen[2] = {};
  ASSERT_TRUE(space_->read(kShared, seen));
  EXPECT_EQ(seen[0], 0xab);
  EXPECT_EQ(seen[1], 0x5a);
  // The parent lets go while a copy still holds it: the copy keeps the bytes, and the frame is not
  // handed out to anyone until the copy ends.
  {
    auto child = space_->copy(ranges);
    ASSERT_TRUE(child);
    ASSERT_TRUE(space_->unmap(kShared, 2 * kPageSize));
    std::vector<std::uint64_t> handed_out;
    while (auto next = frames_->allocate()) handed_out.push_back(*next);
    EXPECT_EQ(std::count(handed_out.begin(), handed_out.end(), frame), 0);
    for (std::uint64_t f : handed_out) frames_->release(f);
    ASSERT_TRUE(child->read(kShared, seen));
    EXPECT_EQ(seen[0], 0xab);
  }
  std::vector<std::uint64_t> handed_out;
  while (auto next = frames_->allocate()) handed_out.push_back(*next);
  EXPECT_EQ(std::count(handed_out.begin(), handed_out.end(), frame), 1);  // free once, zeroed
  EXPECT_EQ(*memory_->at(frame, 1), 0);
  for (std::uint64_t f : handed_out) frames_->release(f);
}

// mremap moves frames instead of copying them: a shared mapping stays shared with its fork, and
// the old range is empty afterwards.
TEST_F(MemoryAttackTest, MremapMovesSharedMemoryAndItsSharing) {
  constexpr std::uint64_t kShared = 0x800000;
  ASSERT_EQ(call(SYS_mmap, kShared, 2 * kPageSize, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, ~0ull, 0),
            static_cast<std::int64_t>(kShared));
  ASSERT_EQ(call(SYS_mmap, kShared + 2 * kPageSize, kPageSize, PROT_READ,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, ~0ull, 0),
            static_cast<std::int64_t>(kShared + 2 * kPageSize));  // in the way of growing in place
  auto child = space_->copy(kernel_area_ranges());
  ASSERT_TRUE(child);
  const std::uint64_t frame = space_->entry(kShared + kPageSize) & x86::kPteAddressMask;
  const std::int64_t moved = call(SYS_mremap, kShared, 2 * kPageSize, 4 * kPageSize, MREMAP_MAYMOVE);
  ASSERT_GT(moved, 0);
  ASSERT_NE(moved, static_cast<std::int64_t>(kShared));
  const auto at = static_cast<std::uint64_t>(moved);
  EXPECT_EQ(space_->entry(at + kPageSize) & x86::kPteAddressMask, frame);
  EXPECT_TRUE(space_->entry(at + kPageSize) & x86::kPteShared);
  EXPECT_TRUE(space_->entry(at + 3 * kPageSize) & x86::kPteShared);  // grown shared
  EXPECT_FALSE(space_->is_mapped(kShared));
  EXPECT_FALSE(space_->is_mapped(kShared + kPageSize));
  std::uint8_t byte = 7;
  ASSERT_TRUE(child->write(kShared + kPageSize, {&byte, 1}));
  std::uint8_t seen = 0;
  ASSERT_TRUE(space_->read(at + kPageSize, {&seen, 1}));
  EXPECT_EQ(seen, 7);
}

}  // namespace
}  // namespace spectrum::vm
