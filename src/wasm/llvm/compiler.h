// Internals of libspectrum-wasm-llvm.so: the wasm -> LLVM IR translation (translate.cc), the
// runtime helpers compiled code calls and the trap machinery (exec.cc), and code generation,
// loading and artifacts (jit.cc).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "wasm/module.h"
#include "wasm/native.h"

namespace llvm {
class LLVMContext;
class Module;
}  // namespace llvm

namespace spectrum::wasm {

// The names compiled code uses for the runtime helpers (exec.cc), resolved when code is loaded.
struct HelperSymbol {
  const char* name;
  void* address;
};
std::vector<HelperSymbol> helper_symbols();

// Translates every defined function of a valid module: "f<N>" (typed: (ctx, params...) ->
// results), "e<N>" (NativeEntry), and "spectrum_code_end" after them (the code's end, for the
// fault handler). Checked: explicit bounds checks instead of the guard. An empty unique_ptr and
// *error when the module uses what the compiler does not translate (SIMD).
std::unique_ptr<llvm::Module> translate_module(llvm::LLVMContext& context, const ModuleData& module,
                                               bool checked, std::string* error);
// Why the compiler cannot translate this module, or empty.
std::string unsupported_reason(const ModuleData& module);

// Trap codes the helpers take (TrapKind values) and a trap site: (function index << 32) | byte offset.
inline std::uint64_t trap_site(std::uint32_t func, std::uint32_t offset) {
  return (std::uint64_t{func} << 32) | offset;
}

// The code of one module as loaded: entry points by function index, and the code range.
struct NativeModule {
  std::vector<void*> entries;  // NativeEntry of defined function i (index - imported_funcs)
  std::vector<void*> typed;
  std::uintptr_t code_begin = 0, code_end = 0;
  // Start address -> function index, ascending (for naming the function a fault hit).
  std::vector<std::pair<std::uintptr_t, std::uint32_t>> starts;
  std::shared_ptr<const ModuleData> names;  // unused when null; names come from the module below
  const ModuleData* module = nullptr;       // for naming (valid while instances exist)
  std::uint64_t object_bytes = 0;
  struct Loaded;
  std::unique_ptr<Loaded> loaded;  // jit.cc's handle (the JITDylib)
  ~NativeModule();
};

// exec.cc: registering code ranges for the fault handler, and the services the runtime gave.
void register_code(const NativeModule* code);
void unregister_code(const NativeModule* code);
const HostServices& services();
void set_services(const HostServices* services);
std::string module_function_name(const ModuleData& module, std::uint32_t index);
Runtime::Status execute(Store* store, Function* function, std::uint64_t* fp, Trap& trap,
                        std::int32_t& exit_code);

// jit.cc
std::shared_ptr<NativeModule> compile_module(const ModuleData& module, bool checked,
                                             const std::string& cache_dir, std::string* error);
bool write_artifact(const ModuleData& module, bool checked, std::vector<std::uint8_t>* out,
                    std::string* error);
std::shared_ptr<NativeModule> load_artifact(const ModuleData& module, bool checked,
                                            const std::vector<std::uint8_t>& artifact, std::string* error);

}  // namespace spectrum::wasm
