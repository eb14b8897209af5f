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

#include <csignal>
#include <cstring>

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

}  // namespace
}  // namespace spectrum::vm
