// libFuzzer target: decode + validate arbitrary bytes. Any input must give a module or an Error,
// never a crash, a hang or a sanitizer report.
#include <cstddef>
#include <cstdint>
#include <span>

#include "wasm/engine.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto module = spectrum::wasm::Module::load(std::span<const std::uint8_t>(data, size));
  if (module) {
    // Inspection of a valid module must be consistent with its index spaces.
    for (const auto& e : module->exports())
      if (e.kind == spectrum::wasm::ExternKind::func && !module->function_type(e.index)) __builtin_trap();
  }
  return 0;
}
