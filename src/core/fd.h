// RAII owner of a file descriptor and small fd helpers.
#pragma once

#include <unistd.h>

#include <string>
#include <string_view>
#include <utility>

#include "core/error.h"

namespace spectrum {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(std::exchange(other.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// Whole-file helpers for small control files (/proc, /sys/fs/cgroup, state files).
Result<std::string> read_file(const std::string& path);
Result<void> write_file(const std::string& path, std::string_view content);
// Writes all of `data` to fd, retrying short writes and EINTR.
Result<void> write_all(int fd, std::string_view data);
// Reads fd to EOF.
Result<std::string> read_all(int fd);

}  // namespace spectrum
