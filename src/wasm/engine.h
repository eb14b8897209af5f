// Spectrum's WebAssembly engine: the embedding API used by the wasm tier, WASI and the tests.
//
//   Module::load(bytes)           decode + validate (an Error names the byte offset and the reason)
//   Store store(limits);          owns every runtime object; limits, interrupt flag, fuel
//   Linker linker;                 names -> externs: host functions, registered instances
//   linker.instantiate(store, module, "name")   -> Instance& (start function run, registered)
//   instance.call("main", args)   -> CallOutcome: returned values, Trap, or Exit{code}
//
// Values cross the API as raw 64-bit slots: i32 in the low 32 bits (upper bits zero), i64 as is,
// f32/f64 as their bit patterns (f32 in the low 32 bits), references as opaque 64-bit values where
// 0 is null, and a v128 as two slots, its low 64 bits first (so a function's arguments and results
// take one slot per value, two per v128). Host functions get the same raw slots, so they never pay for
// boxing.
//
// Errors of the embedder (bad bytes, link failures, wrong argument count) are Error results; what
// the guest does (a trap, proc_exit) is a CallOutcome. No C++ exception crosses the interpreter.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace spectrum::wasm {

// ---------------------------------------------------------------------------------------------
// Types

enum class ValType : std::uint8_t {
  i32 = 0x7F,
  i64 = 0x7E,
  f32 = 0x7D,
  f64 = 0x7C,
  v128 = 0x7B,  // two slots wherever values cross the API (see above)
  funcref = 0x70,
  externref = 0x6F,
};
std::string_view to_string(ValType type);
inline bool is_reference(ValType t) { return t == ValType::funcref || t == ValType::externref; }

struct FuncType {
  std::vector<ValType> params;
  std::vector<ValType> results;
  bool operator==(const FuncType&) const = default;
};
std::string to_string(const FuncType& type);  // "(i32, i64) -> (f32)"

struct Limits {
  std::uint32_t min = 0;
  std::optional<std::uint32_t> max;
};
struct TableType {
  ValType element = ValType::funcref;
  Limits limits;
};
struct MemoryType {
  Limits limits;  // in 64 KiB pages
};
struct GlobalType {
  ValType type = ValType::i32;
  bool mutable_ = false;
};

enum class ExternKind : std::uint8_t { func = 0, table = 1, memory = 2, global = 3 };
std::string_view to_string(ExternKind kind);

inline constexpr std::uint64_t kPageSize = 65536;
inline constexpr std::uint32_t kMaxPages = 65536;  // 4 GiB, the 32-bit address space

// ---------------------------------------------------------------------------------------------
// Modules: decoded and validated, immutable, shareable between instances.

struct ImportInfo {
  std::string module;
  std::string name;
  ExternKind kind = ExternKind::func;
  FuncType func;  // kind == func
  TableType table;
  MemoryType memory;
  GlobalType global;
};

struct ExportInfo {
  std::string name;
  ExternKind kind = ExternKind::func;
  std::uint32_t index = 0;  // in the module's index space of that kind (imports first)
};

struct SectionInfo {
  std::uint8_t id = 0;       // 0 = custom
  std::string name;          // "type", "code", ... or the custom section's own name
  std::uint32_t offset = 0;  // byte offset of the section's contents in the file
  std::uint32_t size = 0;    // size of the contents in bytes
};

struct ModuleData;  // the decoded module (engine-internal, see module.h)

class Module {
 public:
  // Decodes and validates. Errors read "byte 0x1a3: <reason>" (the offset in `bytes`).
  static Result<Module> load(std::span<const std::uint8_t> bytes);
  // Decodes only (for `spectrum wasm inspect` of modules that fail validation, and the fuzzer).
  static Result<Module> decode(std::span<const std::uint8_t> bytes);
  // Validates a decoded module (load = decode + validate).
  Result<void> validate() const;

  std::span<const ImportInfo> imports() const;
  std::span<const ExportInfo> exports() const;
  std::span<const SectionInfo> sections() const;
  // The type of function `index` (imports first), or nullptr if out of range.
  const FuncType* function_type(std::uint32_t index) const;
  std::uint32_t function_count() const;  // imports included
  // The name from the name section, or empty.
  std::string_view function_name(std::uint32_t index) const;
  std::optional<std::uint32_t> start_function() const;

  const ModuleData& data() const { return *data_; }

 private:
  std::shared_ptr<const ModuleData> data_;
  friend struct ModuleAccess;
};

// ---------------------------------------------------------------------------------------------
// Runtime objects. All are owned by a Store and live as long as it; handles are plain pointers.

class Store;
class Instance;
struct Function;  // engine-internal
struct Table;
struct Memory;
struct Global;

// A reference to a runtime object, what imports resolve to and exports yield.
struct Extern {
  ExternKind kind = ExternKind::func;
  Function* func = nullptr;
  Table* table = nullptr;
  Memory* memory = nullptr;
  Global* global = nullptr;
};

// The linear memory as seen at one moment: re-read it after anything that may grow memory
// (a call into the guest, memory.grow).
struct MemoryView {
  std::uint8_t* data = nullptr;
  std::uint64_t size = 0;  // bytes
};

