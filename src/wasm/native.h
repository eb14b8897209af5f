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
#include <string_view>
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
  // The lowest stack pointer a compiled function with calls may start at (Store::Impl::
  // native_stack_limit, set by native_execute for the running thread; 0: no explicit check).
  const std::uintptr_t* stack_limit = nullptr;
  const std::uint32_t* type_ids = nullptr;  // canonical type id of each of the module's types
  Instance* instance = nullptr;
  Store* store = nullptr;
  std::vector<std::uint32_t> type_id_storage;
};
static_assert(offsetof(NativeCtx, mem_base) == 0 && offsetof(NativeCtx, mem_size) == 8 &&
              offsetof(NativeCtx, globals) == 16 && offsetof(NativeCtx, funcs) == 24 &&
              offsetof(NativeCtx, interrupt) == 32 && offsetof(NativeCtx, stack_limit) == 40 &&
              offsetof(NativeCtx, type_ids) == 48);
static_assert(offsetof(Global, value) == 0);

// The compiled functions' uniform entry: arguments in slots[0..params), results written to
// slots[0..results) (the runtime's raw slot encoding).
using NativeEntry = void (*)(NativeCtx* ctx, std::uint64_t* slots);

// A module's machine code as loaded into the process (native_loader.cc), shared by its instances.
struct NativeModule {
  std::vector<void*> entries;  // NativeEntry of defined function i (index - imported_funcs)
  std::vector<void*> typed;    // its typed code: (ctx, params...) -> results
  std::uintptr_t code_begin = 0, code_end = 0;
  // Start address -> function index, ascending (naming the function a fault hit).
  std::vector<std::pair<std::uintptr_t, std::uint32_t>> starts;
  const ModuleData* module = nullptr;  // naming (valid while instances exist)
  void* mapping = nullptr;
  std::size_t mapping_size = 0;
  ~NativeModule();
};

inline constexpr std::uint32_t kNativeApiVersion = 2;

// What the compiler library exports (spectrum_wasm_native_api()): LLVM turns a module into an ELF
// relocatable object for this CPU; everything else (artifacts, the cache, loading, running) is the
// runtime's and needs no LLVM, so a static spectrum runs cached code in process.
struct NativeApi {
  std::uint32_t version = kNativeApiVersion;
  // Checked: explicit bounds checks on every access instead of guard pages. False with *error (a
  // SIMD instruction, a compiler error).
  bool (*compile_object)(const ModuleData& module, bool checked, std::vector<std::uint8_t>* object,
                         std::string* error);
  // A module the compiler cannot translate: the reason, or empty (none today: SIMD is compiled).
  std::string (*unsupported)(const ModuleData& module);
};

// Changes whenever the translation or the helpers' contract changes: artifacts of another version
// are recompiled, never run.
inline constexpr const char* kEngineVersion = "spectrum-wasmc/5 llvm-16 x86_64";
// The engine version and the CPU's identification (cpuid: vendor, family/model, feature bits):
// code compiled for the host CPU runs only where this matches.
std::string engine_id();

// Artifacts (native_artifact.cc):
//   "SPWASMC2" | u32 checked | u32 id length | engine id | u64 module length | the module file |
//   u64 object length | object | u64 FNV-1a of everything before it
// The module itself is inside: an artifact is used only for exactly the module it was compiled
// from, by this engine on this CPU in this bounds mode, and only when the checksum verifies.
std::vector<std::uint8_t> wrap_artifact(const ModuleData& module, bool checked,
                                        const std::vector<std::uint8_t>& object);
bool unwrap_artifact(const ModuleData& module, bool checked, const std::vector<std::uint8_t>& artifact,
                     std::vector<std::uint8_t>* object, std::string* error);
// Links an object into the process (native_loader.cc). The object is one the compiler made
// (artifacts are verified first), but the loader checks every offset anyway.
std::shared_ptr<NativeModule> load_object(const ModuleData& module, const std::vector<std::uint8_t>& object,
                                          std::string* error);
