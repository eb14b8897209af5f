// MAP_SHARED mappings of regular files: POSIX shared memory and named semaphores (shm_open and
// sem_open in /dev/shm, so Python's multiprocessing), sqlite's -shm index, any two processes that
// share memory through a file. As Linux's page cache does, every mapping of a page of a file, in
// any process, is one guest frame.
//
// The frames are a cache of the file, kept coherent by the calls that move its bytes: before the
// monitor reads, writes, truncates or privately maps a cached file, the cached pages are written
// back to it, and after a write or a truncation they are read from it again. Pages no mapping
// holds any more are written back and freed at the next munmap; the rest at the end of the run
// (a run the monitor does not end itself, a SIGKILL, loses what was not written back yet).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "core/fd.h"
#include "vm/memory.h"

namespace spectrum::vm::kernel {

class SharedFiles {
 public:
  SharedFiles(GuestMemory& memory, FrameAllocator& frames) : memory_(memory), frames_(frames) {}
  SharedFiles(const SharedFiles&) = delete;
  SharedFiles& operator=(const SharedFiles&) = delete;
  ~SharedFiles();  // writes every cached page back and gives the frames back

  // The frames of `pages` pages of the regular file behind `fd` from `offset` (page-aligned): the
  // cached ones, the others made from the file's bytes (zero past its end). ENODEV for anything
  // but a regular file; ENOMEM when guest memory cannot hold them (nothing new is kept then).
  GuestResult<std::vector<std::uint64_t>> frames_of(int fd, std::uint64_t offset, std::uint64_t pages);
  // Before a host call that reads or changes the file behind `fd`: its cached pages written back.
  void before_io(int fd);
  // After one that changed it (a write, a truncation): its cached pages read again.
  void after_change(int fd);
  // Pages held by no mapping any more: written back and freed.
  void release_unused();
  // msync: every cached page written back.
  void write_back_all() {
    for (auto& [key, file] : files_) write_back(file);
  }

 private:
  struct File {
    UniqueFd fd;                                   // a duplicate: the file outlives the guest's fds
    std::map<std::uint64_t, std::uint64_t> pages;  // page index -> frame
  };
  using Key = std::pair<dev_t, ino_t>;
  File* cached(int fd);  // nullptr if nothing of the file is cached (or not a regular file)
  void write_back(File& file);
  void read_in(File& file);
  bool fill(int fd, std::uint64_t index, std::uint64_t frame);  // from the file; false on error

  GuestMemory& memory_;
  FrameAllocator& frames_;
  std::map<Key, File> files_;
};

}  // namespace spectrum::vm::kernel
