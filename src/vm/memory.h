// Guest memory and the workload's address space. The monitor owns the guest's page tables: they
// live in frames that no guest virtual address maps, so only the monitor can change them, and every
// guest pointer the monitor follows is translated through them with the access the guest itself
// would need (user, write) — a pointer the guest could not use is EFAULT here too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/fd.h"
#include "vm/x86.h"

namespace spectrum::vm {

// A guest error: a Linux errno for the workload, never a failure of Spectrum.
template <class T>
using GuestResult = std::expected<T, int>;

// The guest's physical memory: one host mapping, released by the destructor. Anonymous for KVM;
// a memfd where another process must map the same frames (the ptrace platform's stub maps them at
// the guest's addresses, MAP_SHARED, so the monitor's writes and the workload's are one memory).
class GuestMemory {
 public:
  enum class Backing { anonymous, memfd };
  static Result<GuestMemory> create(std::uint64_t size, Backing backing = Backing::anonymous);
  GuestMemory(GuestMemory&&) noexcept;
  GuestMemory& operator=(GuestMemory&&) noexcept;
  GuestMemory(const GuestMemory&) = delete;
  GuestMemory& operator=(const GuestMemory&) = delete;
  ~GuestMemory();

  std::uint64_t size() const { return size_; }
  std::uint8_t* base() const { return base_; }
  // The host address of [gpa, gpa+length), or nullptr if any byte is outside (overflow-safe).
  std::uint8_t* at(std::uint64_t gpa, std::uint64_t length) const;
  // Gives the frames' host pages back (they read as zero afterwards).
  void discard(std::uint64_t gpa, std::uint64_t length);
  // Makes the hypervisor drop every translation it derived from the frames' guest mappings (KVM's
  // shadow page tables or EPT entries, and the TLB with them), through its MMU notifier: a host
  // mprotect round trip. The monitor writes the guest's page tables from the host, where KVM does
  // not see it: a mapping that loses rights (mprotect) would keep them until the frame is freed.
  void forget_translations(std::uint64_t gpa, std::uint64_t length);
  // Backs [gpa, gpa+length) with host pages now (anonymous memory; a no-op for a memfd). Under
  // KVM's shadow MMU a guest's first touch of a page is a VM exit, and one exit maps the page and
  // up to 7 neighbours only when their host pages already exist: backed in advance, a fresh
  // mapping costs one exit per 8 pages instead of one per page (plus the host's own fault).
  void populate(std::uint64_t gpa, std::uint64_t length);
  // Asks the host to back the 2 MiB-aligned range at `gpa` with one huge page (anonymous memory,
  // whose host mapping is 2 MiB-aligned; a no-op otherwise).
  void prefer_huge_page(std::uint64_t gpa);
  // The memfd of Backing::memfd (offset = guest-physical address), else -1.
  int fd() const { return fd_.get(); }

 private:
  GuestMemory() = default;
  std::uint8_t* base_ = nullptr;
  std::uint64_t size_ = 0;
  UniqueFd fd_;
};

// Calls f(first, length) once per run of contiguous frames in `frames` (sorted ascending): one
// host call per run instead of one per frame.
template <class F>
void for_each_run(const std::vector<std::uint64_t>& frames, F&& f) {
  for (std::size_t i = 0; i < frames.size();) {
    std::size_t j = i + 1;
    while (j < frames.size() && frames[j] == frames[j - 1] + x86::kPageSize) ++j;
    f(frames[i], (j - i) * x86::kPageSize);
    i = j;
  }
}

// Free frames by number, handed out lowest first. A LIFO list let the frames of processes that
// come and go interleave a little more at every fork, exec and exit, so a run of pages mapped
// together got scattered frames: after 100 fork+exec+wait in the sandbox tier, every switch to a
// process took ~500 mmaps into the ptrace stub (one per run of contiguous frames). Lowest first
// keeps freed memory in one piece and gives consecutive allocations consecutive frames.
class FreeFrames {
 public:
  explicit FreeFrames(std::uint64_t frames) : words_((frames + 63) / 64) {}
  void add(std::uint64_t frame_number);
  std::uint64_t take_lowest();  // only when size() > 0
  std::uint64_t size() const { return count_; }

