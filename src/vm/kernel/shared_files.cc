#include "vm/kernel/shared_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace spectrum::vm::kernel {

using x86::kPageSize;

SharedFiles::~SharedFiles() {
  for (auto& [key, file] : files_) {
    write_back(file);
    for (const auto& [index, frame] : file.pages) frames_.release(frame);
  }
}

SharedFiles::File* SharedFiles::cached(int fd) {
  if (files_.empty()) return nullptr;  // the common case: one comparison per call
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return nullptr;
  auto it = files_.find({st.st_dev, st.st_ino});
  return it == files_.end() ? nullptr : &it->second;
}

bool SharedFiles::fill(int fd, std::uint64_t index, std::uint64_t frame) {
  std::uint8_t* page = memory_.at(frame, kPageSize);
  if (!page) return false;
  std::memset(page, 0, kPageSize);
  for (std::uint64_t done = 0; done < kPageSize;) {
    const ssize_t n =
        ::pread(fd, page + done, kPageSize - done, static_cast<off_t>(index * kPageSize + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) break;  // the file ends: the rest reads as zero
    done += static_cast<std::uint64_t>(n);
  }
  return true;
}

GuestResult<std::vector<std::uint64_t>> SharedFiles::frames_of(int fd, std::uint64_t offset,
                                                               std::uint64_t pages) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return std::unexpected(errno);
  if (!S_ISREG(st.st_mode)) return std::unexpected(ENODEV);
  if (offset % kPageSize != 0) return std::unexpected(EINVAL);
  const std::uint64_t first = offset / kPageSize;
  if (pages > frames_.free_frames() || first > (std::uint64_t{1} << 52) - pages)
    return std::unexpected(ENOMEM);
  const Key key{st.st_dev, st.st_ino};
  auto it = files_.find(key);
  const bool new_file = it == files_.end();
  if (new_file) {
    UniqueFd copy(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
    if (!copy) return std::unexpected(errno);
    it = files_.emplace(key, File{std::move(copy), {}}).first;
  }
  File& file = it->second;
  std::vector<std::uint64_t> frames, made;
  frames.reserve(pages);
  for (std::uint64_t index = first; index < first + pages; ++index) {
    if (auto page = file.pages.find(index); page != file.pages.end()) {
      frames.push_back(page->second);
      continue;
    }
    auto frame = frames_.allocate();
    if (!frame || !fill(file.fd.get(), index, *frame)) {
      const int err = frame ? EIO : frame.error();
      if (frame) frames_.release(*frame);
      for (std::uint64_t undo : made) frames_.release(undo);
      std::erase_if(file.pages, [&](const auto& entry) {
        return std::find(made.begin(), made.end(), entry.second) != made.end();
      });
      if (new_file) files_.erase(it);
      return std::unexpected(err);
    }
    file.pages.emplace(index, *frame);
    made.push_back(*frame);
    frames.push_back(*frame);
  }
  return frames;
}

void SharedFiles::write_back(File& file) {
  struct stat st;
  if (::fstat(file.fd.get(), &st) != 0) return;
  const auto size = static_cast<std::uint64_t>(st.st_size);
  for (const auto& [index, frame] : file.pages) {
    if (index >= size / kPageSize + (size % kPageSize != 0)) break;  // past the end: never written
    const std::uint64_t length = std::min(kPageSize, size - index * kPageSize);
    const std::uint8_t* page = memory_.at(frame, kPageSize);
    for (std::uint64_t done = 0; page && done < length;) {
      const ssize_t n =
          ::pwrite(file.fd.get(), page + done, length - done, static_cast<off_t>(index * kPageSize + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // ENOSPC and the like: the guest's next read shows what the file holds
      done += static_cast<std::uint64_t>(n);
    }
  }
}

void SharedFiles::read_in(File& file) {
  for (const auto& [index, frame] : file.pages) (void)fill(file.fd.get(), index, frame);
}

void SharedFiles::before_io(int fd) {
  if (File* file = cached(fd)) write_back(*file);
}

void SharedFiles::after_change(int fd) {
  if (File* file = cached(fd)) read_in(*file);
}

void SharedFiles::release_unused() {
  for (auto it = files_.begin(); it != files_.end();) {
    File& file = it->second;
    const bool any_unused = std::any_of(file.pages.begin(), file.pages.end(), [&](const auto& entry) {
      return !frames_.held_by_others(entry.second);
    });
    if (any_unused) {
      write_back(file);
      std::erase_if(file.pages, [&](const auto& entry) {
        if (frames_.held_by_others(entry.second)) return false;
        frames_.release(entry.second);
        return true;
      });
    }
    it = file.pages.empty() ? files_.erase(it) : std::next(it);
  }
}

}  // namespace spectrum::vm::kernel
