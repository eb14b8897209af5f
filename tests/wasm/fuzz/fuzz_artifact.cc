// libFuzzer target: the compiled engine's artifact loader. The first byte picks the layer: the whole
// artifact (its checks: magic, checksum, engine, module, lengths) or, past the checksum that a real
// artifact has, the ELF object loader itself (section table, symbols, relocations). Loaded code is
// mapped and unmapped, never run. Crashes and sanitizer reports are findings; rejections are fine.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "wasm/module.h"
#include "wasm/native.h"

using namespace spectrum::wasm;

namespace {

// A module with two functions (the loader looks up f1/e1 and f2/e2 after an import).
const std::vector<std::uint8_t> kModule = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,                                // header
    0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f,                                      // type: () -> i32
    0x02, 0x07, 0x01, 0x01, 0x6d, 0x01, 0x66, 0x00, 0x00,                          // import m.f
    0x03, 0x03, 0x02, 0x00, 0x00,                                                  // two functions
    0x0a, 0x0b, 0x02, 0x04, 0x00, 0x41, 0x01, 0x0b, 0x04, 0x00, 0x41, 0x02, 0x0b,  // bodies
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Module module = *Module::load(kModule);
  if (size == 0) return 0;
  const std::vector<std::uint8_t> bytes(data + 1, data + size);
  std::string error;
  if (data[0] & 1) {
    (void)load_artifact(module.data(), data[0] & 2, bytes, &error);
  } else {
    (void)load_object(module.data(), bytes, &error);
  }
  return 0;
}
