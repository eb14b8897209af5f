// The synthetic /dev: null, zero, full, random and urandom, served by the monitor itself (the
// guest's root filesystem has no device nodes it could use, and the host's /dev is not reachable
// from the confined monitor). An open of one of these paths never reaches the root filesystem.
#pragma once

#include <sys/stat.h>
#include <sys/uio.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace spectrum::vm::vfs {

enum class Device : std::uint8_t { none, null, zero, full, random };

// The device at a normalized absolute guest path, if it is one of the synthetic ones.
std::optional<Device> device_at(const std::string& path);
// Whether a component before the last one is a synthetic device ("/dev/null/x"): such a path is
// ENOTDIR, as a character device is not a directory, whatever the root filesystem holds there.
bool below_device(const std::string& path);
// read(2) into host buffers already translated from guest memory: bytes read, or -errno.
std::int64_t device_read(Device d, const std::vector<::iovec>& iov);
// write(2) of `length` bytes: bytes written, or -errno (/dev/full: ENOSPC).
std::int64_t device_write(Device d, std::uint64_t length);
// fstat: a character device with Linux's numbers (1, 3/5/7/8/9).
struct stat device_stat(Device d);

// A terminal the guest holds (a pseudo-terminal of the invoker's, given as its stdio) is
// /dev/pts/N in the guest, N its host index: its /proc/PID/fd entry names it, and that name
// stats and opens as that terminal, so that ttyname (glibc's and musl's compare the two) works.
// Only a terminal the process holds is there: the host's others are not the guest's to see.
std::optional<unsigned> pts_index(const std::string& path);  // "/dev/pts/N" -> N
std::optional<unsigned> pts_index(const struct stat& st);    // a pty's slave side -> N

}  // namespace spectrum::vm::vfs
