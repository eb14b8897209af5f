// SPECTRUM_TRY with a unique variable per use: the decoders nest TRY inside lambdas inside TRY,
// which with core's fixed name trips -Wshadow. (Worth moving into core/error.h.)
#pragma once

#include "core/error.h"

#define SPECTRUM_CONTAINER_CONCAT2(a, b) a##b
#define SPECTRUM_CONTAINER_CONCAT(a, b) SPECTRUM_CONTAINER_CONCAT2(a, b)
#define SPECTRUM_CONTAINER_TRY_NAMED(expr, name)                  \
  ({                                                              \
    auto&& name = (expr);                                         \
    if (!name) [[unlikely]]                                       \
      return std::unexpected(std::move(name).error());            \
    std::move(name).value();                                      \
  })
#define CTRY(expr) SPECTRUM_CONTAINER_TRY_NAMED(expr, SPECTRUM_CONTAINER_CONCAT(ctry_result_, __COUNTER__))

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