std::shared_ptr<NativeModule> load_artifact(const ModuleData& module, bool checked,
                                            const std::vector<std::uint8_t>& artifact, std::string* error);
// The module's code: from the cache when a valid artifact is there, else (may_compile) compiled
// by the library and written to the cache. nullptr with *error.
std::shared_ptr<NativeModule> native_code(const ModuleData& module, bool checked,
                                          const std::string& cache_dir, bool may_compile, std::string* error);
// The cache directory, created owner-only if missing; false if it is not safe to use (another
// owner, group- or world-accessible, a symlink, not a directory).
bool safe_cache_dir(const std::string& dir);
// The artifact of a module (`spectrum wasm compile -o`).
bool compile_artifact(const ModuleData& module, bool checked, std::vector<std::uint8_t>* out,
                      std::string* error);
// Runs function's compiled code with its arguments in fp (native_exec.cc); traps and exits come
// back as the interpreter's do.
Runtime::Status native_execute(Store* store, Function* function, std::uint64_t* fp, Trap& trap,
                               std::int32_t& exit_code);
// Calls a function through the runtime with arguments in slots (native.cc): the interpreter for
// an interpreted wasm function.
Runtime::Status call_interpreted(Store* store, Function* function, std::uint64_t* slots, Trap& trap,
                                 std::int32_t& exit_code);
// native_exec.cc: code ranges for the fault handler, and the helpers compiled code calls by name.
void register_code(const NativeModule* code);
void unregister_code(const NativeModule* code);
void* helper_address(std::string_view name);
// The signal Store::interrupt sends to a thread running compiled code. Its handler acts only when
// the signal finds the thread in compiled code; another handler that may run while compiled code
// is interrupted should block it (sa_mask), so that it is delivered on that handler's return.
int native_interrupt_signal();

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

// spectrum is linked statically and glibc cannot dlopen LLVM into a static process. Compiling is
// done by spectrum-llvm, the same program linked dynamically, found next to the executable:
// `spectrum wasm compile` re-executes as it (needs_compiler looks at main's argv;
// exec_compiler_build returns only when already dynamic or there is no such binary), and a run
// under --engine compiled whose module is not cached has it fill the cache (compile_with_helper),
// then links the code from there, in process. Compiled code itself never needs LLVM.
bool needs_compiler(int argc, char** argv);
void exec_compiler_build(char** argv);
bool static_executable();
// Compiles the module's `checked` (explicit bounds checks) or guarded code into cache_dir and waits.
bool compile_with_helper(const std::vector<std::uint8_t>& module, const std::string& cache_dir, bool checked,
                         std::string* error);
// spectrum-llvm beside this executable (empty, with *error, where there is none).
std::string compiler_helper(std::string* error);
// Starts `spectrum-llvm wasm compile --bounds guard|check` of `module` into cache_dir without
// waiting: the caller reaps the pid (-1 with *error when it could not start). The helper reads the
// module from a memory file, writes nothing but the cache, holds no other descriptor of ours, and
// dies with the thread that started it (PR_SET_PDEATHSIG).
pid_t spawn_compiler(const std::vector<std::uint8_t>& module, const std::string& cache_dir, bool checked,
                     std::string* error);

// The library, loaded on first use (nullptr with *error when it cannot be: not installed, a
// version mismatch). Thread-safe.
const NativeApi* native_api(std::string* error);
// Loads the library: native_library.cc (dlopen) in dynamically linked executables,
// native_library_static.cc in the static spectrum. native_api() calls it once.
const NativeApi* load_compiler_library(std::string* error);
inline constexpr const char* kStaticExecutableCannotLoad =
    "the compiled engine needs a dynamically linked executable (this spectrum is static; "
    "the engine runs in the engine's own tools and tests for now, see docs/wasm.md)";
// True once the library is mapped (for tests of "a run that never compiles never loads LLVM").
bool native_api_loaded();

}  // namespace spectrum::wasm
