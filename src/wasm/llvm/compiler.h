// Internals of libspectrum-wasm-llvm.so: the wasm -> LLVM IR translation (translate.cc,
// numeric.cc) and code generation (jit.cc). The library only compiles: the runtime links and runs
// the objects it makes (src/wasm/native_loader.cc, native_exec.cc).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "wasm/body_reader.h"
#include "wasm/module.h"
#include "wasm/native.h"

namespace llvm {
class LLVMContext;
class Module;
}  // namespace llvm

namespace spectrum::wasm {

// Translates every defined function of a valid module: "f<N>" (typed: (ctx, params...) ->
// results), "e<N>" (NativeEntry). Calls to the runtime go to extern "C" helpers by name
// (native_exec.cc). Checked: explicit bounds checks instead of the guard. An empty unique_ptr and
// *error when the module uses what the compiler does not translate (SIMD).
std::unique_ptr<llvm::Module> translate_module(llvm::LLVMContext& context, const ModuleData& module,
                                               bool checked, std::string* error);

// Inlines small self-recursive functions into themselves a few levels deep (recursion.cc), before
// the O2 pipeline, whose inliner leaves recursion alone.
void unroll_self_recursion(llvm::Module& module);

// A trap site as the helpers take it: (function index << 32) | byte offset.
inline std::uint64_t trap_site(std::uint32_t func, std::uint32_t offset) {
  return (std::uint64_t{func} << 32) | offset;
}

}  // namespace spectrum::wasm
