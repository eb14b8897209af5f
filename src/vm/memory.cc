// Guest-physical memory and its frames; the address spaces over them are address_space.cc.
#include "vm/memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <utility>

namespace spectrum::vm {

using namespace x86;

namespace {
constexpr bool page_aligned(std::uint64_t v) { return (v & kPageMask) == 0; }
}  // namespace

// ---- GuestMemory ----

Result<GuestMemory> GuestMemory::create(std::uint64_t size, Backing backing) {
  if (size == 0 || !page_aligned(size)) return fail("guest memory size must be a non-zero multiple of 4 KiB");
  GuestMemory m;
  void* p = nullptr;
  if (backing == Backing::memfd) {
    m.fd_.reset(::memfd_create("spectrum-guest-memory", MFD_CLOEXEC));
    if (!m.fd_) return fail_errno("memfd_create for guest memory");
    if (::ftruncate(m.fd_.get(), static_cast<off_t>(size)) != 0)
      return fail_errno("ftruncate of guest memory");
    p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, m.fd_.get(), 0);
  } else {
    // 2 MiB of slack, trimmed, so that guest-physical 2 MiB boundaries are host ones: a huge page
    // can back a 2 MiB frame range (prefer_huge_page) and KVM may map it as one.
    p = ::mmap(nullptr, size + kHugePageSize, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p != MAP_FAILED) {
      auto* raw = static_cast<std::uint8_t*>(p);
      auto* aligned = reinterpret_cast<std::uint8_t*>(
          (reinterpret_cast<std::uintptr_t>(raw) + kHugePageSize - 1) & ~std::uintptr_t{kHugePageSize - 1});
      if (aligned > raw) ::munmap(raw, static_cast<std::size_t>(aligned - raw));
      if (aligned + size < raw + size + kHugePageSize)
        ::munmap(aligned + size, static_cast<std::size_t>(raw + size + kHugePageSize - (aligned + size)));
      p = aligned;
    }
  }
  if (p == MAP_FAILED) return fail_errno("mmap of " + std::to_string(size) + " bytes of guest memory");
  m.base_ = static_cast<std::uint8_t*>(p);
  m.size_ = size;
  return m;
}

GuestMemory::GuestMemory(GuestMemory&& o) noexcept
    : base_(std::exchange(o.base_, nullptr)), size_(std::exchange(o.size_, 0)), fd_(std::move(o.fd_)) {}
GuestMemory& GuestMemory::operator=(GuestMemory&& o) noexcept {
  if (this != &o) {
    if (base_) ::munmap(base_, size_);
    base_ = std::exchange(o.base_, nullptr);
    size_ = std::exchange(o.size_, 0);
    fd_ = std::move(o.fd_);
  }
  return *this;
}
GuestMemory::~GuestMemory() {
  if (base_) ::munmap(base_, size_);
}

std::uint8_t* GuestMemory::at(std::uint64_t gpa, std::uint64_t length) const {
  if (gpa > size_ || length > size_ - gpa) return nullptr;
  return base_ + gpa;
}

void GuestMemory::prefer_huge_page(std::uint64_t gpa) {
  if (fd_ || gpa % kHugePageSize != 0 || gpa > size_ || size_ - gpa < kHugePageSize) return;
  ::madvise(base_ + gpa, kHugePageSize, MADV_HUGEPAGE);  // a hint: without THP nothing changes
}

void GuestMemory::populate(std::uint64_t gpa, std::uint64_t length) {
  // MADV_POPULATE_WRITE (Linux 5.14): an older host answers EINVAL and the pages fault as before.
  if (std::uint8_t* p = at(gpa, length); p && !fd_) ::madvise(p, length, MADV_POPULATE_WRITE);
}

void GuestMemory::discard(std::uint64_t gpa, std::uint64_t length) {
  // A shared mapping keeps its pages in the memfd under MADV_DONTNEED; MADV_REMOVE frees them.
  if (std::uint8_t* p = at(gpa, length)) ::madvise(p, length, fd_ ? MADV_REMOVE : MADV_DONTNEED);
}

void GuestMemory::forget_translations(std::uint64_t gpa, std::uint64_t length) {
  std::uint8_t* p = at(gpa, length);
  if (!p) return;
  // Each call invalidates the range in every MMU notifier (KVM zaps what maps it); the data stays.
  ::mprotect(p, length, PROT_READ);
  ::mprotect(p, length, PROT_READ | PROT_WRITE);
}

// ---- FreeFrames ----

void FreeFrames::add(std::uint64_t frame_number) {
  const std::size_t word = frame_number / 64;
  const std::uint64_t bit = std::uint64_t{1} << (frame_number % 64);
  if (words_[word] & bit) return;
  words_[word] |= bit;
  ++count_;
  first_word_ = std::min(first_word_, word);
}

