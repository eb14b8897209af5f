// libFuzzer target: decode, validate, instantiate with every import stubbed, then call every
// exported function with zero arguments, under fuel and memory limits. Traps are fine; crashes,
// hangs and sanitizer reports are findings.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "stub_imports.h"
#include "wasm/engine.h"

using namespace spectrum::wasm;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto module = Module::load(std::span<const std::uint8_t>(data, size));
  if (!module) return 0;
  StoreLimits limits;
  limits.max_memory_pages = 32;
  limits.max_call_depth = 500;
  limits.value_stack_slots = 1u << 16;
  limits.fuel = 20000;
  Store store(limits);
  Linker linker;
  if (!stub_imports(*module, store, linker)) return 0;
  auto instance = linker.instantiate(store, *module);
  if (!instance) return 0;
  for (const ExportInfo& exp : module->exports()) {
    if (exp.kind != ExternKind::func) continue;
    const FuncType* type = module->function_type(exp.index);
    // One slot per argument, two per v128.
    std::size_t slots = 0;
    for (ValType t : type->params) slots += t == ValType::v128 ? 2 : 1;
    std::vector<std::uint64_t> args(slots, 0);
    store.set_fuel(20000);
    auto outcome = (*instance)->call(exp.name, args);
    if (!outcome) __builtin_trap();  // arguments match the type: an Error here is a bug
  }
  return 0;
}
