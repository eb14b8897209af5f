// Internal to the address space's two files (address_space.cc, page_tables.cc): what a page-table
// entry means, and the walks over mapped ranges. Not part of memory.h's interface.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <expected>
#include <vector>

#include "vm/memory.h"

namespace spectrum::vm {

// Allocates a frame or returns its errno from the enclosing GuestResult function.
#define SPECTRUM_GUEST_TRY_FRAME(allocation)                           \
  ({                                                                   \
    auto frame_result_ = (allocation);                                 \
    if (!frame_result_) return std::unexpected(frame_result_.error()); \
    *frame_result_;                                                    \
  })

namespace page_walk {

using namespace x86;

constexpr bool page_aligned(std::uint64_t v) { return (v & kPageMask) == 0; }
// The frame of a reserved page (private PROT_NONE, never accessible yet): none. Frame 0 is the
// kernel area's, never a user page's.
inline constexpr std::uint64_t kNoFrame = 0;
constexpr unsigned index_at(std::uint64_t vaddr, int level) {  // level 3 = PML4 ... 0 = PT
  return static_cast<unsigned>((vaddr >> (12 + 9 * level)) & 511);
}
// Every address a walk may see: canonical and in the lower half. The walk indexes the tables with
// bits 12-47 only, so X + 2^48 would walk the same entries as X; it must never get that far.
constexpr bool walkable(std::uint64_t vaddr) { return vaddr < (1ull << 47); }
// A user range: aligned, non-empty, inside [kUserLowest, kUserEnd) without wrapping. The start is
// checked on its own first, so a start above kUserEnd cannot underflow the length check.
inline GuestResult<void> check_user_range(std::uint64_t start, std::uint64_t length) {
  if (!page_aligned(start) || length == 0) return std::unexpected(EINVAL);
  if (start < AddressSpace::kUserLowest || start >= AddressSpace::kUserEnd ||
      length > AddressSpace::kUserEnd - start)
    return std::unexpected(ENOMEM);
  return {};
}
constexpr bool user_page(std::uint64_t vaddr) {
  return vaddr >= AddressSpace::kUserLowest && vaddr < AddressSpace::kUserEnd;
}
// A page-directory entry that maps a huge page: present, or kept while PROT_NONE; or 2 MiB of a
// reservation (PROT_NONE, no frames: frame kNoFrame).
constexpr bool is_huge(std::uint64_t pde) {
  return (pde & kPteLarge) && (pde & (kPtePresent | kPteProtNone));
}
constexpr bool is_reservation(std::uint64_t entry) { return (entry & kPteAddressMask) == kNoFrame; }
// The leaf entry a 4 KiB page inside the huge page of `pde` would have: its frame (none in a
// reservation), the same flags.
constexpr std::uint64_t huge_part(std::uint64_t pde, std::uint64_t vaddr) {
  const std::uint64_t frame =
      is_reservation(pde) ? kNoFrame : (pde & kPteAddressMask) + (vaddr & kHugePageMask & ~kPageMask);
  return frame | (pde & ~kPteAddressMask & ~kPteLarge);
}
constexpr std::uint64_t huge_down(std::uint64_t vaddr) { return vaddr & ~kHugePageMask; }
// Appends the frames of the `pages` pages mapped from `entry` on (a huge page's are contiguous).
inline void append_frames(std::vector<std::uint64_t>& out, std::uint64_t entry, std::uint64_t pages) {
  for (std::uint64_t i = 0; i < pages; ++i) out.push_back((entry & kPteAddressMask) + i * kPageSize);
}

}  // namespace page_walk

template <class F>
void AddressSpace::for_each_entry(std::uint64_t from, std::uint64_t to, F&& f) const {
  using namespace page_walk;
  for (std::uint64_t page = from; page < to;) {
    const std::uint64_t* pde = find_directory_entry(page);
    const std::uint64_t next_directory_entry = huge_down(page) + kHugePageSize;
    if (pde && is_huge(*pde) && page == huge_down(page) && to - page >= kHugePageSize) {
      f(page, huge_part(*pde, page), kPagesPerHugePage);
      page = next_directory_entry;
    } else if (!pde || !(*pde & (kPtePresent | kPteProtNone))) {
      page = next_directory_entry;  // no page table here: nothing mapped up to the next entry
    } else {
      if (const std::uint64_t e = lookup(page); e & (kPtePresent | kPteProtNone)) f(page, e, 1);
      page += kPageSize;
    }
  }
}

// The regions overlapping [start, end), in address order, as (from, to) clipped to the range.
// Every walk over a guest-chosen range goes through the regions: its length is bounded by what is
// mapped (guest memory), never by the range the guest named.
template <class F>
void AddressSpace::for_each_mapped(std::uint64_t start, std::uint64_t end, F&& f) const {
  auto it = regions_.upper_bound(start);
  if (it != regions_.begin()) --it;
  for (; it != regions_.end() && it->first < end; ++it) {
    if (it->second <= start) continue;
    f(std::max(it->first, start), std::min(it->second, end));
  }
}

}  // namespace spectrum::vm