 private:
  std::vector<std::uint64_t> words_;  // bit set: free
  std::uint64_t count_ = 0;
  std::size_t first_word_ = 0;  // no free frame in the words below it
};

class AddressSpace;

// Hands out 4 KiB guest-physical frames of [first, end); freed frames are zeroed and reused.
class FrameAllocator {
 public:
  FrameAllocator(GuestMemory& memory, std::uint64_t first);
  GuestResult<std::uint64_t> allocate();  // ENOMEM when guest memory is used up
  // 512 contiguous frames, 2 MiB-aligned, for a huge page (one page-directory entry, so that the
  // hypervisor maps 2 MiB per fault instead of 4 KiB), the host asked to back them with one huge
  // page. Only from memory never handed out: ENOMEM when no aligned run is left there, though
  // freed frames may remain (the caller maps 4 KiB pages instead). They are released one by one.
  GuestResult<std::uint64_t> allocate_huge();
  // A frame for a page table. KVM's shadow MMU (kvm_pvm) keeps the shadow of a frame that was a
  // table until it forgets every shadow: the monitor writes tables from the host, where KVM does
  // not see it, so a frame used for one table and then another brought the first one's
  // translations (another process's frames) along, and one used for data next could not run
  // (KVM_EXIT_INTERNAL_ERROR). A freed table frame therefore waits, unused, until no other frame
  // is left; then the platform's reset (set_table_reset) makes the hypervisor forget every
  // shadow and the waiting frames are clean again. Without a reset (ptrace: the host kernel walks
  // the tables itself) they are simply handed out last.
  GuestResult<std::uint64_t> allocate_table();
  void set_table_reset(std::function<Result<void>()> reset) { table_reset_ = std::move(reset); }
  // Told when an address space over these frames ends (its destructor): a platform that keeps
  // something per address space (ptrace: a stub process each) lets it go.
  void set_space_ended(std::function<void(const AddressSpace*)> ended) { space_ended_ = std::move(ended); }
  void space_ended(const AddressSpace* space) const {
    if (space_ended_) space_ended_(space);
  }
  std::uint64_t table_resets() const { return table_resets_; }
  // One more holder of a frame (a shared page that fork mapped into the child): release() gives it
  // back only when every holder has released it.
  void share(std::uint64_t frame) { ++shares_[frame]; }
  bool held_by_others(std::uint64_t frame) const { return shares_.contains(frame); }  // > 1 holder
  std::uint32_t holders(std::uint64_t frame) const {
    const auto it = shares_.find(frame);
    return 1 + (it == shares_.end() ? 0 : it->second);
  }
  void release(std::uint64_t frame);
  // Many frames at once: one discard per run of contiguous frames (an address space that ends
  // gives back thousands; one madvise each cost ~15 ms of a busybox pipeline).
  void release(std::vector<std::uint64_t> frames);
  std::uint64_t free_frames() const {
    return (end_ - next_) / x86::kPageSize + released_.size() + released_tables_.size();
  }
  // The end of the frames ever handed out: no guest-physical address at or above it is in any
  // page table yet (the KVM platform registers guest memory with KVM only up to here).
  std::uint64_t high_water() const { return next_; }

 private:
  GuestMemory& memory_;
  std::uint64_t next_, end_;
  FreeFrames released_;                         // free, and no table since the last reset
  std::vector<std::uint64_t> released_tables_;  // free, but a table since the last reset: waiting
  // Per frame: a table now; a table at some time since the last reset.
  std::vector<bool> table_now_, table_since_reset_;
  std::function<Result<void>()> table_reset_;
  std::function<void(const AddressSpace*)> space_ended_;
  std::uint64_t table_resets_ = 0;
  std::unordered_map<std::uint64_t, std::uint32_t> shares_;  // frame -> holders beyond the first
  bool drop_share(std::uint64_t frame);                      // true if another holder keeps the frame
  void mark_table(std::uint64_t frame);
  void put_back(std::uint64_t frame);  // into released_ or released_tables_
};

enum Protection : unsigned { kProtRead = 1, kProtWrite = 2, kProtExec = 4 };  // = PROT_*

enum class Access { read, write };

class AddressSpace {
 public:
  static inline constexpr std::uint64_t kUserLowest = 0x200000;            // the kernel area lies below
  static inline constexpr std::uint64_t kUserEnd = 0x0000'7fff'ffff'f000;  // like Linux's TASK_SIZE
  // The top of mmap's own choices: the stack (8 MiB at most, at kUserEnd) and an unmapped gap
  // below it stay out of them, as Linux's mmap_base keeps 128 MiB, so that a stack overflow
  // faults instead of running into the memory of another mapping (the "stack clash").
  static inline constexpr std::uint64_t kMmapTop = kUserEnd - (128ull << 20);

