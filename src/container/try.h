// Error helpers of the container code, beside core's SPECTRUM_TRY (core/error.h).
#pragma once

#include "core/error.h"

namespace spectrum::container {
// Adds context in front of an error (GCC 12's std::expected has no transform_error yet).
template <class T>
Result<T> with_context(Result<T> result, std::string_view context) {
  if (!result) return std::unexpected(std::move(result).error().wrap(context));
  return result;
}
}  // namespace spectrum::container

namespace spectrum::container {
// Creates or replaces a regular file (core's write_file only writes existing control files).
Result<void> write_new_file(const std::string& path, std::string_view content, unsigned mode = 0644);
}  // namespace spectrum::container
