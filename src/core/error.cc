#include "core/error.h"

#include <cstring>

namespace spectrum {

Error Error::from_errno(std::string what, int err) {
  std::string text = std::move(what);
  text += ": ";
  text += std::strerror(err);
  ExitCode code = ExitCode::spectrum_error;
  return Error(std::move(text), err, code);
}

Error Error::wrap(std::string_view context) const& {
  Error copy = *this;
  return std::move(copy).wrap(context);
}

Error Error::wrap(std::string_view context) && {
  std::string text(context);
  text += ": ";
  text += message_;
  message_ = std::move(text);
  return std::move(*this);
}

}  // namespace spectrum
