#include "core/stdio.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace spectrum {

Result<UniqueFd> open_stdio_stream(const Stdio& stdio, bool output, UniqueFd* capture, const char* name) {
  switch (stdio.mode) {
    case Stdio::Mode::inherit:
      return UniqueFd();
    case Stdio::Mode::null: {
      UniqueFd fd(::open("/dev/null", (output ? O_WRONLY : O_RDONLY) | O_CLOEXEC));
      if (!fd) return fail_errno("open /dev/null");
      return fd;
    }
    case Stdio::Mode::file: {
      UniqueFd fd(
          ::open(stdio.path.c_str(), (output ? O_WRONLY | O_CREAT | O_TRUNC : O_RDONLY) | O_CLOEXEC, 0644));
      if (!fd) return fail_errno(std::string(name) + " file " + stdio.path);
      return fd;
    }
    case Stdio::Mode::capture: {
      if (!capture) return fail(std::string(name) + " cannot be captured");
      int fds[2];
      if (::pipe2(fds, O_CLOEXEC) != 0) return fail_errno("pipe2");
      capture->reset(fds[0]);
      return UniqueFd(fds[1]);
    }
  }
  return UniqueFd();
}

void drain_pipe(UniqueFd& fd, std::string& into, bool* truncated, std::size_t limit) {
  char buffer[65536];
  ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
  if (n > 0) {
    std::size_t room = limit > into.size() ? limit - into.size() : 0;
    std::size_t kept = std::min(room, static_cast<std::size_t>(n));
    into.append(buffer, kept);
    if (kept < static_cast<std::size_t>(n) && truncated) *truncated = true;
  } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
    fd.reset();
  }
}

}  // namespace spectrum
