// libFuzzer target: the OCI runtime's decoders of untrusted JSON (config.json, process.json of
// `exec --process`, the resources of `update -r`). Errors are fine; crashes, hangs and sanitizer
// reports are findings.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "container/oci_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)spectrum::container::parse_config(text, "/fuzz-bundle");
  (void)spectrum::container::parse_process(text);
  (void)spectrum::container::parse_resources(text, "resources.json");
  return 0;
}
