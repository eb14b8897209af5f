// Engine-internal runtime objects: functions, memories, tables, globals, instances' state and the
// store's execution stacks, shared by the linker, the compiler and the interpreter.
#pragma once

#include <sys/types.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "wasm/code.h"
#include "wasm/engine.h"
#include "wasm/module.h"

namespace spectrum::wasm {

// A function translated to the interpreter's code form (see compiler.cc for the layout).
struct CompiledCode {
  std::vector<std::uint32_t> code;
  // (code index of an instruction, byte offset of the wasm instruction it came from), ascending.
  std::vector<std::pair<std::uint32_t, std::uint32_t>> offsets;
  std::vector<std::uint64_t> constants;  // the constants read from frame slots (after the locals)
  // What a new frame holds above its parameters: zeroed declared locals, then the constants. One
  // contiguous copy sets up both.
  std::vector<std::uint64_t> frame_init;
  std::uint32_t param_slots = 0;
  std::uint32_t local_slots = 0;  // params + declared locals
  std::uint32_t stack_slots = 0;  // operand stack's maximum height
  std::uint32_t frame_slots = 0;  // locals + stack + constants
  std::uint32_t wasm_offset(const std::uint32_t* pc) const;
};

// The store's memory budget (StoreLimits::max_memory_bytes): what the module's choices cost the
// host, charged before it is allocated.
struct Budget {
  std::uint64_t limit = UINT64_MAX;
  std::uint64_t used = 0;
  bool charge(std::uint64_t bytes) {
    if (bytes > limit - used) return false;
    used += bytes;
    return true;
  }
  void release(std::uint64_t bytes) { used -= std::min(used, bytes); }
  std::uint64_t left() const { return limit - used; }
};

// Frame images up to this many slots are copied as one block of this size.
inline constexpr std::uint32_t kSmallFrameInit = 4;

struct NativeCtx;     // native.h
struct NativeModule;  // the compiler library's

// What a guarded memory reserves: every address a 32-bit index plus a 32-bit offset plus an access
// of up to 16 bytes can form, so compiled code needs no bounds checks (a fault is the trap).
inline constexpr std::uint64_t kGuardedReservation = (8ull << 30) + 65536;

struct Memory {
  std::uint8_t* data = nullptr;  // a reservation that never moves; [0, size) is accessible
  bool guarded = false;          // reserved kGuardedReservation bytes
  std::uint64_t size = 0;
  std::uint32_t pages = 0;
  std::uint32_t max_pages = 0;  // effective: the type's maximum capped by the store's limit
  std::optional<std::uint32_t> declared_max;
  std::uint64_t reserved = 0;
  Budget* budget = nullptr;  // the store's: committed pages are charged to it
  ~Memory();
  // Old size in pages, or -1 if it cannot grow by delta.
  std::int32_t grow(std::uint32_t delta);
};

struct Table {
  ValType type = ValType::funcref;
  std::vector<std::uint64_t> elements;
  std::optional<std::uint32_t> max;
  Budget* budget = nullptr;  // the store's: the elements' storage is charged to it
  std::int32_t grow(std::uint32_t delta, std::uint64_t init);
};

struct Global {
  std::uint64_t value = 0;
  std::uint64_t value_high = 0;  // a v128's high half, right after its low half (one 16-byte copy)
  GlobalType type;
};

struct Function {
  const FuncType* type = nullptr;
  std::uint32_t type_id = 0;                        // canonical in the store: equal ids <=> equal types
  std::uint32_t param_count = 0, result_count = 0;  // in slots: a v128 takes two
  // A wasm function:
  Instance* instance = nullptr;
  std::uint32_t index = 0;  // in its module
  const FunctionBody* body = nullptr;
  Memory* memory = nullptr;            // its instance's memory 0
  std::unique_ptr<CompiledCode> code;  // compiled on first call
  // Copies of the code's entry facts, one load away from the call instruction.
  const std::uint32_t* entry = nullptr;
  const std::uint64_t* frame_init = nullptr;
  std::uint32_t frame_init_count = 0;
  std::uint32_t frame_slots = 0, param_slots = 0;
  void set_code(std::unique_ptr<CompiledCode> compiled) {
    code = std::move(compiled);
    entry = code->code.data();
    frame_init = code->frame_init.data();
    frame_init_count = static_cast<std::uint32_t>(code->frame_init.size());
    frame_slots = code->frame_slots;
    param_slots = code->param_slots;
  }
  // Compiled code (an instance in the compiled engine): the uniform entry (NativeEntry), the
  // typed one, and the instance context both take.
  void* native_entry = nullptr;
  void* native_typed = nullptr;
  NativeCtx* native_ctx = nullptr;
  // A host function:
  HostFunction host;
  std::string debug_name;
  std::unique_ptr<FuncType> own_type;
  bool is_host() const { return instance == nullptr; }
};

struct Instance::State {
  std::vector<Function*> funcs;
  std::vector<Table*> tables;
  std::vector<Memory*> memories;
  std::vector<Global*> globals;
  std::vector<std::vector<std::uint64_t>> elem_segments;  // resolved references; emptied when dropped
  std::vector<bool> data_dropped;
  std::unordered_map<std::string, Extern> exports;
  std::shared_ptr<NativeModule> native_code;  // compiled engine: the code and this instance's context
  std::shared_ptr<NativeCtx> native_ctx;
};

// One activation record of the interpreter's own call stack.
struct Frame {
  const std::uint32_t* return_pc;
  std::uint64_t* fp;
  Function* function;
};

struct Store::Impl {
  std::vector<std::unique_ptr<Function>> functions;
  std::vector<std::unique_ptr<Memory>> memories;
  std::vector<std::unique_ptr<Table>> tables;
  std::vector<std::unique_ptr<Global>> globals;
  std::vector<std::unique_ptr<Instance>> instances;
  std::vector<FuncType> canonical_types;