  // Makes the top-level table and identity-maps the kernel area (supervisor only) from `layout`:
  // (start, end, writable, executable) ranges below kUserLowest.
  struct KernelRange {
    std::uint64_t start, end;
    bool writable, executable;
  };
  static GuestResult<AddressSpace> create(GuestMemory& memory, FrameAllocator& frames,
                                          std::span<const KernelRange> kernel);

  std::uint64_t root() const { return pml4_; }  // CR3

  AddressSpace(AddressSpace&& other) noexcept;
  AddressSpace& operator=(AddressSpace&&) = delete;
  AddressSpace(const AddressSpace&) = delete;
  ~AddressSpace();

  // fork's copy: new page tables (the kernel area mapped as in `kernel`) over the same frames. A
  // private 4 KiB page is shared: as it is where it is not writable, copy-on-write in both spaces
  // where it is (own_page gives it a frame of its own at the first write); a huge page likewise,
  // whole. Shared pages (map's `shared`) map the same frames in the copy: both processes see each
  // other's writes. Bounded by the mapped memory;
  // ENOMEM, with nothing left allocated, when guest memory cannot hold the copy's tables or huge
  // pages. The copy gives its frames back when destroyed.
  GuestResult<AddressSpace> copy(std::span<const KernelRange> kernel);
  // A write to `vaddr` where its page is copy-on-write: the page gets a frame of its own (its own
  // already, when no other holder is left; else a copy) and is writable. true if it was
  // copy-on-write, false for any other page (a real fault); ENOMEM when no frame is left. Called
  // on a write fault and by translate() for the monitor's writes. A huge page: writable again
  // whole where no other holder is left, else split first.
  GuestResult<bool> own_page(std::uint64_t vaddr);
  // A new address space over the same memory with no user mappings (the kernel area mapped as
  // in `kernel`), which gives its frames back when destroyed: execve of a process that shared its
  // memory (a vfork child) leaves the old space to the other process.
  GuestResult<AddressSpace> fresh(std::span<const KernelRange> kernel) const;
  // Gives every frame (user pages and page tables) back when destroyed: for an address space that
  // ends before the guest does (a process that exits or execs).
  void release_on_destroy() { release_ = true; }

  // [start, start+length) page-aligned, inside user space. New frames read as zero. `shared`:
  // MAP_SHARED anonymous memory, which a fork's copy shares instead of copying. `huge_pages`:
  // private memory the workload is about to use whole (what populate backs), so huge pages where
  // whole ones fit; without it a huge page's single touched byte would back 2 MiB on the host (a
  // thread's stack). Reservations (prot 0, private) take 2 MiB entries either way: no memory.
  GuestResult<void> map(std::uint64_t start, std::uint64_t length, unsigned prot, bool shared = false,
                        bool huge_pages = false);
  // MAP_SHARED of a file: maps `frames` (one per page, from the kernel's SharedFiles) from `start`
  // as shared pages (fork shares them), each frame one more holder that unmap gives back. Without
  // `may_write` (the file is not open for writing) protect() refuses to make them writable.
  // Replaces what was mapped there, as MAP_FIXED does; ENOMEM, with nothing mapped, if the page
  // tables cannot be made.
  GuestResult<void> map_frames(std::uint64_t start, std::span<const std::uint64_t> frames, unsigned prot,
                               bool may_write = true);
  GuestMemory& memory() const { return *memory_; }
  FrameAllocator& frames() const { return *frames_; }
  // Moves the mapped pages of [from, from+length) to `to` with their frames (mremap): contents,
  // protection and sharing go along, nothing is copied. The target must be free; ENOMEM, with
  // nothing moved, if its page tables cannot be made.
  GuestResult<void> move(std::uint64_t from, std::uint64_t length, std::uint64_t to);
  GuestResult<void> unmap(std::uint64_t start, std::uint64_t length);
  GuestResult<void> protect(std::uint64_t start, std::uint64_t length, unsigned prot);
  bool is_mapped(std::uint64_t page) const;  // false outside user space
  // Whether no page / every page of a user range is mapped (false for anything outside user
  // space). Both walk the mapped regions, so their cost never depends on the length asked for.
  bool range_free(std::uint64_t start, std::uint64_t length) const;
  bool range_mapped(std::uint64_t start, std::uint64_t length) const;
  // madvise(MADV_DONTNEED): the host drops the mapped private frames of a user range (they read as
  // zero); shared ones keep their contents, as Linux's shmem pages do.
  GuestResult<void> discard(std::uint64_t start, std::uint64_t length);
  // GuestMemory::populate for the frames of the mapped, writable pages of a user range: memory the
  // workload is about to write (a fresh anonymous mapping, brk). Bounded by the mapped regions.
  void populate(std::uint64_t start, std::uint64_t length);
  // A free user range of `length` bytes, searched downwards from `below` (0: kMmapTop).
  GuestResult<std::uint64_t> find_free(std::uint64_t length, std::uint64_t below = 0) const;