// What a host function returns besides its results.
struct HostResult {
  enum class Kind : std::uint8_t {
    ok,           // results written
    trap,         // the guest traps with `message` (TrapKind::host)
    exit,         // the program ends with exit_code (WASI proc_exit): unwinds every frame
    interrupted,  // the embedder interrupted a blocking call: like Store::interrupt()
  };
  Kind kind = Kind::ok;
  std::int32_t exit_code = 0;
  std::string message;

  static HostResult ok() { return {}; }
  static HostResult trap(std::string message) { return {Kind::trap, 0, std::move(message)}; }
  static HostResult exit(std::int32_t code) { return {Kind::exit, code, {}}; }
  static HostResult interrupted() { return {Kind::interrupted, 0, {}}; }
};

// Passed to a host function: who called it.
class HostCall {
 public:
  HostCall(Instance* caller, Store& store) : caller_(caller), store_(store) {}
  // The calling instance's memory 0 (data pointer and size; empty if it has none).
  MemoryView memory() const;
  Instance* caller() const { return caller_; }
  Store& store() const { return store_; }

 private:
  Instance* caller_;
  Store& store_;
};

// args: one slot per parameter; results: one slot per result, to be written (raw slot encoding
// above; i32 results may leave the upper bits as they are, the engine ignores them).
using HostFunction =
    std::function<HostResult(HostCall& call, const std::uint64_t* args, std::uint64_t* results)>;

enum class TrapKind : std::uint8_t {
  unreachable,
  memory_out_of_bounds,
  table_out_of_bounds,  // table.get/set/copy/init, call_indirect index
  undefined_element,    // call_indirect with an index beyond the table
  indirect_call_type_mismatch,
  integer_divide_by_zero,
  integer_overflow,
  invalid_conversion,
  null_reference,
  stack_exhausted,  // call depth or value stack
  interrupted,      // Store::interrupt()
  out_of_fuel,
  host,  // a host function trapped
  data_segment_dropped,
  uninitialized_element,  // call_indirect to a null element
  out_of_memory,          // the store's memory budget refused what the code needs (its translation)
};
// The spec's wording ("unreachable", "out of bounds memory access", "integer divide by zero"...).
std::string_view to_string(TrapKind kind);

struct Trap {
  TrapKind kind = TrapKind::unreachable;
  std::string message;           // to_string(kind), or the host's message
  std::string function;          // name of the function that trapped (name section, export, or "func[N]")
  std::uint32_t offset = 0;      // byte offset in the module file of the instruction that trapped
  std::string describe() const;  // "out of bounds memory access in fib at byte 0x1234"
};

struct CallOutcome {
  enum class Kind : std::uint8_t { returned, trapped, exited };
  Kind kind = Kind::returned;
  std::vector<std::uint64_t> values;  // returned: one slot per result
  Trap trap;                          // trapped
  std::int32_t exit_code = 0;         // exited
};

struct StoreLimits {
  // memory.grow beyond this returns -1; instantiation fails if a memory's minimum exceeds it.
  std::uint32_t max_memory_pages = kMaxPages;
  // Nested calls (wasm and host) before TrapKind::stack_exhausted, in the interpreter. Compiled
  // code is bounded by the thread's native stack instead (docs/wasm.md: call depth).
  std::uint32_t max_call_depth = 20000;
  // 64-bit slots of the value stack shared by all frames (reserved lazily; pages are touched
  // only when used).
  std::uint64_t value_stack_slots = 8u << 20;
  // Budget counted at loop iterations and function entries (one unit per back edge taken or call
  // made); nullopt = unlimited.
  std::optional<std::uint64_t> fuel;
  // The budget in bytes of everything whose size the module chooses: linear memory, tables (and
  // table.grow), element segments, globals, functions and their translated code, and the value and
  // call stacks (sized to fit: an eighth of what is left at the first call, at most the defaults
  // above). An allocation past it fails: memory.grow and table.grow return -1, instantiation is
  // an Error with sys_errno() == ENOMEM, a call whose code cannot be translated traps with
  // TrapKind::out_of_memory. nullopt = no budget.
  std::optional<std::uint64_t> max_memory_bytes;
};

// Which engine runs a store's wasm functions: the interpreter, machine code compiled by LLVM
// (libspectrum-wasm-llvm.so, loaded on first use), or automatic (docs/wasm.md: compiled when the
// module's code is cached, else the interpreter).
enum class Engine : std::uint8_t { interp, compiled, automatic };
std::string_view to_string(Engine engine);

