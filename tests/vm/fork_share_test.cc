// fork shares the frames of private pages instead of copying them: as they are where neither
// process can write them (text, read-only data, PROT_NONE), copy-on-write where both can. No
// process may ever see another's writes through them: a write fault or the monitor's write gives
// the page a frame of its own, mprotect gives a holder its own copy before the page becomes
// writable, MADV_DONTNEED its own zero page, and the loader's writes that ignore protection never
// reach a shared frame.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>

#include "vm/boot.h"
#include "vm/guest/abi.h"
#include "vm/memory.h"

namespace spectrum::vm {
namespace {

using x86::kPageSize;

constexpr std::uint64_t kText = 0x400000;

class ForkShareTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = GuestMemory::create(16 << 20, GuestMemory::Backing::memfd);  // ptrace's: changes recorded
    ASSERT_TRUE(m);
    memory_ = std::make_unique<GuestMemory>(std::move(*m));
    frames_ = std::make_unique<FrameAllocator>(*memory_, GUEST_KERNEL_AREA_END);
    auto s = AddressSpace::create(*memory_, *frames_, kernel_area_ranges());
    ASSERT_TRUE(s);
    parent_ = std::make_unique<AddressSpace>(std::move(*s));
    ASSERT_TRUE(parent_->map(kText, 2 * kPageSize, kProtRead | kProtWrite));
    ASSERT_TRUE(parent_->write(kText, as_bytes("page zero")));
    ASSERT_TRUE(parent_->write(kText + kPageSize, as_bytes("page one")));
    ASSERT_TRUE(parent_->protect(kText, 2 * kPageSize, kProtRead | kProtExec));
    (void)parent_->take_changes();
  }
  static std::span<const std::uint8_t> as_bytes(const char* s) {
    return {reinterpret_cast<const std::uint8_t*>(s), std::strlen(s) + 1};
  }
  static std::string text_at(const AddressSpace& space, std::uint64_t vaddr) {
    char buffer[32] = {};
    EXPECT_TRUE(space.read(vaddr, {reinterpret_cast<std::uint8_t*>(buffer), sizeof buffer - 1}));
    return buffer;
  }
  static std::uint64_t frame(const AddressSpace& space, std::uint64_t vaddr) {
    return space.entry(vaddr) & x86::kPteAddressMask;
  }
  std::unique_ptr<GuestMemory> memory_;
  std::unique_ptr<FrameAllocator> frames_;
  std::unique_ptr<AddressSpace> parent_;
};

// The ptrace stub follows recorded changes: fork must make it map again the parent's pages that
// became copy-on-write (read-only to the stub now), and nothing else (not the text, which it
// would otherwise map again at every fork).
TEST_F(ForkShareTest, ForkRecordsAMapOfTheCopyOnWriteRangesOnly) {
  constexpr std::uint64_t kData = 0x600000, kHeap = 0x800000;
  ASSERT_TRUE(parent_->map(kData, 3 * kPageSize, kProtRead | kProtWrite));
  ASSERT_TRUE(parent_->map(kHeap, kPageSize, kProtRead | kProtWrite, /*shared=*/true));
  ASSERT_TRUE(parent_->protect(kData + kPageSize, kPageSize, kProtRead));  // RELRO-like: rw- r-- rw-
  (void)parent_->take_changes();
  auto child = parent_->copy(kernel_area_ranges());
  ASSERT_TRUE(child);
  const auto changes = parent_->take_changes();
  ASSERT_EQ(changes.size(), 2u) << "one per copy-on-write run";
  for (const auto& change : changes) {
    EXPECT_EQ(change.kind, AddressSpace::Change::Kind::map);
    EXPECT_EQ(change.length, kPageSize);
    EXPECT_EQ(change.prot, unsigned{kProtRead | kProtWrite});
  }
  EXPECT_EQ(changes[0].start, kData);
  EXPECT_EQ(changes[1].start, kData + 2 * kPageSize);
}

