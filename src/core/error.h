// Errors of Spectrum itself (bad input, failed host calls), as opposed to the workload's own
// outcome, which is a RunResult. Every fallible call returns Result<T>; the CLI prints the final
// Error as one line and exits with its exit_code.
#pragma once

#include <cerrno>
#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace spectrum {

// Exit codes follow podman/docker: 125 for Spectrum's own failures, 126 when the program exists
// but cannot be executed, 127 when it cannot be found.
enum class ExitCode : int {
  ok = 0,
  spectrum_error = 125,
  not_executable = 126,
  not_found = 127,
};

class Error {
 public:
  Error() = default;
  explicit Error(std::string message, int sys_errno = 0, ExitCode exit_code = ExitCode::spectrum_error)
      : message_(std::move(message)), sys_errno_(sys_errno), exit_code_(exit_code) {}

  // An error from a failed host call: "what: strerror(errno)".
  static Error from_errno(std::string what, int err = errno);

  // Adds the context of the caller in front: "context: inner message".
  Error wrap(std::string_view context) const&;
  Error wrap(std::string_view context) &&;

  const std::string& message() const { return message_; }
  int sys_errno() const { return sys_errno_; }
  ExitCode exit_code() const { return exit_code_; }
  int exit_status() const { return static_cast<int>(exit_code_); }
  Error& with_exit_code(ExitCode code) & {
    exit_code_ = code;
    return *this;
  }
  Error&& with_exit_code(ExitCode code) && {
    exit_code_ = code;
    return std::move(*this);
  }

 private:
  std::string message_;
  int sys_errno_ = 0;
  ExitCode exit_code_ = ExitCode::spectrum_error;
};

template <class T>
using Result = std::expected<T, Error>;

// Shorthand for returning an error: `return fail("bad size '{}'", text);` is written
// `return fail("bad size '" + text + "'")` here to keep the header free of fmt.
inline std::unexpected<Error> fail(std::string message, int sys_errno = 0,
                                   ExitCode code = ExitCode::spectrum_error) {
  return std::unexpected(Error(std::move(message), sys_errno, code));
}
inline std::unexpected<Error> fail_errno(std::string what, int err = errno) {
  return std::unexpected(Error::from_errno(std::move(what), err));
}

}  // namespace spectrum

// Propagates the error of a Result-returning expression, else yields its value.
// (GCC statement expression: the only way to get `?`-like propagation in C++ today.) The local's
// name is unique per use, so nested uses do not shadow each other.
#define SPECTRUM_TRY_CONCAT_(a, b) a##b
#define SPECTRUM_TRY_NAME_(n) SPECTRUM_TRY_CONCAT_(spectrum_try_result_, n)
#define SPECTRUM_TRY(expr) SPECTRUM_TRY_IMPL_(expr, SPECTRUM_TRY_NAME_(__COUNTER__))
#define SPECTRUM_TRY_IMPL_(expr, name)                 \
  ({                                                   \
    auto&& name = (expr);                              \
    if (!name) [[unlikely]]                            \
      return std::unexpected(std::move(name).error()); \
    std::move(name).value();                           \
  })