std::uint64_t FreeFrames::take_lowest() {
  while (words_[first_word_] == 0) ++first_word_;
  std::uint64_t& word = words_[first_word_];
  const int bit = std::countr_zero(word);
  word &= word - 1;
  --count_;
  return first_word_ * 64 + static_cast<std::uint64_t>(bit);
}

// ---- FrameAllocator ----

FrameAllocator::FrameAllocator(GuestMemory& memory, std::uint64_t first)
    : memory_(memory),
      next_(x86::page_up(first)),
      end_(memory.size() & ~kPageMask),
      released_(end_ / kPageSize),
      table_now_(end_ / kPageSize),
      table_since_reset_(end_ / kPageSize) {
  if (next_ > end_) next_ = end_;
  // The first frames handed out (the page tables, then the executable's image) are nearly all
  // used by any run: one 2 MiB host page backs them instead of ~500 faults of 4 KiB (busybox
  // /bin/true: 7.4 -> 6.45 ms of CPU per run, paired; fewer page-table entries to copy when the
  // monitor forks, too). Only this first range: hinting all of guest memory backed 14 MiB for
  // /bin/true instead of 2.
  memory.prefer_huge_page(next_);
}

GuestResult<std::uint64_t> FrameAllocator::allocate() {
  if (released_.size() == 0 && next_ >= end_ && !released_tables_.empty()) {
    if (table_reset_) {
      // Only frames that were tables are left: the hypervisor forgets every shadow, then they
      // are clean (live tables stay marked: their shadows are made again as the guest runs).
      if (auto reset = table_reset_(); !reset) return std::unexpected(EIO);
      ++table_resets_;
      table_since_reset_ = table_now_;
    }
    for (std::uint64_t frame : released_tables_) released_.add(frame / kPageSize);
    released_tables_.clear();
  }
  if (released_.size() > 0) return released_.take_lowest() * kPageSize;
  if (next_ >= end_) return std::unexpected(ENOMEM);
  std::uint64_t frame = next_;
  next_ += kPageSize;
  return frame;
}

GuestResult<std::uint64_t> FrameAllocator::allocate_huge() {
  const std::uint64_t first = (next_ + kHugePageSize - 1) & ~(kHugePageSize - 1);
  if (first >= end_ || end_ - first < kHugePageSize) return std::unexpected(ENOMEM);
  // The frames skipped to reach the boundary are fresh: free for allocate().
  for (std::uint64_t frame = next_; frame < first; frame += kPageSize) released_.add(frame / kPageSize);
  next_ = first + kHugePageSize;
  memory_.prefer_huge_page(first);
  return first;
}

GuestResult<std::uint64_t> FrameAllocator::allocate_table() {
  auto frame = allocate();
  if (frame) mark_table(*frame);
  return frame;
}

void FrameAllocator::mark_table(std::uint64_t frame) {
  const std::size_t index = frame / kPageSize;
  table_now_[index] = table_since_reset_[index] = true;
}

void FrameAllocator::put_back(std::uint64_t frame) {
  const std::size_t index = frame / kPageSize;
  // Without a reset (ptrace) a table frame needs no wait: kept out of use it would leave a hole
  // in the free frames at every process that ends, and the next ones' memory scattered around it.
  if (table_since_reset_[index] && table_reset_) {
    table_now_[index] = false;
    released_tables_.push_back(frame);
  } else {
    released_.add(frame / kPageSize);
  }
}

bool FrameAllocator::drop_share(std::uint64_t frame) {
  auto it = shares_.find(frame);
  if (it == shares_.end()) return false;
  if (--it->second == 0) shares_.erase(it);
  return true;
}

void FrameAllocator::release(std::uint64_t frame) {
  // A frame another holder keeps is not freed, but this mapping of it must not live on in the
  // hypervisor's translations (freeing does that through the discard).
  if (drop_share(frame)) return memory_.forget_translations(frame, kPageSize);
  // Zeroed by the host kernel, and the host memory is given back: freed guest memory costs nothing.
  memory_.discard(frame, kPageSize);
  put_back(frame);
}

void FrameAllocator::release(std::vector<std::uint64_t> frames) {
  std::sort(frames.begin(), frames.end());
  if (!shares_.empty()) {
    std::vector<std::uint64_t> kept;  // held by another: only this mapping's translations go
    std::erase_if(frames,
                  [&](std::uint64_t frame) { return drop_share(frame) && (kept.push_back(frame), true); });
    for_each_run(
        kept, [&](std::uint64_t first, std::uint64_t length) { memory_.forget_translations(first, length); });
  }
  for_each_run(frames, [&](std::uint64_t first, std::uint64_t length) { memory_.discard(first, length); });
  for (std::uint64_t frame : frames) put_back(frame);
}

}  // namespace spectrum::vm
