// The workload's address spaces: what map, unmap, protect, move, fork's copy and the guest-pointer
// copies do to the page tables the monitor owns over guest memory (memory.h); the tables' own
// walking, huge pages and reservations are page_tables.cc.
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "vm/memory.h"
#include "vm/page_table_walk.h"

namespace spectrum::vm {

using namespace x86;
using namespace page_walk;

std::uint64_t user_pte_flags(unsigned prot) {
  if ((prot & (kProtRead | kProtWrite | kProtExec)) == 0) return kPteProtNone;
  std::uint64_t flags = kPtePresent | kPteUser | kPteAccessed;
  if (prot & kProtWrite) flags |= kPteWritable | kPteDirty;
  if (!(prot & kProtExec)) flags |= kPteNoExecute;
  return flags;
}

unsigned user_prot(std::uint64_t pte) {
  if (pte & kPteProtNone) return 0;
  return kProtRead | ((pte & (kPteWritable | kPteCopyOnWrite)) ? unsigned{kProtWrite} : 0u) |
         ((pte & kPteNoExecute) ? 0u : unsigned{kProtExec});
}

GuestResult<AddressSpace> AddressSpace::create(GuestMemory& memory, FrameAllocator& frames,
                                               std::span<const KernelRange> kernel) {
  AddressSpace space(memory, frames);
  space.pml4_ = SPECTRUM_GUEST_TRY_FRAME(frames.allocate_table());
  space.table_frames_.push_back(space.pml4_);
  for (const KernelRange& range : kernel) {
    if (!page_aligned(range.start) || range.end > kUserLowest || range.start >= range.end)
      return std::unexpected(EINVAL);
    for (std::uint64_t page = range.start; page < range.end; page += kPageSize) {
      std::uint64_t* pte = nullptr;
      if (auto leaf = space.entry_at(page, 0, 0); leaf)
        pte = *leaf;
      else
        return std::unexpected(leaf.error());
      *pte =
          page | kPtePresent | (range.writable ? kPteWritable : 0) | (range.executable ? 0 : kPteNoExecute);
    }
  }
  return space;
}

AddressSpace::AddressSpace(AddressSpace&& o) noexcept
    : memory_(o.memory_),
      frames_(o.frames_),
      pml4_(o.pml4_),
      mapped_pages_(o.mapped_pages_),
      regions_(std::move(o.regions_)),
      changes_(std::move(o.changes_)),
      table_frames_(std::move(o.table_frames_)),
      release_(std::exchange(o.release_, false)) {
  o.regions_.clear();
  o.table_frames_.clear();
}

AddressSpace::~AddressSpace() {
  if (frames_) frames_->space_ended(this);
  if (!release_) return;
  std::vector<std::uint64_t> frames = std::move(table_frames_);
  for (const auto& [start, end] : regions_)
    for_each_entry(start, end, [&](std::uint64_t, std::uint64_t entry, std::uint64_t pages) {
      if (!is_reservation(entry)) append_frames(frames, entry, pages);
    });
  frames_->release(std::move(frames));
}

GuestResult<AddressSpace> AddressSpace::fresh(std::span<const KernelRange> kernel) const {
  auto made = create(*memory_, *frames_, kernel);
  if (!made) return made;
  AddressSpace out(std::move(*made));
  out.release_ = true;
  return out;
}

GuestResult<AddressSpace> AddressSpace::copy(std::span<const KernelRange> kernel) {
  // (Frames run out cleanly: the copy gives back what it took.)
  auto made = create(*memory_, *frames_, kernel);
  if (!made) return made;
  AddressSpace out(std::move(*made));
  out.release_ = true;  // a failure below gives back whatever was allocated
  // One page of the copy, from its entry here (`from`, a 4 KiB leaf's value), sharing its frame:
  // a page that neither process can write (text, read-only data, PROT_NONE) as it is, protect()
  // giving a holder its own copy before it becomes writable; a writable private one copy-on-write
  // in both processes (own_page copies it at the first write); shared memory as shared memory.
  // discard gives a holder of a private page its own zero page.
  WriteProtected write_protected;
  const auto copy_page = [&](std::uint64_t page, std::uint64_t& from) -> GuestResult<void> {
    if (!(from & (kPtePresent | kPteProtNone))) return {};
    auto to = out.leaf(page);
    if (!to || !*to) return std::unexpected(to ? ENOMEM : to.error());
    const std::uint64_t frame = from & kPteAddressMask;
    if (frame != kNoFrame) {  // (a reservation's page has none)
      frames_->share(frame);  // before the copy holds it: its destructor releases it
      if (!(from & kPteShared) && (from & kPteWritable)) {
        from = (from & ~kPteWritable) | kPteCopyOnWrite;
        write_protected.frames.push_back(frame);
        write_protected.add(page, kPageSize, user_prot(from));
      }
    }
    **to = from;
    ++out.mapped_pages_;
    return {};
  };
  // A huge page (private memory) is shared whole, its 512 frames one more holder each, and
  // copy-on-write in both where writable: own_page makes it writable again where no other holder
  // is left, else splits it and copies the written 4 KiB. A reservation's entry is copied.
  const auto copy_huge_page = [&](std::uint64_t page, std::uint64_t& pde) -> GuestResult<void> {
    if (is_reservation(pde)) {
      auto placed = out.map_huge_page(page, pde & ~kPteAddressMask & ~kPteLarge, true);
      if (!placed || !*placed) return std::unexpected(placed ? ENOMEM : placed.error());
      out.mapped_pages_ += kPagesPerHugePage;
      return {};
    }
    auto to = out.entry_at(page, 1, kPteUser);
    if (!to) return std::unexpected(to.error());
    if (**to) return std::unexpected(ENOMEM);  // (the copy is empty: never)
    const std::uint64_t first = pde & kPteAddressMask;
    for (std::uint64_t i = 0; i < kPagesPerHugePage; ++i) frames_->share(first + i * kPageSize);
    if (pde & kPteWritable) {
      pde = (pde & ~kPteWritable) | kPteCopyOnWrite;
      append_frames(write_protected.frames, pde, kPagesPerHugePage);
      write_protected.add(page, kHugePageSize, user_prot(pde));
    }
    **to = pde;
    out.mapped_pages_ += kPagesPerHugePage;
    return {};
  };
  const auto copy_all = [&]() -> GuestResult<void> {
    for (const auto& [start, end] : regions_) {
      for (std::uint64_t page = start; page < end;) {
        if (std::uint64_t* pde = find_directory_entry(page); pde && is_huge(*pde)) {
          if (auto done = copy_huge_page(page, *pde); !done) return done;
          page += kHugePageSize;  // a huge page lies whole in one region, from its boundary
          continue;
        }
        if (std::uint64_t* from = find_leaf(page))
          if (auto done = copy_page(page, *from); !done) return done;
        page += kPageSize;
      }
    }
    return {};
  };
  const auto copied = copy_all();
  // This process writes those pages no more without a fault (also after a failed copy, whose
  // destructor gives the frames back but leaves them copy-on-write here).
  forget_write_rights(write_protected);
  if (!copied) return std::unexpected(copied.error());
  out.regions_ = regions_;
  return out;
}

void AddressSpace::WriteProtected::add(std::uint64_t start, std::uint64_t length, unsigned prot) {
  if (!ranges.empty() && ranges.back().start + ranges.back().length == start && ranges.back().prot == prot)
    ranges.back().length += length;
  else
    ranges.push_back({Change::Kind::map, start, length, prot});
}

void AddressSpace::forget_write_rights(WriteProtected& protected_pages) {
  if (protected_pages.frames.empty()) return;
  std::sort(protected_pages.frames.begin(), protected_pages.frames.end());
  for_each_run(protected_pages.frames,
               [&](std::uint64_t first, std::uint64_t bytes) { memory_->forget_translations(first, bytes); });
  for (const Change& c : protected_pages.ranges) record(Change::Kind::map, c.start, c.length, c.prot);
}

bool AddressSpace::frame_shared_by_fork(std::uint64_t vaddr, std::uint64_t gpa) const {
  return !(lookup(vaddr) & kPteShared) && frames_->held_by_others(gpa & kPteAddressMask);
}

GuestResult<std::uint64_t> AddressSpace::frame_of_own(std::uint64_t frame, bool copy_contents) {
  auto own = frames_->allocate();
  if (!own) return std::unexpected(own.error());
  // (A frame handed out reads zero: freed frames are discarded.)
  if (copy_contents) std::memcpy(memory_->at(*own, kPageSize), memory_->at(frame, kPageSize), kPageSize);
  frames_->release(frame);
  return *own;
}

bool AddressSpace::huge_page_shared(std::uint64_t pde) const {
  const std::uint64_t first = pde & kPteAddressMask;
  for (std::uint64_t i = 0; i < kPagesPerHugePage; ++i)
    if (frames_->held_by_others(first + i * kPageSize)) return true;
  return false;
}

GuestResult<bool> AddressSpace::own_page(std::uint64_t vaddr) {
  if (!user_page(vaddr)) return false;
  if (std::uint64_t* pde = find_directory_entry(vaddr & ~kPageMask); pde && is_huge(*pde)) {
    if (!(*pde & kPtePresent) || !(*pde & kPteCopyOnWrite)) return false;
    if (!huge_page_shared(*pde)) {  // every frame this space's alone: writable again, whole
      *pde = (*pde & ~kPteCopyOnWrite) | kPteWritable | kPteDirty;
      record(Change::Kind::map, huge_down(vaddr), kHugePageSize, user_prot(*pde));
      return true;
    }
    // Another holder keeps frames of it: this space takes the 2 MiB as 4 KiB pages, still
    // copy-on-write, and the written one below as its own (no 2 MiB copy per write).
    if (auto split = split_huge_page(*pde); !split) return std::unexpected(split.error());
  }
  std::uint64_t* pte = find_leaf(vaddr & ~kPageMask);
  if (!pte || !(*pte & kPtePresent) || !(*pte & kPteCopyOnWrite)) return false;
  const std::uint64_t frame = *pte & kPteAddressMask;
  std::uint64_t own = frame;
  if (frames_->held_by_others(frame)) own = SPECTRUM_GUEST_TRY_FRAME(frame_of_own(frame, true));
  *pte = own | (*pte & ~kPteAddressMask & ~kPteCopyOnWrite) | kPteWritable | kPteDirty;
  record(Change::Kind::map, vaddr & ~kPageMask, kPageSize, user_prot(*pte));
  return true;
}

std::vector<AddressSpace::Change> AddressSpace::mappings() const {
  return mappings_of(kUserLowest, kUserEnd);
}

std::vector<AddressSpace::Change> AddressSpace::mappings_of(std::uint64_t from, std::uint64_t to) const {
  std::vector<Change> out;
  for_each_mapped(from, to, [&](std::uint64_t start, std::uint64_t end) {
    for_each_entry(start, end, [&](std::uint64_t page, std::uint64_t pte, std::uint64_t pages) {
      const unsigned prot = user_prot(pte);
      const bool shared = pte & kPteShared;
      if (!out.empty() && out.back().start + out.back().length == page && out.back().prot == prot &&
          out.back().shared == shared)
        out.back().length += pages * kPageSize;
      else
        out.push_back({Change::Kind::map, page, pages * kPageSize, prot, shared});
    });
  });
  return out;
}

bool AddressSpace::range_free(std::uint64_t start, std::uint64_t length) const {
  if (!check_user_range(start, x86::page_up(length))) return false;
  bool free = true;
  for_each_mapped(start, start + x86::page_up(length), [&](std::uint64_t, std::uint64_t) { free = false; });
  return free;
}

bool AddressSpace::range_mapped(std::uint64_t start, std::uint64_t length) const {
  if (!check_user_range(start, x86::page_up(length))) return false;
  std::uint64_t covered = start;
  for_each_mapped(start, start + x86::page_up(length), [&](std::uint64_t from, std::uint64_t to) {
    if (from == covered) covered = to;
  });
  return covered == start + x86::page_up(length);
}

GuestResult<void> AddressSpace::discard(std::uint64_t start, std::uint64_t length) {
  length = x86::page_up(length);
  if (auto ok = check_user_range(start, length); !ok) return ok;
  // A huge page fork shares is taken as 4 KiB pages first, so that the shared ones below get a zero
  // frame of their own instead of being zeroed.
  // (Through the regions: the range is the guest's, its length anything up to the user half.)
  GuestResult<void> split;
  for_each_mapped(start, start + length, [&](std::uint64_t from, std::uint64_t to) {
    for (std::uint64_t at = huge_down(from); split && at < to; at += kHugePageSize)
      if (std::uint64_t* pde = find_directory_entry(at);
          pde && is_huge(*pde) && !is_reservation(*pde) && huge_page_shared(*pde))
        split = split_huge_page(*pde);
  });
  if (!split) return split;
  std::vector<std::uint64_t> held;  // pages whose private frame fork shares with another process
  for_each_mapped(start, start + length, [&](std::uint64_t from, std::uint64_t to) {
    std::vector<std::uint64_t> frames;
    for_each_entry(from, to, [&](std::uint64_t page, std::uint64_t pte, std::uint64_t pages) {
      if ((pte & kPteShared) || is_reservation(pte)) return;
      if (pages == 1 && frames_->held_by_others(pte & kPteAddressMask))
        held.push_back(page);
      else
        append_frames(frames, pte, pages);
    });
    std::sort(frames.begin(), frames.end());
    for_each_run(frames, [&](std::uint64_t first, std::uint64_t bytes) { memory_->discard(first, bytes); });
  });
  // Zeroing those would zero the other holders' page: this space reads zero from a frame of its own.
  for (const std::uint64_t page : held) {
    std::uint64_t* pte = find_leaf(page);
    auto zero = frame_of_own(*pte & kPteAddressMask, false);
    if (!zero) return std::unexpected(zero.error());
    *pte = *zero | (*pte & ~kPteAddressMask);
    if (*pte & kPteCopyOnWrite) *pte = (*pte & ~kPteCopyOnWrite) | kPteWritable | kPteDirty;
    record(Change::Kind::map, page, kPageSize, user_prot(*pte));
  }
  return {};
}

GuestResult<void> AddressSpace::map(std::uint64_t start, std::uint64_t length, unsigned prot, bool shared,
                                    bool huge_pages) {
  length = x86::page_up(length);
  if (auto ok = check_user_range(start, length); !ok) return ok;
  // Mapping over an existing mapping replaces it, as mmap(MAP_FIXED) does.
  if (auto ok = unmap(start, length); !ok) return ok;
  // A private PROT_NONE mapping is a reservation (malloc's arenas, Go's and the JVM's heaps): its
  // pages get frames only when mprotect makes them accessible, as Linux commits none for it.
  const bool reservation = !shared && (prot & (kProtRead | kProtWrite | kProtExec)) == 0;
  // More pages than free frames fails at once, not after a loop as long as the request.
  if (!reservation && length / kPageSize > frames_->free_frames()) return std::unexpected(ENOMEM);
  // Private memory in huge pages where whole ones fit: a hypervisor's first touch then maps 2 MiB
  // at once. Not over a memfd, whose platform (ptrace) maps the frames page by page itself.
  // A reservation's 2 MiB entries need no frames and no hardware: any platform, any memory.
  const bool huge = reservation || (huge_pages && !shared && memory_->fd() < 0);
  return install(start, length, prot, user_pte_flags(prot) | (shared ? kPteShared : 0), huge,
                 [&](std::uint64_t) {
                   return reservation ? GuestResult<std::uint64_t>(kNoFrame) : frames_->allocate();
                 });
}

GuestResult<void> AddressSpace::map_frames(std::uint64_t start, std::span<const std::uint64_t> frames,
                                           unsigned prot, bool may_write) {
  const std::uint64_t length = frames.size() * kPageSize;
  if (auto ok = check_user_range(start, length); !ok) return ok;
  if ((prot & kProtWrite) && !may_write) return std::unexpected(EACCES);
  if (auto ok = unmap(start, length); !ok) return ok;
  const std::uint64_t flags = user_pte_flags(prot) | kPteShared | (may_write ? 0 : kPteNeverWritable);
  return install(start, length, prot, flags, false, [&](std::uint64_t i) {
    frames_->share(frames[i]);  // one more holder: this mapping
    return GuestResult<std::uint64_t>(frames[i]);
  });
}

template <class FrameOf>
GuestResult<void> AddressSpace::install(std::uint64_t start, std::uint64_t length, unsigned prot,
                                        std::uint64_t flags, bool huge, FrameOf&& frame_of) {
  const std::uint64_t end = start + length;
  for (std::uint64_t page = start; page < end;) {
    if (huge && (page & kHugePageMask) == 0 && end - page >= kHugePageSize) {
      if (auto placed = map_huge_page(page, flags, (flags & kPtePresent) == 0); placed && *placed) {
        mapped_pages_ += kPagesPerHugePage;
        page += kHugePageSize;
        continue;
      }
    }
    auto frame = frame_of((page - start) / kPageSize);
    auto pte = frame ? leaf(page) : GuestResult<std::uint64_t*>(std::unexpected(ENOMEM));
    if (!frame || !pte) {
      if (frame && *frame != kNoFrame) frames_->release(*frame);
      std::vector<std::uint64_t> freed;  // what was made, not yet in regions_
      clear_entries(start, page, freed);
      frames_->release(std::move(freed));
      return std::unexpected(ENOMEM);
    }
    **pte = *frame | flags;
    ++mapped_pages_;
    page += kPageSize;
  }
  record(Change::Kind::map, start, length, prot);
  add_region(start, start + length);
  return {};
}

void AddressSpace::add_region(std::uint64_t start, std::uint64_t end) {
  // Merged with touching neighbours.
  auto next = regions_.lower_bound(start);
  if (next != regions_.end() && next->first == end) {
    end = next->second;
    next = regions_.erase(next);
  }
  if (next != regions_.begin()) {
    auto prev = std::prev(next);
    if (prev->second == start) {
      prev->second = end;
      return;
    }
  }
  regions_[start] = end;
}

GuestResult<void> AddressSpace::move(std::uint64_t from, std::uint64_t length, std::uint64_t to) {
  length = x86::page_up(length);
  if (auto ok = check_user_range(from, length); !ok) return ok;
  if (auto ok = check_user_range(to, length); !ok) return ok;
  if (!range_free(to, length)) return std::unexpected(EINVAL);
  // Page by page, from page tables: the move keeps no huge page (it could not where `to` is not
  // aligned as `from` is).
  if (auto split = split_huge_pages(from, from + length, false); !split) return split;
  // Every target table first: a move that fails half-way would lose pages.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> pages;  // (offset, entry)
  for_each_mapped(from, from + length, [&](std::uint64_t begin, std::uint64_t end) {
    for (std::uint64_t page = begin; page < end; page += kPageSize)
      if (const std::uint64_t* pte = find_leaf(page); pte && (*pte & (kPtePresent | kPteProtNone)))
        pages.emplace_back(page - from, *pte);
  });
  for (const auto& [offset, entry] : pages)
    if (auto made = leaf(to + offset); !made || !*made) return std::unexpected(ENOMEM);
  std::vector<std::uint64_t> frames;
  for (const auto& [offset, entry] : pages) {
    *find_leaf(from + offset) = 0;
    *find_leaf(to + offset) = entry;
    add_region(to + offset, to + offset + kPageSize);
    if ((entry & kPteAddressMask) != kNoFrame) frames.push_back(entry & kPteAddressMask);
  }
  // The old range's entries are clear, so this unmap frees nothing: it drops the regions and
  // records the change. The hypervisor must forget the frames' old addresses.
  (void)unmap(from, length);
  std::sort(frames.begin(), frames.end());
  for_each_run(frames,
               [&](std::uint64_t first, std::uint64_t bytes) { memory_->forget_translations(first, bytes); });
  for (const Change& run : mappings_of(to, to + length))
    record(Change::Kind::map, run.start, run.length, run.prot);
  return {};
}

GuestResult<void> AddressSpace::unmap(std::uint64_t start, std::uint64_t length) {
  length = x86::page_up(length);
  if (auto ok = check_user_range(start, length); !ok) return ok;
  const std::uint64_t end = start + length;
  // A huge page the range cuts is split first (ENOMEM, with nothing unmapped, if no table fits).
  if (auto split = split_huge_pages(start, end, true); !split) return split;
  // Only pages inside recorded regions can be mapped: walk those, not the whole range.
  std::vector<std::uint64_t> freed;
  auto it = regions_.upper_bound(start);
  if (it != regions_.begin()) --it;
  while (it != regions_.end() && it->first < end) {
    auto [region_start, region_end] = *it;
    if (region_end <= start) {
      ++it;
      continue;
    }
    const std::uint64_t from = std::max(region_start, start), to = std::min(region_end, end);
    clear_entries(from, to, freed);
    it = regions_.erase(it);
    if (region_start < from) regions_[region_start] = from;
    if (to < region_end) it = regions_.emplace(to, region_end).first, ++it;
  }
  if (!freed.empty()) frames_->release(std::move(freed));
  record(Change::Kind::unmap, start, length, 0);
  return {};
}

GuestResult<void> AddressSpace::protect(std::uint64_t start, std::uint64_t length, unsigned prot) {
  length = x86::page_up(length);
  if (auto ok = check_user_range(start, length); !ok) return ok;
  if (!range_mapped(start, length)) return std::unexpected(ENOMEM);  // as Linux: all of it mapped
  if (auto split = split_huge_pages(start, start + length, true); !split) return split;
  const std::uint64_t flags = user_pte_flags(prot);
  // The frames whose mapping loses a right: the hypervisor must not keep it (forget_translations).
  const auto rights = [](std::uint64_t pte) {
    if (!(pte & kPtePresent)) return 0u;
    return 1u | ((pte & kPteWritable) ? 2u : 0u) | ((pte & kPteNoExecute) ? 0u : 4u);
  };
  // Pages of a reservation that become accessible get their frames now: all of them, or ENOMEM
  // with nothing changed (as Linux's commit charge fails).
  std::uint64_t needed = 0;
  bool never_writable = false;
  if (prot & (kProtRead | kProtWrite | kProtExec))
    for_each_entry(start, start + length, [&](std::uint64_t, std::uint64_t entry, std::uint64_t pages) {
      never_writable |= (prot & kProtWrite) && (entry & kPteNeverWritable);
      if (is_reservation(entry)) needed += pages;
    });
  if (never_writable) return std::unexpected(EACCES);
  if (needed > frames_->free_frames()) return std::unexpected(ENOMEM);
  std::vector<std::uint64_t> narrowed;
  bool moved = false;  // a page got a frame of its own (unshared)
  for (std::uint64_t page = start; page < start + length; page += kPageSize) {
    if (std::uint64_t* pde = find_directory_entry(page); pde && is_huge(*pde)) {  // whole: split before
      const std::uint64_t before = *pde;
      std::uint64_t frame = before & kPteAddressMask;
      // 2 MiB of a reservation made writable (malloc's arenas, a JVM's heap: populated next, see
      // sys_mprotect): a huge page where one is free, else a page table of reserved entries,
      // which the pages below get frames for.
      if (needed && frame == kNoFrame && (prot & kProtWrite) && memory_->fd() < 0)
        if (auto huge = frames_->allocate_huge()) frame = *huge;
      // A huge page fork shares, made writable: split, so that the pages below get their own copy.
      const bool shared_frames = frame != kNoFrame && (flags & kPteWritable) && huge_page_shared(before);
      if ((needed && frame == kNoFrame) || shared_frames) {
        if (auto split = split_huge_page(*pde); !split) {
          if (page > start) record(Change::Kind::map, start, page - start, prot);
          return split;
        }
      } else {
        *pde = frame | kPteLarge | flags;
        if (rights(before) & ~rights(*pde)) append_frames(narrowed, before, kPagesPerHugePage);
        page += kHugePageSize - kPageSize;
        continue;
      }
    }
    std::uint64_t* pte = find_leaf(page);
    const std::uint64_t before = *pte;
    std::uint64_t frame = before & kPteAddressMask;
    // A private frame fork shared read-only (see copy) is copied before it becomes writable: the
    // other holders keep theirs, unchanged.
    const bool unshare = (flags & kPteWritable) && !(before & kPteShared) && frame != kNoFrame &&
                         frames_->held_by_others(frame);
    if ((needed && frame == kNoFrame) || unshare) {
      auto made = unshare ? frame_of_own(frame, true) : frames_->allocate();
      if (!made) {  // (a reservation's were counted above; a copy may find none)
        if (page > start) record(Change::Kind::map, start, page - start, prot);
        return std::unexpected(made.error());
      }
      moved |= unshare;
      frame = *made;
    }
    *pte = frame | (before & (kPteShared | kPteNeverWritable)) | flags;
    if (rights(before) & ~rights(*pte)) narrowed.push_back(before & kPteAddressMask);
  }
  std::sort(narrowed.begin(), narrowed.end());
  for_each_run(narrowed,
               [&](std::uint64_t first, std::uint64_t bytes) { memory_->forget_translations(first, bytes); });
  // Pages that got frames are new memory to a platform that follows the changes (ptrace's stub).
  record(needed || moved ? Change::Kind::map : Change::Kind::protect, start, length, prot);
  return {};
}

void AddressSpace::populate(std::uint64_t start, std::uint64_t length) {
  length = x86::page_up(length);
  if (!check_user_range(start, length) || memory_->fd() >= 0) return;
  std::vector<std::uint64_t> frames;
  for_each_mapped(start, start + length, [&](std::uint64_t from, std::uint64_t to) {
    for_each_entry(from, to, [&](std::uint64_t, std::uint64_t pte, std::uint64_t pages) {
      if ((pte & kPtePresent) && (pte & kPteWritable)) append_frames(frames, pte, pages);
    });
  });
  std::sort(frames.begin(), frames.end());
  for_each_run(frames, [&](std::uint64_t first, std::uint64_t bytes) { memory_->populate(first, bytes); });
}

GuestResult<std::uint64_t> AddressSpace::find_free(std::uint64_t length, std::uint64_t below) const {
  length = x86::page_up(length);
  std::uint64_t top = below ? std::min(below & ~kPageMask, kUserEnd) : kMmapTop;
  if (length == 0 || length > top) return std::unexpected(ENOMEM);
  // Regions in descending order; take the highest gap that fits.
  std::uint64_t low = kUserLowest;
  for (auto it = regions_.rbegin(); it != regions_.rend(); ++it) {
    if (it->first >= top) continue;
    if (it->second <= top && top - it->second >= length) {
      low = std::max(low, it->second);
      break;
    }
    top = std::min(top, it->first);
    if (top < length) return std::unexpected(ENOMEM);
  }
  if (top < low || top - low < length) return std::unexpected(ENOMEM);
  // 2 MiB or more starts on a 2 MiB boundary where the gap allows, so that huge pages fit (as
  // Linux aligns large anonymous mappings for its own).
  const std::uint64_t at = top - length;
  if (length >= kHugePageSize && huge_down(at) >= low) return huge_down(at);
  return at;
}

GuestResult<void> AddressSpace::copy(std::uint64_t vaddr, std::uint8_t* host, std::size_t length,
                                     bool to_guest, bool ignore_write_protect) const {
  if (length > kUserEnd || vaddr > kUserEnd - length) return std::unexpected(EFAULT);
  while (length > 0) {
    const Access access = to_guest && !ignore_write_protect ? Access::write : Access::read;
    auto gpa = translate(vaddr, access);
    if (!gpa) return std::unexpected(gpa.error());
    const std::size_t chunk = std::min<std::size_t>(length, kPageSize - (vaddr & kPageMask));
    std::uint8_t* guest = memory_->at(*gpa, chunk);
    if (!guest) return std::unexpected(EFAULT);
    // The loader fills fresh frames only; a read-only page fork shares is never written through.
    if (to_guest && ignore_write_protect && frame_shared_by_fork(vaddr, *gpa)) return std::unexpected(EFAULT);
    if (to_guest)
      std::memcpy(guest, host, chunk);
    else
      std::memcpy(host, guest, chunk);
    vaddr += chunk;
    host += chunk;
    length -= chunk;
  }
  return {};
}

GuestResult<void> AddressSpace::read(std::uint64_t vaddr, std::span<std::uint8_t> out) const {
  return copy(vaddr, out.data(), out.size(), false, false);
}
GuestResult<void> AddressSpace::write(std::uint64_t vaddr, std::span<const std::uint8_t> data) {
  return copy(vaddr, const_cast<std::uint8_t*>(data.data()), data.size(), true, false);
}
GuestResult<void> AddressSpace::fill(std::uint64_t vaddr, std::span<const std::uint8_t> data) {
  return copy(vaddr, const_cast<std::uint8_t*>(data.data()), data.size(), true, true);
}

GuestResult<void> AddressSpace::fill_from_file(std::uint64_t vaddr, int fd, std::uint64_t offset,
                                               std::uint64_t length) {
  if (length > kUserEnd || vaddr > kUserEnd - length) return std::unexpected(EFAULT);
  std::uint8_t* run = nullptr;  // host memory of the contiguous frames not yet read
  std::uint64_t run_length = 0;
  auto flush = [&]() -> GuestResult<void> {
    while (run_length > 0) {
      const ssize_t n = ::pread(fd, run, run_length, static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return std::unexpected(errno);
      if (n == 0) return std::unexpected(EIO);  // the file is shorter than its headers said
      run += n, offset += static_cast<std::uint64_t>(n), run_length -= static_cast<std::uint64_t>(n);
    }
    return {};
  };
  while (length > 0) {
    auto gpa = translate(vaddr, Access::read);
    if (!gpa) return std::unexpected(gpa.error());
    const std::uint64_t chunk = std::min<std::uint64_t>(length, kPageSize - (vaddr & kPageMask));
    std::uint8_t* guest = memory_->at(*gpa, chunk);
    if (!guest) return std::unexpected(EFAULT);
    if (frame_shared_by_fork(vaddr, *gpa)) return std::unexpected(EFAULT);  // as fill
    if (run + run_length != guest) {
      if (auto done = flush(); !done) return done;
      run = guest;
    }
    run_length += chunk;
    vaddr += chunk;
    length -= chunk;
  }
  return flush();
}

GuestResult<std::string> AddressSpace::read_string(std::uint64_t vaddr, std::size_t max) const {
  std::string out;
  while (out.size() <= max) {
    auto gpa = translate(vaddr, Access::read);
    if (!gpa) return std::unexpected(gpa.error());
    const std::size_t chunk = kPageSize - (vaddr & kPageMask);
    const char* guest = reinterpret_cast<const char*>(memory_->at(*gpa, chunk));
    if (!guest) return std::unexpected(EFAULT);
    const void* nul = std::memchr(guest, 0, chunk);
    const std::size_t n = nul ? static_cast<const char*>(nul) - guest : chunk;
    out.append(guest, n);
    if (nul) break;
    vaddr += chunk;
  }
  if (out.size() > max) return std::unexpected(ENAMETOOLONG);
  return out;
}

}  // namespace spectrum::vm