  // Guest-physical address of a user virtual address for `access` from ring 3; EFAULT if none.
  GuestResult<std::uint64_t> translate(std::uint64_t vaddr, Access access) const;
  // The page-table entry of a page (0 if none), kernel area included: for tests and diagnostics,
  // never for deciding what a guest call may touch (is_mapped and the range checks do that).
  std::uint64_t entry(std::uint64_t vaddr) const;
  // Copies between host buffers and guest virtual memory, checking each page; EFAULT on any
  // byte the workload itself could not access that way.
  GuestResult<void> read(std::uint64_t vaddr, std::span<std::uint8_t> out) const;
  GuestResult<void> write(std::uint64_t vaddr, std::span<const std::uint8_t> data);
  // Writes ignoring write protection (the loader fills read-only segments).
  GuestResult<void> fill(std::uint64_t vaddr, std::span<const std::uint8_t> data);
  // fill from [offset, offset+length) of a file, read straight into guest memory (one pread per
  // run of contiguous frames, no buffer); EIO when the file ends early.
  GuestResult<void> fill_from_file(std::uint64_t vaddr, int fd, std::uint64_t offset, std::uint64_t length);
  // A NUL-terminated string of at most `max` bytes (ENAMETOOLONG beyond).
  GuestResult<std::string> read_string(std::uint64_t vaddr, std::size_t max) const;

  std::uint64_t mapped_bytes() const { return mapped_pages_ * x86::kPageSize; }

  // What changed in the user half since the last take_changes(), for a platform whose hardware
  // does not read these page tables (ptrace: the stub's host mappings follow them). Recorded only
  // over memfd-backed memory; the ranges are those map/unmap/protect succeeded on.
  struct Change {
    enum class Kind { map, unmap, protect };
    Kind kind;
    std::uint64_t start, length;
    unsigned prot;
    bool shared = false;  // mappings(): MAP_SHARED memory
  };
  std::vector<Change> take_changes() { return std::exchange(changes_, {}); }
  // Every mapping as `map` changes, one per run of pages with the same protection and sharing: what a
  // platform replays when it switches to this address space (ptrace: the stub's mappings).
  std::vector<Change> mappings() const;
  std::vector<Change> mappings_of(std::uint64_t from, std::uint64_t to) const;  // those in [from, to)
  // The mapped pages of [from, to) as runs of contiguous frames, in address order (gpa 0: a run of
  // reserved pages, which have none); walked by entry, so a reservation costs one step per 2 MiB.
  struct FrameRun {
    std::uint64_t start, gpa, length;
    bool copy_on_write = false;  // read-only in the hardware's tables until written (own_page)
  };
  std::vector<FrameRun> frame_runs(std::uint64_t from, std::uint64_t to) const;