  // Execution stacks, reserved at first use; pages are touched only as deep as calls go.
  std::uint64_t* value_stack = nullptr;
  std::uint64_t value_stack_slots = 0;
  std::uint64_t* stack_top = nullptr;  // first free slot (for nested invocations from host calls)
  Frame* frames = nullptr;
  std::uint32_t frame_capacity = 0;
  std::uint32_t depth = 0;
  std::int64_t fuel = 0;
  Budget budget;
  Engine engine = Engine::interp;
  std::string cache_dir;
  std::uintptr_t native_stack_limit = 0;  // NativeCtx::stack_limit of the running thread
  // The thread running this store's compiled code (0: none), for Store::interrupt's signal.
  std::atomic<pid_t> native_thread{0};
  std::function<void()> tier_up;  // Store::set_tier_up

  ~Impl();
  std::uint32_t type_id(const FuncType& type);
  Result<void> ensure_stacks(const StoreLimits& limits);
};

// The slots that values of these types take (one each, two per v128).
inline std::uint32_t slot_count(const std::vector<ValType>& types) {
  std::uint32_t n = 0;
  for (ValType t : types) n += t == ValType::v128 ? 2 : 1;
  return n;
}

// Store::interrupt's part for compiled code (native_exec.cc): a signal to the thread running it.
void interrupt_native_code(Store::Impl& store);

// Implementation entry points (defined in compiler.cc, interpreter.cc, runtime.cc).
std::unique_ptr<CompiledCode> compile_function(const Function& function);
// Translates `function` on its first call, its code charged to `budget`; false if it does not fit.
bool translate(Budget& budget, Function& function);
const void* const* interpreter_handlers();
// The function that runs a SIMD instruction (simd_interpreter.cc): returns the units the
// instruction takes, or 0 for an out-of-bounds memory access.
using SimdFunction = std::uint32_t (*)(std::uint64_t* fp, const std::uint32_t* pc, std::uint8_t* mem,
                                       std::uint64_t mem_size);
SimdFunction simd_function(Op op);
std::string function_display_name(const Function& function);

struct Runtime {
  static CallOutcome invoke(Store& store, Function* function, std::span<const std::uint64_t> args);
  static Instance* new_instance(Store& store, const Module& module);
  static std::atomic<std::uint32_t>& interrupt_flag(Store& store) { return store.interrupt_; }
  // The slow path of the interpreter's poll of that flag: true when it held only a tier-up
  // request, now served (Store::set_tier_up's install ran; the code goes on), false for an
  // interruption or a store whose fuel is spent.
  static bool serve_tier_up(Store& store);
  enum class Status : std::uint8_t { returned, trapped, exited };
  // Runs a wasm function whose arguments are in fp[0..params); results land in fp[0..results).
  static Status execute(Store* store, Function* function, std::uint64_t* fp, Trap& trap,
                        std::int32_t& exit_code);
};

// The compiled engine's part of instantiation (native.cc): compiles or loads the module's code
// and attaches it to the instance's functions, as the store's engine says. Errors only under
// Engine::compiled; automatic falls back to the interpreter.
Result<void> attach_native(Store& store, Instance& instance);
// Runs a function that has native code (native.cc).
Runtime::Status execute_native(Store& store, Function* function, std::uint64_t* fp, Trap& trap,
                               std::int32_t& exit_code);

}  // namespace spectrum::wasm
