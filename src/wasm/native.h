// The compiled engine's interface between the runtime (always linked into spectrum) and the LLVM
// compiler (libspectrum-wasm-llvm.so, loaded with dlopen on the first compile: a run that never
// compiles never maps LLVM). Both sides are built from this header; nothing else is shared, so the
// library has no undefined symbols into the executable: what it needs from the runtime comes in
// HostServices, what the runtime needs from it in NativeApi.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "wasm/runtime.h"

namespace spectrum::wasm {

// One instance's view for compiled code: its address is the first argument of every compiled
// function, and the code reads these fields at fixed offsets (the static_asserts below are the
// contract with src/wasm/llvm/translate.cc).
struct NativeCtx {
  std::uint8_t* mem_base = nullptr;                       // memory 0's reservation
  const std::uint64_t* mem_size = nullptr;                // &Memory::size of memory 0 (checked mode)
  Global* const* globals = nullptr;                       // the instance's globals, imports first
  Function* const* funcs = nullptr;                       // the instance's functions, imports first
  const std::atomic<std::uint32_t>* interrupt = nullptr;  // the store's interrupt flag
  std::uint32_t* depth = nullptr;                         // the store's native call depth
  std::uint32_t max_depth = 0;                            // StoreLimits::max_call_depth
  std::uint32_t pad = 0;
  const std::uint32_t* type_ids = nullptr;  // canonical type id of each of the module's types
  Instance* instance = nullptr;
  Store* store = nullptr;
  std::vector<std::uint32_t> type_id_storage;
};
static_assert(offsetof(NativeCtx, mem_base) == 0 && offsetof(NativeCtx, mem_size) == 8 &&
              offsetof(NativeCtx, globals) == 16 && offsetof(NativeCtx, funcs) == 24 &&
              offsetof(NativeCtx, interrupt) == 32 && offsetof(NativeCtx, depth) == 40 &&
              offsetof(NativeCtx, max_depth) == 48 && offsetof(NativeCtx, type_ids) == 56);
static_assert(offsetof(Global, value) == 0);

// The compiled functions' uniform entry: arguments in slots[0..params), results written to
// slots[0..results) (the runtime's raw slot encoding).
using NativeEntry = void (*)(NativeCtx* ctx, std::uint64_t* slots);

// What the compiler library needs from the runtime.
struct HostServices {
  std::int32_t (*memory_grow)(Memory* memory, std::uint32_t delta);
  std::int32_t (*table_grow)(Table* table, std::uint32_t delta, std::uint64_t init);
  // Runs a wasm function in the interpreter, arguments in slots (results land there), its frames
  // above what the store's value stack holds.
  Runtime::Status (*call_interpreted)(Store* store, Function* function, std::uint64_t* slots, Trap& trap,
                                      std::int32_t& exit_code);
  std::string (*display_name)(const Function& function);
  std::string_view (*trap_text)(TrapKind kind);
};

// A module compiled to machine code (opaque to the runtime), shared by its instances.
struct NativeModule;

inline constexpr std::uint32_t kNativeApiVersion = 1;

// What the compiler library exports (spectrum_wasm_native_api()).
struct NativeApi {
  std::uint32_t version = kNativeApiVersion;
  void (*init)(const HostServices* services);
  // Compiles (or loads from the cache directory, when not empty) a valid module. Checked: explicit
  // bounds checks on every access instead of guard pages. nullptr with *error set on failure (a
  // SIMD instruction, a compiler error).
  std::shared_ptr<NativeModule> (*compile)(const ModuleData& module, bool checked,
                                           const std::string& cache_dir, std::string* error);
  // Points the instance's functions at the module's code (sets Function::native_*) with ctx.
  bool (*attach)(const std::shared_ptr<NativeModule>& code, Instance* instance, NativeCtx* ctx,
                 std::string* error);
  // Runs function's compiled code with its arguments in fp; traps and exits come back as the
  // interpreter's do.
  Runtime::Status (*execute)(Store* store, Function* function, std::uint64_t* fp, Trap& trap,
                             std::int32_t& exit_code);
  // The artifact of a module (`spectrum wasm compile`), and loading one (verified first).
  bool (*write_artifact)(const ModuleData& module, bool checked, std::vector<std::uint8_t>* out,
                         std::string* error);
  std::shared_ptr<NativeModule> (*load_artifact)(const ModuleData& module, bool checked,
                                                 const std::vector<std::uint8_t>& artifact,
                                                 std::string* error);
  // A module the compiler cannot translate (SIMD): the reason, or empty.
  std::string (*unsupported)(const ModuleData& module);
};

// The cache file of a module: DIR/<FNV-1a 64 of the module file>-<g|c>.swc (guarded or checked
// code). The name only finds the file cheaply (without loading LLVM, for Engine::automatic); the
// artifact inside is verified in full (SHA-256 of the module, engine, CPU) before use.
inline std::string cache_file(const std::string& dir, const std::vector<std::uint8_t>& module, bool checked) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (std::uint8_t b : module) h = (h ^ b) * 0x100000001b3ull;
  // By hand: printf's machinery is pages of a static binary that a plain run never touches.
  std::string name = dir + "/0123456789abcdef-g.swc";
  for (int i = 0; i < 16; ++i) name[dir.size() + 1 + i] = "0123456789abcdef"[(h >> (60 - 4 * i)) & 15];
  name[dir.size() + 18] = checked ? 'c' : 'g';
  return name;
}
// The default cache directory: $SPECTRUM_WASM_CACHE ("off": none), else $XDG_CACHE_HOME/spectrum/wasm,
// else $HOME/.cache/spectrum/wasm.
std::string default_cache_dir();
// The engine of the wasm tier's runs (`spectrum run --engine`; default automatic).
void set_run_engine(Engine engine);
Engine run_engine();

// spectrum is linked statically and glibc cannot dlopen LLVM into a static process: commands that
// compile (`run --engine compiled`, `wasm compile`) re-execute as spectrum-llvm, the same program
// linked dynamically, found next to the executable. needs_compiler looks at main's argv;
// exec_compiler_build returns only when there is nothing to do (already dynamic) or no such
// binary (the command then fails with the library's reason).
bool needs_compiler(int argc, char** argv);
void exec_compiler_build(char** argv);

// The library, loaded on first use (nullptr with *error when it cannot be: not installed, a
// version mismatch). Thread-safe.
const NativeApi* native_api(std::string* error);
// True once the library is mapped (for tests of "a run that never compiles never loads LLVM").
bool native_api_loaded();

}  // namespace spectrum::wasm