 private:
  AddressSpace(GuestMemory& memory, FrameAllocator& frames) : memory_(&memory), frames_(&frames) {}
  std::uint64_t* table(std::uint64_t gpa) const;
  // The entry of `vaddr` at `level` (0: its leaf in a page table; 1: its page-directory entry),
  // making missing tables above it and splitting a huge page above a level-0 entry.
  GuestResult<std::uint64_t*> entry_at(std::uint64_t vaddr, int level, std::uint64_t user_bit);
  GuestResult<std::uint64_t*> leaf(std::uint64_t vaddr);  // a user page's leaf entry, made so
  // The page-directory entry of `vaddr` (nullptr if no table holds it), and its 4 KiB leaf entry
  // (nullptr if none, or if a huge page maps it).
  std::uint64_t* find_directory_entry(std::uint64_t vaddr) const;
  std::uint64_t* find_leaf(std::uint64_t vaddr) const;
  // The leaf entry's value of `vaddr`'s page, a huge page's part too (0 if none): for reading only.
  std::uint64_t lookup(std::uint64_t vaddr) const;
  // Huge pages (2 MiB page-directory leaves, private anonymous memory only) and 2 MiB entries of
  // a reservation (no frames, any memory). Writers that change part of one split it into a page
  // table first; one covered whole changes as one entry.
  GuestResult<void> split_huge_page(std::uint64_t& pde);
  // Splits the huge pages [start, end) overlaps: those it cuts only, or all of them.
  GuestResult<void> split_huge_pages(std::uint64_t start, std::uint64_t end, bool edges_only);
  // Maps a huge page at `vaddr` (2 MiB-aligned) with leaf `flags` if its directory entry is free
  // and a huge frame is left (a reservation needs none): false otherwise, with nothing changed.
  GuestResult<bool> map_huge_page(std::uint64_t vaddr, std::uint64_t flags, bool reservation);
  // Calls f(page, entry, pages) for the mapped pages of [from, to) (4 KiB-aligned): once per huge
  // page or reservation entry lying whole in the range (`entry` is its first page's, `pages`
  // 512), once per other page. Its cost follows the entries, not the pages, of the range.
  template <class F>
  void for_each_entry(std::uint64_t from, std::uint64_t to, F&& f) const;
  // Clears the entries of [from, to) (no huge page cut by it), collecting their frames.
  void clear_entries(std::uint64_t from, std::uint64_t to, std::vector<std::uint64_t>& freed);
  // Pages fork made copy-on-write here: their frames, and their ranges in this space (ascending,
  // adjacent ones of one protection joined).
  struct WriteProtected {
    std::vector<std::uint64_t> frames;
    std::vector<Change> ranges;
    void add(std::uint64_t start, std::uint64_t length, unsigned prot);
  };
  // After fork: the hypervisor forgets the writable translations of those frames, and a platform
  // that follows the changes maps those ranges again (read-only in the hardware's tables).
  void forget_write_rights(WriteProtected& protected_pages);
  // A private page whose frame (at `gpa`) fork shares with another process: never written through.
  bool frame_shared_by_fork(std::uint64_t vaddr, std::uint64_t gpa) const;
  // A frame of this space's own for a page whose `frame` other holders keep: a copy of it, or a
  // zero page; the old frame has one holder fewer (its translations here forgotten). ENOMEM when
  // none is left.
  GuestResult<std::uint64_t> frame_of_own(std::uint64_t frame, bool copy_contents);
  bool huge_page_shared(std::uint64_t pde) const;           // another holder has any of its frames
  void add_region(std::uint64_t start, std::uint64_t end);  // merged with touching neighbours
  // map and map_frames: fills the unmapped range's leaf entries with `flags` and the frame
  // frame_of(i) gives its page i (kNoFrame for a reservation), or, with `huge`, a huge page where
  // one fits whole; on a failure every entry made is undone, its frame released, and nothing is
  // left mapped (ENOMEM).
  template <class FrameOf>
  GuestResult<void> install(std::uint64_t start, std::uint64_t length, unsigned prot, std::uint64_t flags,
                            bool huge, FrameOf&& frame_of);
  template <class F>
  void for_each_mapped(std::uint64_t start, std::uint64_t end, F&& f) const;
  GuestResult<void> copy(std::uint64_t vaddr, std::uint8_t* host, std::size_t length, bool to_guest,
                         bool ignore_write_protect) const;

  GuestMemory* memory_;
  FrameAllocator* frames_;
  std::uint64_t pml4_ = 0;
  std::uint64_t mapped_pages_ = 0;
  std::map<std::uint64_t, std::uint64_t> regions_;  // mapped user ranges: start -> end, disjoint
  std::vector<Change> changes_;
  std::vector<std::uint64_t> table_frames_;  // every page-table frame this space allocated
  bool release_ = false;
  void record(Change::Kind kind, std::uint64_t start, std::uint64_t length, unsigned prot) {
    if (memory_->fd() >= 0) changes_.push_back({kind, start, length, prot});
  }
};

// Leaf flags for a user mapping of `prot`, and the protection a user leaf entry gives.
std::uint64_t user_pte_flags(unsigned prot);
unsigned user_prot(std::uint64_t pte);

}  // namespace spectrum::vm
