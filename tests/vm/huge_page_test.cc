// Huge pages in the workload's address space: private anonymous memory mapped with 2 MiB
// page-directory leaves, so that a hypervisor's first touch maps 2 MiB at once. Every operation
// that changes part of one must behave exactly as on 4 KiB pages.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "vm/boot.h"
#include "vm/guest/abi.h"
#include "vm/memory.h"

namespace spectrum::vm {
namespace {

using x86::kHugePageSize;
using x86::kPageSize;

constexpr std::uint64_t kAt = 0x40000000;  // 2 MiB-aligned

class HugePageTest : public ::testing::Test {
 protected:
  void SetUp() override { make(GuestMemory::Backing::anonymous); }
  void make(GuestMemory::Backing backing) {
    space_.reset();
    auto m = GuestMemory::create(32 << 20, backing);
    ASSERT_TRUE(m);
    memory_ = std::make_unique<GuestMemory>(std::move(*m));
    frames_ = std::make_unique<FrameAllocator>(*memory_, GUEST_KERNEL_AREA_END);
    const auto ranges = kernel_area_ranges();
    auto s = AddressSpace::create(*memory_, *frames_, ranges);
    ASSERT_TRUE(s);
    space_ = std::make_unique<AddressSpace>(std::move(*s));
  }
  // The page-directory entry of `vaddr`, read from the tables as the hardware walks them.
  std::uint64_t directory_entry(const AddressSpace& space, std::uint64_t vaddr) const {
    std::uint64_t table = space.root();
    for (int level = 3; level >= 1; --level) {
      const auto* t = reinterpret_cast<const std::uint64_t*>(memory_->at(table, kPageSize));
      const std::uint64_t e = t[(vaddr >> (12 + 9 * level)) & 511];
      if (level == 1 || !(e & x86::kPtePresent)) return e;
      table = e & x86::kPteAddressMask;
    }
    return 0;
  }
  bool huge_at(const AddressSpace& space, std::uint64_t vaddr) const {
    return directory_entry(space, vaddr) & x86::kPteLarge;
  }
  std::uint64_t frame_of(std::uint64_t vaddr) const { return space_->entry(vaddr) & x86::kPteAddressMask; }
  void put(std::uint64_t vaddr, std::uint64_t value) {
    ASSERT_TRUE(space_->write(vaddr, {reinterpret_cast<const std::uint8_t*>(&value), sizeof value}));
  }
  std::uint64_t get(const AddressSpace& space, std::uint64_t vaddr) const {
    std::uint64_t value = 0;
    EXPECT_TRUE(space.read(vaddr, {reinterpret_cast<std::uint8_t*>(&value), sizeof value}));
    return value;
  }
  void stamp_in(AddressSpace& space, std::uint64_t vaddr, std::uint64_t value) {
    ASSERT_TRUE(space.write(vaddr + 8, {reinterpret_cast<const std::uint8_t*>(&value), sizeof value}));
  }
  // A value in every page of [start, start+length): its own address.
  void stamp(std::uint64_t start, std::uint64_t length) {
    for (std::uint64_t p = start; p < start + length; p += kPageSize) put(p + 8, p);
  }
  void expect_stamped(const AddressSpace& space, std::uint64_t start, std::uint64_t length,
                      std::uint64_t skip = 0) const {
    for (std::uint64_t p = start; p < start + length; p += kPageSize) {
      if (p != skip) {
        ASSERT_EQ(get(space, p + 8), p) << std::hex << p;
      }
    }
  }
  std::unique_ptr<GuestMemory> memory_;
  std::unique_ptr<FrameAllocator> frames_;
  std::unique_ptr<AddressSpace> space_;
};

TEST_F(HugePageTest, AnAlignedMappingIsMadeOfHugePagesAndTheRestOfSmallOnes) {
  const std::uint64_t free_before = frames_->free_frames();
  // 4 KiB before the boundary, two huge pages, 8 KiB after.
  const std::uint64_t start = kAt - kPageSize, length = 2 * kHugePageSize + 3 * kPageSize;
  ASSERT_TRUE(space_->map(start, length, kProtRead | kProtWrite, false, true));
  EXPECT_FALSE(huge_at(*space_, start));
  EXPECT_TRUE(huge_at(*space_, kAt));
  EXPECT_TRUE(huge_at(*space_, kAt + kHugePageSize));
  EXPECT_FALSE(huge_at(*space_, kAt + 2 * kHugePageSize));
  const std::uint64_t pde = directory_entry(*space_, kAt);
  EXPECT_EQ((pde & x86::kPteAddressMask) % kHugePageSize, 0u);
  EXPECT_TRUE(pde & x86::kPteUser);
  EXPECT_TRUE(pde & x86::kPteWritable);
  EXPECT_TRUE(pde & x86::kPteNoExecute);
  // Each 4 KiB page of a huge page reads as a leaf of its own: contiguous frames.
  for (std::uint64_t i = 0; i < x86::kPagesPerHugePage; ++i)
    ASSERT_EQ(frame_of(kAt + i * kPageSize), (pde & x86::kPteAddressMask) + i * kPageSize);
  EXPECT_EQ(space_->mapped_bytes(), length);
  EXPECT_EQ(free_before - frames_->free_frames(), length / kPageSize + /* tables */ 3);
  // Reads and writes across every kind of boundary.
  stamp(start, length);
  expect_stamped(*space_, start, length);
  const std::string text = "across the huge page's end";
  const std::uint64_t across = kAt + kHugePageSize - 7;
  ASSERT_TRUE(space_->write(across, {reinterpret_cast<const std::uint8_t*>(text.data()), text.size() + 1}));
  EXPECT_EQ(*space_->read_string(across, 100), text);
  EXPECT_EQ(space_->mappings().size(), 1u) << "one mapping, as the workload made it";
}

TEST_F(HugePageTest, UnmapOfPartSplitsAndOfAllFreesEveryFrame) {
  const std::uint64_t free_before = frames_->free_frames();
  ASSERT_TRUE(space_->map(kAt, kHugePageSize, kProtRead | kProtWrite, false, true));
  stamp(kAt, kHugePageSize);
  const std::uint64_t first_frame = frame_of(kAt);
  const std::uint64_t hole = kAt + 100 * kPageSize;
  const std::uint64_t free_mapped = frames_->free_frames();
  ASSERT_TRUE(space_->unmap(hole, kPageSize));
  EXPECT_FALSE(huge_at(*space_, kAt));
  EXPECT_FALSE(space_->is_mapped(hole));
  EXPECT_EQ(space_->translate(hole, Access::read).error(), EFAULT);
  EXPECT_EQ(frame_of(kAt), first_frame) << "the split keeps every other page's frame";
  expect_stamped(*space_, kAt, kHugePageSize, hole);
  EXPECT_EQ(frames_->free_frames(), free_mapped + 1 - /* the new page table */ 1);
  EXPECT_EQ(space_->mapped_bytes(), kHugePageSize - kPageSize);
  ASSERT_TRUE(space_->unmap(kAt, kHugePageSize));
  EXPECT_EQ(space_->mapped_bytes(), 0u);
  // Everything back but the tables the space keeps (the directory, and the split's page table).
  EXPECT_EQ(free_before - frames_->free_frames(), 2u);

  // A huge page unmapped whole goes as one entry: no table is made for it.
  ASSERT_TRUE(space_->map(kAt + kHugePageSize, kHugePageSize, kProtRead | kProtWrite, false, true));
  ASSERT_TRUE(huge_at(*space_, kAt + kHugePageSize));
  const std::uint64_t free_huge = frames_->free_frames();
  ASSERT_TRUE(space_->unmap(kAt + kHugePageSize, kHugePageSize));
  EXPECT_EQ(frames_->free_frames(), free_huge + x86::kPagesPerHugePage);
  EXPECT_EQ(directory_entry(*space_, kAt + kHugePageSize), 0u);
}

TEST_F(HugePageTest, ProtectOfAllChangesOneEntryAndOfPartSplits) {
  ASSERT_TRUE(space_->map(kAt, 2 * kHugePageSize, kProtRead | kProtWrite, false, true));
  stamp(kAt, 2 * kHugePageSize);
  // The whole first huge page: read-only, then PROT_NONE, then back; it stays one entry.
  ASSERT_TRUE(space_->protect(kAt, kHugePageSize, kProtRead));
  EXPECT_TRUE(huge_at(*space_, kAt));
  EXPECT_EQ(space_->translate(kAt + 5 * kPageSize, Access::write).error(), EFAULT);
  EXPECT_TRUE(space_->translate(kAt + kHugePageSize, Access::write)) << "the second is untouched";
  ASSERT_TRUE(space_->protect(kAt, kHugePageSize, 0));
  EXPECT_EQ(space_->translate(kAt, Access::read).error(), EFAULT);
  EXPECT_TRUE(space_->is_mapped(kAt)) << "PROT_NONE keeps the mapping";
  EXPECT_FALSE(directory_entry(*space_, kAt) & x86::kPtePresent);
  ASSERT_TRUE(space_->protect(kAt, kHugePageSize, kProtRead | kProtWrite | kProtExec));
  EXPECT_TRUE(huge_at(*space_, kAt));
  EXPECT_FALSE(directory_entry(*space_, kAt) & x86::kPteNoExecute);
  expect_stamped(*space_, kAt, kHugePageSize);
  // A range that ends inside the second: that one is split, the first stays whole.
  const std::uint64_t end = kAt + kHugePageSize + 3 * kPageSize;
  ASSERT_TRUE(space_->protect(kAt, end - kAt, kProtRead));
  EXPECT_TRUE(huge_at(*space_, kAt));
  EXPECT_FALSE(huge_at(*space_, kAt + kHugePageSize));
  EXPECT_EQ(space_->translate(end - kPageSize, Access::write).error(), EFAULT);
  EXPECT_TRUE(space_->translate(end, Access::write));
  expect_stamped(*space_, kAt, 2 * kHugePageSize);
  EXPECT_EQ(space_->mappings().size(), 2u);
}

TEST_F(HugePageTest, ForkSharesAHugePageCopyOnWriteAndGivesItBack) {
  ASSERT_TRUE(space_->map(kAt, kHugePageSize, kProtRead | kProtWrite, false, true));
  stamp(kAt, kHugePageSize);
  const std::uint64_t frame = directory_entry(*space_, kAt) & x86::kPteAddressMask;
  const std::uint64_t free_before = frames_->free_frames();
  {
    auto child = space_->copy(kernel_area_ranges());
    ASSERT_TRUE(child);
    for (const AddressSpace* space : {space_.get(), child.operator->()}) {
      EXPECT_TRUE(huge_at(*space, kAt));
      EXPECT_EQ(directory_entry(*space, kAt) & x86::kPteAddressMask, frame) << "the same 2 MiB";
      EXPECT_FALSE(directory_entry(*space, kAt) & x86::kPteWritable);
      EXPECT_TRUE(directory_entry(*space, kAt) & x86::kPteCopyOnWrite);
    }
    EXPECT_EQ(frames_->holders(frame + 5 * kPageSize), 2u);
    // The child's write: its 2 MiB become 4 KiB pages, the written one its own copy.
    const std::uint64_t mine = 7;
    ASSERT_TRUE(child->write(kAt + 8, {reinterpret_cast<const std::uint8_t*>(&mine), sizeof mine}));
    EXPECT_FALSE(huge_at(*child, kAt));
    EXPECT_NE(child->entry(kAt) & x86::kPteAddressMask, frame);
    EXPECT_EQ(child->entry(kAt + kPageSize) & x86::kPteAddressMask, frame + kPageSize) << "the rest shared";
    EXPECT_EQ(get(*space_, kAt + 8), kAt) << "the child's write is its own";
    expect_stamped(*child, kAt, kHugePageSize, kAt);
    // The parent's write while the child holds the rest: split too, the page copied.
    put(kAt + kPageSize + 8, 9);
    EXPECT_FALSE(huge_at(*space_, kAt));
    EXPECT_EQ(get(*child, kAt + kPageSize + 8), kAt + kPageSize);
    // MADV_DONTNEED of a shared page in the child: zero for it only.
    ASSERT_TRUE(child->discard(kAt + 2 * kPageSize, kPageSize));
    EXPECT_EQ(get(*child, kAt + 2 * kPageSize + 8), 0u);
    EXPECT_EQ(get(*space_, kAt + 2 * kPageSize + 8), kAt + 2 * kPageSize);
  }
  // The child gone: the parent's remaining copy-on-write pages are its own, and writable at once.
  put(kAt + 3 * kPageSize + 8, 11);
  EXPECT_EQ(space_->entry(kAt + 3 * kPageSize) & x86::kPteAddressMask, frame + 3 * kPageSize);
  expect_stamped(*space_, kAt + 4 * kPageSize, kHugePageSize - 4 * kPageSize);
  EXPECT_EQ(frames_->free_frames() + 1, free_before)
      << "the copy's frames and tables came back; the parent's split table remains (its copied page "
         "replaced the original frame)";
}

TEST_F(HugePageTest, AHugePageNoOtherHolderKeepsIsWritableAgainWhole) {
  ASSERT_TRUE(space_->map(kAt, kHugePageSize, kProtRead | kProtWrite, false, true));
  stamp(kAt, kHugePageSize);
  { ASSERT_TRUE(space_->copy(kernel_area_ranges())); }  // a child that ends without writing
  EXPECT_TRUE(directory_entry(*space_, kAt) & x86::kPteCopyOnWrite);
  put(kAt + 8, 5);
  EXPECT_TRUE(huge_at(*space_, kAt)) << "no copy, no split";
  EXPECT_TRUE(directory_entry(*space_, kAt) & x86::kPteWritable);
  EXPECT_FALSE(directory_entry(*space_, kAt) & x86::kPteCopyOnWrite);
}

TEST_F(HugePageTest, MprotectWritableOfASharedHugePageGivesItsOwnPages) {
  ASSERT_TRUE(space_->map(kAt, kHugePageSize, kProtRead | kProtWrite, false, true));
  stamp(kAt, kHugePageSize);
  ASSERT_TRUE(space_->protect(kAt, kHugePageSize, kProtRead));
  auto child = space_->copy(kernel_area_ranges());
  ASSERT_TRUE(child);
  ASSERT_TRUE(child->protect(kAt, kHugePageSize, kProtRead | kProtWrite));
  stamp_in(*child, kAt, 77);
  EXPECT_EQ(get(*space_, kAt + 8), kAt) << "the parent's page is untouched";
  expect_stamped(*child, kAt, kHugePageSize, kAt);
}

TEST_F(HugePageTest, MoveAndDiscardKeepThePagesTheyDoNotTouch) {
  ASSERT_TRUE(space_->map(kAt, kHugePageSize, kProtRead | kProtWrite, false, true));
  stamp(kAt, kHugePageSize);
  // MADV_DONTNEED of one page: that page reads as zero, the rest keep their contents.
  const std::uint64_t dropped = kAt + 9 * kPageSize;
  ASSERT_TRUE(space_->discard(dropped, kPageSize));
  EXPECT_EQ(get(*space_, dropped + 8), 0u);
  expect_stamped(*space_, kAt, kHugePageSize, dropped);
  // mremap to an unaligned target.
  const std::uint64_t to = 0x50001000;
  const std::uint64_t frame = frame_of(kAt);
  ASSERT_TRUE(space_->move(kAt, kHugePageSize, to));
  EXPECT_FALSE(space_->is_mapped(kAt));
  EXPECT_EQ(frame_of(to), frame) << "moved, not copied";
  for (std::uint64_t p = 0; p < kHugePageSize; p += kPageSize) {
    if (kAt + p != dropped) {
      ASSERT_EQ(get(*space_, to + p + 8), kAt + p);
    }
  }
}

TEST_F(HugePageTest, AFailedMapLeavesNothingAndSmallFramesAreUsedOnceHugeOnesRunOut) {
  const std::uint64_t free_before = frames_->free_frames();
  auto too_big = space_->map(kAt, 40 << 20, kProtRead | kProtWrite, false, true);
  ASSERT_FALSE(too_big);
  EXPECT_EQ(too_big.error(), ENOMEM);
  // As many pages as there are free frames: huge pages first, then small ones until the page
  // tables' own frames are missing. Nothing is left of it but two tables (its directory and a
  // page table).
  auto nearly = space_->map(kAt, free_before * kPageSize, kProtRead | kProtWrite, false, true);
  ASSERT_FALSE(nearly);
  EXPECT_EQ(nearly.error(), ENOMEM);
  EXPECT_EQ(space_->mapped_bytes(), 0u);
  EXPECT_FALSE(space_->is_mapped(kAt));
  EXPECT_LE(free_before - frames_->free_frames(), 2u);
  // Huge frames come only from memory never handed out: with it used up, a mapping gets small
  // pages from the frames freed, and works the same.
  ASSERT_TRUE(space_->map(kAt, kHugePageSize, kProtRead | kProtWrite, false, true));
  EXPECT_FALSE(huge_at(*space_, kAt));
  stamp(kAt, kHugePageSize);
  expect_stamped(*space_, kAt, kHugePageSize);
}

TEST_F(HugePageTest, SharedSparseAndMemfdMemoryStayInSmallPages) {
  ASSERT_TRUE(space_->map(kAt, kHugePageSize, kProtRead | kProtWrite, /*shared=*/true, true));
  EXPECT_FALSE(huge_at(*space_, kAt));
  // Memory the workload may touch sparsely (a stack, MAP_NORESERVE): one touched byte of a huge
  // page would back 2 MiB on the host.
  ASSERT_TRUE(space_->map(kAt + kHugePageSize, kHugePageSize, kProtRead | kProtWrite));
  EXPECT_FALSE(huge_at(*space_, kAt + kHugePageSize));
  // Nor a reservation made readable only (no populate follows).
  ASSERT_TRUE(space_->map(kAt + 2 * kHugePageSize, kHugePageSize, 0));
  ASSERT_TRUE(space_->protect(kAt + 2 * kHugePageSize, kHugePageSize, kProtRead));
  EXPECT_FALSE(huge_at(*space_, kAt + 2 * kHugePageSize));
  EXPECT_TRUE(space_->translate(kAt + 2 * kHugePageSize, Access::read));
  make(GuestMemory::Backing::memfd);  // the ptrace platform maps frames itself, page by page
  ASSERT_TRUE(space_->map(kAt, kHugePageSize, kProtRead | kProtWrite, false, true));
  EXPECT_FALSE(huge_at(*space_, kAt));
}

TEST_F(HugePageTest, FindFreeAlignsTwoMebibytesAndMore) {
  ASSERT_TRUE(space_->map(AddressSpace::kMmapTop - 3 * kPageSize, 3 * kPageSize, kProtRead));
  auto big = space_->find_free(kHugePageSize + kPageSize);
  ASSERT_TRUE(big);
  EXPECT_EQ(*big % kHugePageSize, 0u);
  EXPECT_LE(*big + kHugePageSize + kPageSize, AddressSpace::kMmapTop - 3 * kPageSize);
  auto small = space_->find_free(kPageSize);
  ASSERT_TRUE(small);
  EXPECT_EQ(*small, AddressSpace::kMmapTop - 4 * kPageSize) << "small ones stay packed";
}

// A reservation (private PROT_NONE: a JVM's or V8's heap, Go's arenas) costs one directory entry
// per 2 MiB and no frame, in guest memory of any kind: 64 GiB of it in 32 MiB of guest memory.
TEST_F(HugePageTest, ReservationsCostOneEntryPer2MiBAndNoFrames) {
  for (auto backing : {GuestMemory::Backing::anonymous, GuestMemory::Backing::memfd}) {
    make(backing);
    const std::uint64_t free_before = frames_->free_frames();
    const std::uint64_t big = 64ull << 30, at = 1ull << 40;
    ASSERT_TRUE(space_->map(at, big, 0));
    EXPECT_TRUE(huge_at(*space_, at));
    EXPECT_EQ(space_->mapped_bytes(), big);
    EXPECT_TRUE(space_->is_mapped(at + big - kPageSize));
    EXPECT_EQ(space_->translate(at + 12345, Access::read).error(), EFAULT);
    // A page directory per GiB (64) and a directory-pointer table: nothing per page.
    EXPECT_LE(free_before - frames_->free_frames(), 66u);
    EXPECT_EQ(space_->mappings().size(), 1u);
    // Part of it made accessible, across a 2 MiB boundary: frames for those pages only.
    const std::uint64_t part = at + 5 * kHugePageSize - 3 * kPageSize,
                        part_length = kHugePageSize + 6 * kPageSize;
    const std::uint64_t free_reserved = frames_->free_frames();
    ASSERT_TRUE(space_->protect(part, part_length, kProtRead | kProtWrite));
    stamp(part, part_length);
    expect_stamped(*space_, part, part_length);
    EXPECT_EQ(space_->translate(part - kPageSize, Access::read).error(), EFAULT);
    EXPECT_EQ(space_->translate(part + part_length, Access::read).error(), EFAULT);
    // (and up to three page tables: the edges', and the middle's where no huge page is made)
    EXPECT_LE(free_reserved - frames_->free_frames(), part_length / kPageSize + 3);
    EXPECT_EQ(space_->mappings().size(), 3u);
    // fork: the reservation is copied as entries, the accessible part with its contents.
    const std::uint64_t free_forked = frames_->free_frames();
    {
      auto child = space_->copy(kernel_area_ranges());
      ASSERT_TRUE(child);
      EXPECT_EQ(child->mapped_bytes(), big);
      expect_stamped(*child, part, part_length);
      EXPECT_EQ(child->translate(at, Access::read).error(), EFAULT);
    }
    EXPECT_EQ(frames_->free_frames(), free_forked);
    // munmap of a hole in the middle, and of the rest: every frame comes back.
    ASSERT_TRUE(space_->unmap(at + (1ull << 30) + kPageSize, 1ull << 30));
    EXPECT_FALSE(space_->is_mapped(at + (1ull << 30) + 2 * kPageSize));
    EXPECT_TRUE(space_->is_mapped(at + (1ull << 30)));
    ASSERT_TRUE(space_->unmap(at, big));
    EXPECT_EQ(space_->mapped_bytes(), 0u);
    EXPECT_LE(free_before - frames_->free_frames(), 70u) << "only page tables are kept";
  }
}

TEST_F(HugePageTest, AReservationMadeAccessibleWholeBecomesAHugePage) {
  ASSERT_TRUE(space_->map(kAt, 2 * kHugePageSize, 0));
  ASSERT_TRUE(space_->protect(kAt, kHugePageSize, kProtRead | kProtWrite));
  EXPECT_TRUE(huge_at(*space_, kAt));
  EXPECT_NE(directory_entry(*space_, kAt) & x86::kPteAddressMask, 0u);
  stamp(kAt, kHugePageSize);
  expect_stamped(*space_, kAt, kHugePageSize);
  EXPECT_EQ(space_->translate(kAt + kHugePageSize, Access::read).error(), EFAULT)
      << "the rest stays reserved";
  // More than memory can back: ENOMEM, nothing changed.
  ASSERT_TRUE(space_->map(1ull << 40, 1ull << 30, 0));
  EXPECT_EQ(space_->protect(1ull << 40, 1ull << 30, kProtRead).error(), ENOMEM);
  EXPECT_EQ(space_->translate(1ull << 40, Access::read).error(), EFAULT);
}

}  // namespace
}  // namespace spectrum::vm