class Store {
 public:
  explicit Store(StoreLimits limits = {});
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const StoreLimits& limits() const { return limits_; }
  // Thread-safe and async-signal-safe: makes the running (or next) guest code trap with
  // TrapKind::interrupted at the next loop iteration or function call (loop-free code can still
  // run for ever: a call tree of depth 60 is 2^60 calls). Compiled code running on another
  // thread is also sent a signal (docs/wasm.md: interruption); a thread that handles signals of
  // its own blocks native_interrupt_signal() in those handlers, or calls this again until the
  // call returns (the wasm tier's watchdog does both).
  void interrupt();
  void clear_interrupt() { interrupt_.store(0, std::memory_order_relaxed); }
  bool interrupted() const { return (interrupt_.load(std::memory_order_relaxed) & kInterruptStop) != 0; }
  // Tier-up (docs/wasm.md: --engine auto): `install` is what the running interpreter calls, on its
  // own thread and between two instructions (at its next loop iteration or call), once another
  // thread has asked with request_tier_up(); calls made after it runs enter any compiled code it
  // attached. Set before the run, never while code runs. request_tier_up is thread-safe and
  // async-signal-safe; a request that no interpreter sees before the run ends is dropped.
  void set_tier_up(std::function<void()> install);
  void request_tier_up() { interrupt_.fetch_or(kTierUpRequest, std::memory_order_release); }
  void set_fuel(std::optional<std::uint64_t> fuel) { limits_.fuel = fuel; }
  std::optional<std::uint64_t> fuel() const { return limits_.fuel; }
  // Set before instantiating: instances made later run in this engine (default interp). With a
  // non-empty cache_dir, compiled code is kept there between runs (docs/wasm.md: the cache).
  void set_engine(Engine engine, std::string cache_dir = {});
  Engine engine() const;

  // Standalone objects (the spectest module, host-provided memories).
  Function* create_host_function(FuncType type, HostFunction fn, std::string debug_name = {});
  Result<Memory*> create_memory(MemoryType type);
  Result<Table*> create_table(TableType type, std::uint64_t init = 0);
  Global* create_global(GlobalType type, std::uint64_t value);

  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  StoreLimits limits_;
  // The flag that guest code polls at loops and calls: kInterruptStop (interrupt()) and
  // kTierUpRequest (request_tier_up(): only the interpreter polls while one is pending, since an
  // instance asks to tier up only while none of its code is compiled).
  static constexpr std::uint32_t kInterruptStop = 1, kTierUpRequest = 2;
  std::atomic<std::uint32_t> interrupt_{0};
  std::unique_ptr<Impl> impl_;
  friend class Instance;
  friend struct Runtime;
};

class Instance {
 public:
  std::optional<Extern> find_export(std::string_view name) const;
  // Calls an exported function. An Error when there is no such export or the arguments do not
  // match its type; everything the guest does is in the CallOutcome.
  Result<CallOutcome> call(std::string_view export_name, std::span<const std::uint64_t> args);
  Result<CallOutcome> call(Function* function, std::span<const std::uint64_t> args);

  // Memory 0 (empty view if none).
  MemoryView memory() const;
  // Host access to memory 0, bounds-checked.
  Result<void> read_memory(std::uint64_t offset, std::span<std::uint8_t> out) const;
  Result<void> write_memory(std::uint64_t offset, std::span<const std::uint8_t> in);

  const Module& module() const { return module_; }
  Store& store() const { return store_; }
  // Whether the functions run as compiled code (Engine::compiled, or automatic with a cached
  // module) rather than in the interpreter.
  bool runs_compiled_code() const;

  struct State;
  State& state() { return *state_; }
  const State& state() const { return *state_; }
  ~Instance();

 private:
  Instance(Store& store, Module module);
  Store& store_;
  Module module_;
  std::unique_ptr<State> state_;
  friend struct Runtime;
};

// Inspecting and using standalone runtime objects.
const FuncType& function_type(const Function* function);
Result<CallOutcome> call_function(Store& store, Function* function, std::span<const std::uint64_t> args);
MemoryView memory_view(const Memory* memory);
std::uint32_t memory_pages(const Memory* memory);
std::uint64_t global_get(const Global* global);       // a v128's low half
std::uint64_t global_get_high(const Global* global);  // a v128's high half
GlobalType global_type(const Global* global);
std::uint32_t table_size(const Table* table);

// Resolves imports by (module, name).
class Linker {
 public:
  Linker();
  ~Linker();
  Linker(Linker&&) noexcept;
  Linker& operator=(Linker&&) noexcept;

  // A host function the guest imports as module.name with exactly this type.
  void define_function(Store& store, std::string module, std::string name, FuncType type, HostFunction fn);
  void define(std::string module, std::string name, Extern value);
  // Makes every export of `instance` importable as module_name.<export>.
  void register_instance(std::string module_name, const Instance& instance);
  std::optional<Extern> find(std::string_view module, std::string_view name) const;

  // Resolves imports (an Error names the unresolved or mistyped import: "unknown import" /
  // "incompatible import type"), allocates memories/tables/globals, applies element and data
  // segments, runs the start function. An Error also when the start function traps or a segment
  // is out of bounds (the message is the trap's). With a non-empty register_as the instance's
  // exports become importable under that name.
  Result<Instance*> instantiate(Store& store, const Module& module, std::string register_as = {});
  // The same, for embedders that run programs: what the start function does is the program's
  // outcome, not an Error. `start` is `returned` when there is no start function; when it is not
  // `returned`, the instance is not usable (nullptr). Errors are what instantiate() returns before
  // the start function runs.
  Result<Instance*> instantiate(Store& store, const Module& module, CallOutcome& start,
                                std::string register_as = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace spectrum::wasm
