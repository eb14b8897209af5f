// The page tables themselves: walking them from CR3, making and splitting their entries, huge pages
// (2 MiB page-directory leaves) and reservations (2 MiB entries without frames), and reading a
// page's entry whatever maps it. address_space.cc builds the mapping operations on these.
#include <algorithm>
#include <cerrno>
#include <utility>

#include "vm/memory.h"
#include "vm/page_table_walk.h"

namespace spectrum::vm {

using namespace x86;
using namespace page_walk;

std::uint64_t* AddressSpace::table(std::uint64_t gpa) const {
  return reinterpret_cast<std::uint64_t*>(memory_->at(gpa, kPageSize));
}

std::uint64_t* AddressSpace::find_directory_entry(std::uint64_t vaddr) const {
  if (!walkable(vaddr)) return nullptr;
  std::uint64_t table_gpa = pml4_;
  for (int level = 3; level > 1; --level) {
    std::uint64_t* t = table(table_gpa);
    if (!t) return nullptr;
    std::uint64_t e = t[index_at(vaddr, level)];
    if (!(e & kPtePresent)) return nullptr;
    table_gpa = e & kPteAddressMask;
  }
  std::uint64_t* pd = table(table_gpa);
  return pd ? &pd[index_at(vaddr, 1)] : nullptr;
}

std::uint64_t* AddressSpace::find_leaf(std::uint64_t vaddr) const {
  const std::uint64_t* pde = find_directory_entry(vaddr);
  if (!pde || !(*pde & kPtePresent) || (*pde & kPteLarge)) return nullptr;
  std::uint64_t* pt = table(*pde & kPteAddressMask);
  return pt ? &pt[index_at(vaddr, 0)] : nullptr;
}

std::uint64_t AddressSpace::lookup(std::uint64_t vaddr) const {
  const std::uint64_t* pde = find_directory_entry(vaddr);
  if (pde && is_huge(*pde)) return huge_part(*pde, vaddr);
  const std::uint64_t* pte = find_leaf(vaddr);
  return pte ? *pte : 0;
}

GuestResult<std::uint64_t*> AddressSpace::entry_at(std::uint64_t vaddr, int level, std::uint64_t user_bit) {
  if (!walkable(vaddr)) return std::unexpected(EFAULT);
  // A user leaf is never made in the kernel area, whatever the caller checked.
  if (user_bit && !user_page(vaddr)) return std::unexpected(EFAULT);
  std::uint64_t table_gpa = pml4_;
  for (int at = 3; at > level; --at) {
    std::uint64_t* t = table(table_gpa);
    if (!t) return std::unexpected(EFAULT);
    std::uint64_t& e = t[index_at(vaddr, at)];
    if (at == 1 && is_huge(e))
      if (auto split = split_huge_page(e); !split) return std::unexpected(split.error());
    if (!(e & kPtePresent)) {
      std::uint64_t frame = SPECTRUM_GUEST_TRY_FRAME(frames_->allocate_table());
      table_frames_.push_back(frame);
      // Permissions are decided at the leaf; upper levels allow everything the leaf may.
      e = frame | kPtePresent | kPteWritable | user_bit;
    }
    e |= user_bit;
    table_gpa = e & kPteAddressMask;
  }
  std::uint64_t* t = table(table_gpa);
  if (!t) return std::unexpected(EFAULT);
  return &t[index_at(vaddr, level)];
}

GuestResult<std::uint64_t*> AddressSpace::leaf(std::uint64_t vaddr) { return entry_at(vaddr, 0, kPteUser); }

// The same translations, one page table of 512 entries instead: the hypervisor's 2 MiB
// translation stays right until an entry loses a right, which goes through the frames' host pages
// as for any page (forget_translations, discard).
GuestResult<void> AddressSpace::split_huge_page(std::uint64_t& pde) {
  const std::uint64_t table_frame = SPECTRUM_GUEST_TRY_FRAME(frames_->allocate_table());
  table_frames_.push_back(table_frame);
  std::uint64_t* t = table(table_frame);
  for (std::uint64_t i = 0; i < kPagesPerHugePage; ++i) t[i] = huge_part(pde, i * kPageSize);
  pde = table_frame | kPtePresent | kPteWritable | kPteUser;
  return {};
}

GuestResult<void> AddressSpace::split_huge_pages(std::uint64_t start, std::uint64_t end, bool edges_only) {
  GuestResult<void> result;
  for_each_mapped(start, end, [&](std::uint64_t from, std::uint64_t to) {
    for (std::uint64_t at = huge_down(from); result && at < to; at += kHugePageSize) {
      const bool whole = at >= start && at + kHugePageSize <= end;
      if (edges_only && whole) continue;
      if (std::uint64_t* pde = find_directory_entry(at); pde && is_huge(*pde)) result = split_huge_page(*pde);
    }
  });
  return result;
}

GuestResult<bool> AddressSpace::map_huge_page(std::uint64_t vaddr, std::uint64_t flags, bool reservation) {
  auto pde = entry_at(vaddr, 1, kPteUser);
  if (!pde || **pde) return false;  // no table for it, or a page table already there
  std::uint64_t frame = kNoFrame;
  if (!reservation) {
    auto huge = frames_->allocate_huge();
    if (!huge) return false;
    frame = *huge;
  }
  **pde = frame | flags | kPteLarge;
  return true;
}

void AddressSpace::clear_entries(std::uint64_t from, std::uint64_t to, std::vector<std::uint64_t>& freed) {
  for (std::uint64_t page = from; page < to;) {
    if (std::uint64_t* pde = find_directory_entry(page); pde && is_huge(*pde)) {  // whole: split before
      if (!is_reservation(*pde)) append_frames(freed, *pde, kPagesPerHugePage);
      *pde = 0;
      mapped_pages_ -= kPagesPerHugePage;
      page = huge_down(page) + kHugePageSize;
      continue;
    }
    if (std::uint64_t* pte = find_leaf(page); pte && (*pte & (kPtePresent | kPteProtNone))) {
      if ((*pte & kPteAddressMask) != kNoFrame) freed.push_back(*pte & kPteAddressMask);
      *pte = 0;
      --mapped_pages_;
    }
    page += kPageSize;
  }
}

std::vector<AddressSpace::FrameRun> AddressSpace::frame_runs(std::uint64_t from, std::uint64_t to) const {
  std::vector<FrameRun> out;
  for_each_mapped(from, to, [&](std::uint64_t start, std::uint64_t end) {
    for_each_entry(start, end, [&](std::uint64_t page, std::uint64_t pte, std::uint64_t pages) {
      const std::uint64_t gpa = pte & kPteAddressMask;
      const bool copy_on_write = pte & kPteCopyOnWrite;
      if (!out.empty()) {
        FrameRun& last = out.back();
        if (last.start + last.length == page && (gpa == 0) == (last.gpa == 0) &&
            (gpa == 0 || last.gpa + last.length == gpa) && last.copy_on_write == copy_on_write) {
          last.length += pages * kPageSize;
          return;
        }
      }
      out.push_back({page, gpa, pages * kPageSize, copy_on_write});
    });
  });
  return out;
}

bool AddressSpace::is_mapped(std::uint64_t page) const {
  if (!user_page(page)) return false;  // the kernel area is never the workload's
  return lookup(page) & (kPtePresent | kPteProtNone);
}

std::uint64_t AddressSpace::entry(std::uint64_t vaddr) const { return lookup(vaddr & ~kPageMask); }

GuestResult<std::uint64_t> AddressSpace::translate(std::uint64_t vaddr, Access access) const {
  if (!user_page(vaddr)) return std::unexpected(EFAULT);
  std::uint64_t pte = lookup(vaddr & ~kPageMask);
  if (!(pte & kPtePresent) || !(pte & kPteUser)) return std::unexpected(EFAULT);
  if (access == Access::write && !(pte & kPteWritable)) {
    // A copy-on-write page becomes the process's own before the monitor writes it for the process
    // (a read(2) into it, a signal frame), as the process's own write would.
    if (!(pte & kPteCopyOnWrite)) return std::unexpected(EFAULT);
    // (own_page changes the tables, not what the process's memory reads: translate stays const.)
    if (auto owned = const_cast<AddressSpace*>(this)->own_page(vaddr); !owned || !*owned)
      return std::unexpected(owned ? EFAULT : owned.error());
    pte = lookup(vaddr & ~kPageMask);
  }
  return (pte & kPteAddressMask) | (vaddr & kPageMask);
}

}  // namespace spectrum::vm