TEST_F(ForkShareTest, ReadOnlyPagesAreSharedAndWritableOnesCopyOnWrite) {
  constexpr std::uint64_t kData = 0x600000;
  ASSERT_TRUE(parent_->map(kData, 2 * kPageSize, kProtRead | kProtWrite));
  ASSERT_TRUE(parent_->write(kData, as_bytes("data")));
  ASSERT_TRUE(parent_->write(kData + kPageSize, as_bytes("more data")));
  auto child = parent_->copy(kernel_area_ranges());
  ASSERT_TRUE(child);
  EXPECT_EQ(frame(*child, kText), frame(*parent_, kText));
  EXPECT_EQ(frames_->holders(frame(*parent_, kText)), 2u);
  EXPECT_FALSE(child->entry(kText) & x86::kPteCopyOnWrite) << "read-only: shared as it is";
  const std::uint64_t data = frame(*parent_, kData);
  EXPECT_EQ(frame(*child, kData), data);
  for (const AddressSpace* space : {parent_.get(), child.operator->()}) {
    EXPECT_FALSE(space->entry(kData) & x86::kPteWritable) << "both write-protected until written";
    EXPECT_TRUE(space->entry(kData) & x86::kPteCopyOnWrite);
    EXPECT_EQ(user_prot(space->entry(kData)), unsigned{kProtRead | kProtWrite})
        << "still rw- to mmap and maps";
  }
  // The monitor's write for the child (a read(2) into its buffer) gives the child its own copy.
  ASSERT_TRUE(child->write(kData, as_bytes("child's")));
  EXPECT_NE(frame(*child, kData), data);
  EXPECT_EQ(text_at(*parent_, kData), "data");
  EXPECT_EQ(frames_->holders(data), 1u);
  // The parent's own write fault then finds the frame its own: no copy, just writable again.
  auto owned = parent_->own_page(kData + 8);
  ASSERT_TRUE(owned && *owned);
  EXPECT_EQ(frame(*parent_, kData), data);
  EXPECT_TRUE(parent_->entry(kData) & x86::kPteWritable);
  EXPECT_FALSE(parent_->entry(kData) & x86::kPteCopyOnWrite);
  owned = parent_->own_page(kText);
  ASSERT_TRUE(owned);
  EXPECT_FALSE(*owned) << "a read-only page's fault is a real one";
  EXPECT_EQ(text_at(*child, kData + kPageSize), "more data");
  EXPECT_EQ(text_at(*child, kText + kPageSize), "page one");
  EXPECT_FALSE(child->write(kText, as_bytes("x"))) << "still read-only for the monitor's writes";
  EXPECT_FALSE(child->fill(kText, as_bytes("x"))) << "the loader's writes never reach a shared frame";
  EXPECT_EQ(text_at(*parent_, kText), "page zero");
}

TEST_F(ForkShareTest, AHolderMadeWritableGetsItsOwnCopy) {
  auto child = parent_->copy(kernel_area_ranges());
  ASSERT_TRUE(child);
  const std::uint64_t shared = frame(*parent_, kText);
  ASSERT_TRUE(child->protect(kText, kPageSize, kProtRead | kProtWrite));
  EXPECT_NE(frame(*child, kText), shared);
  EXPECT_EQ(frames_->holders(shared), 1u);
  EXPECT_EQ(text_at(*child, kText), "page zero") << "the copy has the contents";
  ASSERT_TRUE(child->write(kText, as_bytes("child's")));
  EXPECT_EQ(text_at(*parent_, kText), "page zero");
  EXPECT_EQ(frame(*child, kText + kPageSize), frame(*parent_, kText + kPageSize))
      << "the other page stays shared";
  // The ptrace platform remaps the page: its frame changed, a protect change would keep the old.
  const auto changes = child->take_changes();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].kind, AddressSpace::Change::Kind::map);
  // The parent too, later: its frame is its own by now (no copy).
  ASSERT_TRUE(parent_->protect(kText, kPageSize, kProtRead | kProtWrite));
  EXPECT_EQ(frame(*parent_, kText), shared);
}

TEST_F(ForkShareTest, DiscardZeroesOnlyTheCallersPage) {
  auto child = parent_->copy(kernel_area_ranges());
  ASSERT_TRUE(child);
  ASSERT_TRUE(child->discard(kText, 2 * kPageSize));
  EXPECT_EQ(text_at(*child, kText), "");
  EXPECT_EQ(text_at(*child, kText + kPageSize), "");
  EXPECT_EQ(text_at(*parent_, kText), "page zero");
  EXPECT_EQ(text_at(*parent_, kText + kPageSize), "page one");
  EXPECT_EQ(frames_->holders(frame(*parent_, kText)), 1u);
}

TEST_F(ForkShareTest, AMovedCopyOnWritePageIsStillCopiedAtItsWrite) {
  constexpr std::uint64_t kData = 0x600000, kMoved = 0x900000;
  ASSERT_TRUE(parent_->map(kData, kPageSize, kProtRead | kProtWrite));
  ASSERT_TRUE(parent_->write(kData, as_bytes("parent's")));
  auto child = parent_->copy(kernel_area_ranges());
  ASSERT_TRUE(child);
  ASSERT_TRUE(child->move(kData, kPageSize, kMoved));  // mremap keeps the page copy-on-write
  EXPECT_TRUE(child->entry(kMoved) & x86::kPteCopyOnWrite);
  ASSERT_TRUE(child->write(kMoved, as_bytes("child's")));
  EXPECT_EQ(text_at(*parent_, kData), "parent's");
  EXPECT_EQ(text_at(*child, kMoved), "child's");
}

TEST_F(ForkShareTest, TheLastHolderFreesTheFrame) {
  const std::uint64_t free_before = frames_->free_frames();
  {
    auto child = parent_->copy(kernel_area_ranges());
    ASSERT_TRUE(child);
    ASSERT_TRUE(parent_->unmap(kText, 2 * kPageSize));
    EXPECT_EQ(text_at(*child, kText + kPageSize), "page one") << "the child's holder keeps it";
  }
  EXPECT_EQ(frames_->free_frames(), free_before + 2) << "the text's two frames, once both let go";
}

}  // namespace
}  // namespace spectrum::vm
