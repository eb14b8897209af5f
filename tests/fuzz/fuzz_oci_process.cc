// libFuzzer target: the process.json of `exec --process` (a client's file, decoded by the same
// code as config.json's "process"), on its own so that its corpus and coverage are its own.
// Errors are fine; crashes, hangs and sanitizer reports are findings.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "container/oci_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)spectrum::container::parse_process(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
