#include "vm/fs/devices.h"

#include <sys/random.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <cstring>
#include <string_view>

namespace spectrum::vm::vfs {

std::optional<Device> device_at(const std::string& path) {
  if (path == "/dev/null") return Device::null;
  if (path == "/dev/zero") return Device::zero;
  if (path == "/dev/full") return Device::full;
  if (path == "/dev/random" || path == "/dev/urandom") return Device::random;
  return std::nullopt;
}

bool below_device(const std::string& path) {
  for (auto slash = path.find('/', 1); slash != std::string::npos; slash = path.find('/', slash + 1))
    if (device_at(path.substr(0, slash))) return true;
  return false;
}

std::int64_t device_read(Device d, const std::vector<::iovec>& iov) {
  if (d == Device::null) return 0;
  std::int64_t total = 0;
  for (const ::iovec& v : iov) {
    if (d == Device::random) {
      // getrandom returns at most 32 MiB per call; the caller bounds a read to 64 MiB.
      for (std::size_t done = 0; done < v.iov_len;) {
        const ssize_t n = ::getrandom(static_cast<std::uint8_t*>(v.iov_base) + done, v.iov_len - done, 0);
        if (n < 0) return total ? total : -errno;
        done += static_cast<std::size_t>(n);
      }
    } else {
      std::memset(v.iov_base, 0, v.iov_len);
    }
    total += static_cast<std::int64_t>(v.iov_len);
  }
  return total;
}

std::int64_t device_write(Device d, std::uint64_t length) {
  return d == Device::full ? -ENOSPC : static_cast<std::int64_t>(length);
}

struct stat device_stat(Device d) {
  struct stat st {};
  st.st_mode = S_IFCHR | 0666;
  st.st_nlink = 1;
  st.st_blksize = 4096;
  const unsigned minor = d == Device::null ? 3 : d == Device::zero ? 5 : d == Device::full ? 7 : 9;
  st.st_rdev = makedev(1, minor);
  st.st_dev = makedev(0, 5);
  st.st_ino = minor;
  return st;
}

std::optional<unsigned> pts_index(const std::string& path) {
  constexpr std::string_view kPts = "/dev/pts/";
  if (!path.starts_with(kPts) || path.size() == kPts.size() || path.size() > kPts.size() + 7)
    return std::nullopt;
  unsigned n = 0;
  for (const char c : path.substr(kPts.size())) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<unsigned>(c - '0');
  }
  if (path[kPts.size()] == '0' && path.size() > kPts.size() + 1) return std::nullopt;  // "/dev/pts/01"
  return n;
}

std::optional<unsigned> pts_index(const struct stat& st) {
  // Unix98 pty slaves: majors 136-143, the index spread over them 256 at a time.
  if (!S_ISCHR(st.st_mode) || major(st.st_rdev) < 136 || major(st.st_rdev) > 143) return std::nullopt;
  return (major(st.st_rdev) - 136) * 256 + minor(st.st_rdev);
}

}  // namespace spectrum::vm::vfs
