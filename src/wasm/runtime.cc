// The runtime: modules' public face, the store and its objects, instantiation and linking, and
// the entry into the interpreter.
#include "wasm/runtime.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>

#include "wasm/module.h"

namespace spectrum::wasm {

// ---------------------------------------------------------------------------------------------
// Names

std::string_view to_string(ValType type) {
  switch (type) {
    case ValType::i32:
      return "i32";
    case ValType::i64:
      return "i64";
    case ValType::f32:
      return "f32";
    case ValType::f64:
      return "f64";
    case ValType::v128:
      return "v128";
    case ValType::funcref:
      return "funcref";
    case ValType::externref:
      return "externref";
  }
  return "unknown";
}

std::string to_string(const FuncType& type) {
  std::string out = "(";
  for (std::size_t i = 0; i < type.params.size(); ++i) {
    if (i) out += ", ";
    out += to_string(type.params[i]);
  }
  out += ") -> (";
  for (std::size_t i = 0; i < type.results.size(); ++i) {
    if (i) out += ", ";
    out += to_string(type.results[i]);
  }
  return out + ")";
}

std::string_view to_string(ExternKind kind) {
  switch (kind) {
    case ExternKind::func:
      return "function";
    case ExternKind::table:
      return "table";
    case ExternKind::memory:
      return "memory";
    case ExternKind::global:
      return "global";
  }
  return "unknown";
}

std::string_view to_string(TrapKind kind) {
  switch (kind) {
    case TrapKind::unreachable:
      return "unreachable";
    case TrapKind::memory_out_of_bounds:
      return "out of bounds memory access";
    case TrapKind::table_out_of_bounds:
      return "out of bounds table access";
    case TrapKind::undefined_element:
      return "undefined element";
    case TrapKind::uninitialized_element:
      return "uninitialized element";
    case TrapKind::indirect_call_type_mismatch:
      return "indirect call type mismatch";
    case TrapKind::integer_divide_by_zero:
      return "integer divide by zero";
    case TrapKind::integer_overflow:
      return "integer overflow";
    case TrapKind::invalid_conversion:
      return "invalid conversion to integer";
    case TrapKind::null_reference:
      return "null reference";
    case TrapKind::stack_exhausted:
      return "call stack exhausted";
    case TrapKind::interrupted:
      return "interrupted";
    case TrapKind::out_of_fuel:
      return "out of fuel";
    case TrapKind::host:
      return "host trap";
    case TrapKind::data_segment_dropped:
      return "data segment dropped";
    case TrapKind::out_of_memory:
      return "out of memory";
  }
  return "trap";
}

std::string Trap::describe() const {
  char where[64];
  std::snprintf(where, sizeof where, " at byte 0x%x", offset);
  return message + " in " + (function.empty() ? std::string("?") : function) + where;
}

std::string function_display_name(const Function& f) {
  if (f.is_host()) return f.debug_name.empty() ? std::string("host function") : f.debug_name;
  const ModuleData& m = f.instance->module().data();
  if (auto it = m.function_names.find(f.index); it != m.function_names.end()) return it->second;
  for (const auto& e : m.exports)
    if (e.kind == ExternKind::func && e.index == f.index) return e.name;
  return "func[" + std::to_string(f.index) + "]";
}

// ---------------------------------------------------------------------------------------------
// Module

struct ModuleAccess {
  static Module make(ModuleData data) {
    Module m;
    m.data_ = std::make_shared<const ModuleData>(std::move(data));
    return m;
  }
};

Result<Module> Module::decode(std::span<const std::uint8_t> bytes) {
  return ModuleAccess::make(SPECTRUM_TRY(decode_module(bytes)));
}
Result<void> Module::validate() const { return validate_module(*data_); }
Result<Module> Module::load(std::span<const std::uint8_t> bytes) {
  Module m = SPECTRUM_TRY(decode(bytes));
  SPECTRUM_TRY(m.validate());
  return m;
}
std::span<const ImportInfo> Module::imports() const { return data_->imports; }
std::span<const ExportInfo> Module::exports() const { return data_->exports; }
std::span<const SectionInfo> Module::sections() const { return data_->sections; }
const FuncType* Module::function_type(std::uint32_t index) const {
  if (index >= data_->func_types.size()) return nullptr;
  return &data_->func_type(index);
}
std::uint32_t Module::function_count() const { return static_cast<std::uint32_t>(data_->func_types.size()); }
std::string_view Module::function_name(std::uint32_t index) const {
  auto it = data_->function_names.find(index);
  return it == data_->function_names.end() ? std::string_view() : std::string_view(it->second);
}
std::optional<std::uint32_t> Module::start_function() const { return data_->start; }

// ---------------------------------------------------------------------------------------------
// Runtime objects

namespace {
// Tables are vectors of 8-byte references: keep a runaway table.grow from eating the host.
constexpr std::uint32_t kMaxTableElements = 10'000'000;
// What one runtime object the module asks for (a function, a global, a table) costs the budget:
// the object and the allocator's overhead.
template <class T>
constexpr std::uint64_t kObjectBytes = sizeof(T) + 16;

std::unexpected<Error> over_budget(const std::string& what) {
  return fail(what + " would exceed the memory limit", ENOMEM);
}

Memory& empty_memory() {
  static Memory m;
  return m;
}
}  // namespace

Memory::~Memory() {
  if (data && reserved) ::munmap(data, reserved);
}

std::int32_t Memory::grow(std::uint32_t delta) {
  const std::uint32_t old = pages;
  const std::uint64_t wanted = static_cast<std::uint64_t>(pages) + delta;
  if (wanted > max_pages) return -1;
  if (delta == 0) return static_cast<std::int32_t>(old);
  const std::uint64_t new_size = wanted * kPageSize;
  if (budget && !budget->charge(new_size - size)) return -1;
  if (::mprotect(data + size, new_size - size, PROT_READ | PROT_WRITE) != 0) {
    if (budget) budget->release(new_size - size);
    return -1;
  }
  pages = static_cast<std::uint32_t>(wanted);
  size = new_size;
  return static_cast<std::int32_t>(old);
}

std::int32_t Table::grow(std::uint32_t delta, std::uint64_t init) {
  const std::uint64_t old = elements.size();
  const std::uint64_t wanted = old + delta;
  const std::uint64_t limit = std::min<std::uint64_t>(max.value_or(0xFFFFFFFFu), kMaxTableElements);
  if (wanted > limit) return -1;
  const std::uint64_t capacity = elements.capacity();
  if (wanted > capacity) {
    // Growth is geometric, as std::vector's, but every byte of it charged: the new storage while
    // the old one is still held (a reallocation holds both), then the old one returned. When the
    // doubled size does not fit, the exact size may.
    std::uint64_t new_capacity = std::max(wanted, std::min(capacity * 2, limit));
    if (budget && !budget->charge(new_capacity * sizeof(std::uint64_t))) {
      new_capacity = wanted;
      if (!budget->charge(new_capacity * sizeof(std::uint64_t))) return -1;
    }
    std::vector<std::uint64_t> grown;
    grown.reserve(new_capacity);
    grown.assign(elements.begin(), elements.end());
    elements.swap(grown);
    std::vector<std::uint64_t>().swap(grown);
    if (budget) budget->release(capacity * sizeof(std::uint64_t));
  }
  elements.resize(wanted, init);
  return static_cast<std::int32_t>(old);
}

Store::Impl::~Impl() {
  if (value_stack) ::munmap(value_stack, value_stack_slots * sizeof(std::uint64_t));
  if (frames) ::munmap(frames, static_cast<std::size_t>(frame_capacity) * sizeof(Frame));
}

std::uint32_t Store::Impl::type_id(const FuncType& type) {
  for (std::size_t i = 0; i < canonical_types.size(); ++i)
    if (canonical_types[i] == type) return static_cast<std::uint32_t>(i);
  canonical_types.push_back(type);
  return static_cast<std::uint32_t>(canonical_types.size() - 1);
}

Result<void> Store::Impl::ensure_stacks(const StoreLimits& limits) {
  if (value_stack) return {};
  // Reserved, not committed: only the pages a run actually touches count. Under a budget they are
  // charged as if touched, sized to an eighth of what is left (a deep recursion then exhausts the
  // stack instead of the host).
  std::uint64_t slots = limits.value_stack_slots;
  std::uint32_t max_depth = limits.max_call_depth;
  if (budget.limit != UINT64_MAX) {
    const std::uint64_t share = std::max<std::uint64_t>(budget.left() / 8, 64 * 1024);
    const std::uint64_t frames_share = share / 4;
    max_depth = static_cast<std::uint32_t>(std::min<std::uint64_t>(
        max_depth, frames_share / sizeof(Frame) > 0 ? frames_share / sizeof(Frame) - 1 : 0));
    slots = std::min<std::uint64_t>(slots, (share - frames_share) / sizeof(std::uint64_t));
    if (!budget.charge(slots * sizeof(std::uint64_t) + (std::uint64_t{max_depth} + 1) * sizeof(Frame)))
      return over_budget("the wasm stacks");
  }
  const std::size_t bytes = slots * sizeof(std::uint64_t);
  void* p =
      ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return fail_errno("reserving the wasm value stack");
  const std::size_t frame_bytes = static_cast<std::size_t>(max_depth + 1) * sizeof(Frame);
  void* f = ::mmap(nullptr, frame_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
  if (f == MAP_FAILED) {
    ::munmap(p, bytes);
    return fail_errno("reserving the wasm call stack");
  }
  value_stack = static_cast<std::uint64_t*>(p);
  value_stack_slots = slots;
  stack_top = value_stack;
  frames = static_cast<Frame*>(f);
  frame_capacity = max_depth + 1;
  return {};
}

Store::Store(StoreLimits limits) : limits_(limits), impl_(std::make_unique<Impl>()) {
  impl_->budget.limit = limits.max_memory_bytes.value_or(UINT64_MAX);
}
Store::~Store() = default;

void Store::interrupt() {
  interrupt_.fetch_or(kInterruptStop, std::memory_order_release);
  interrupt_native_code(*impl_);
}

void Store::set_tier_up(std::function<void()> install) {
  interrupt_.fetch_and(~kTierUpRequest, std::memory_order_relaxed);  // one for the previous hook
  impl_->tier_up = std::move(install);
}

bool Runtime::serve_tier_up(Store& store) {
  std::atomic<std::uint32_t>& flag = store.interrupt_;
  if (flag.load(std::memory_order_acquire) != Store::kTierUpRequest) return false;
  flag.fetch_and(~Store::kTierUpRequest, std::memory_order_acq_rel);
  if (store.impl_->tier_up) store.impl_->tier_up();
  return true;
}

Function* Store::create_host_function(FuncType type, HostFunction fn, std::string debug_name) {
  auto f = std::make_unique<Function>();
  f->own_type = std::make_unique<FuncType>(std::move(type));
  f->type = f->own_type.get();
  f->type_id = impl_->type_id(*f->type);
  f->param_count = slot_count(f->type->params);
  f->result_count = slot_count(f->type->results);
  f->host = std::move(fn);
  f->debug_name = std::move(debug_name);
  impl_->functions.push_back(std::move(f));
  return impl_->functions.back().get();
}

Result<Memory*> Store::create_memory(MemoryType type) {
  const std::uint32_t cap = std::min(limits_.max_memory_pages, kMaxPages);
  if (type.limits.min > cap)
    return fail("memory of " + std::to_string(type.limits.min) + " pages exceeds the limit of " +
                std::to_string(cap) + " pages");
  auto m = std::make_unique<Memory>();
  m->budget = &impl_->budget;
  m->declared_max = type.limits.max;
  m->max_pages = std::min(type.limits.max.value_or(kMaxPages), cap);
  m->reserved = std::max<std::uint64_t>(static_cast<std::uint64_t>(m->max_pages) * kPageSize, 4096);
  void* p = MAP_FAILED;
  // Compiled code relies on the guard for bounds; where the address space is limited (RLIMIT_AS)
  // the memory is reserved as for the interpreter and compiled code checks every access.
  // Address space only: no page is committed (hello-world's peak RSS is the same with and without).
  if (impl_->engine != Engine::interp && !std::getenv("SPECTRUM_WASM_NO_GUARD")) {
    p = ::mmap(nullptr, kGuardedReservation, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p != MAP_FAILED) {
      m->reserved = kGuardedReservation;
      m->guarded = true;
    }
  }
  if (p == MAP_FAILED)
    p = ::mmap(nullptr, m->reserved, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return fail_errno("reserving linear memory");
  m->data = static_cast<std::uint8_t*>(p);
  if (static_cast<std::uint64_t>(type.limits.min) * kPageSize > impl_->budget.left())
    return over_budget("linear memory of " + std::to_string(type.limits.min) + " pages");
  if (m->grow(type.limits.min) < 0) return fail("cannot commit the initial linear memory");
  impl_->memories.push_back(std::move(m));
  return impl_->memories.back().get();
}

Result<Table*> Store::create_table(TableType type, std::uint64_t init) {
  if (type.limits.min > kMaxTableElements)
    return fail("table of " + std::to_string(type.limits.min) + " elements is too large");
  if (!impl_->budget.charge(kObjectBytes<Table> + std::uint64_t{type.limits.min} * sizeof(std::uint64_t)))
    return over_budget("table of " + std::to_string(type.limits.min) + " elements");
  auto t = std::make_unique<Table>();
  t->type = type.element;
  t->max = type.limits.max;
  t->budget = &impl_->budget;
  t->elements.assign(type.limits.min, init);
  impl_->tables.push_back(std::move(t));
  return impl_->tables.back().get();
}

Global* Store::create_global(GlobalType type, std::uint64_t value) {
  auto g = std::make_unique<Global>();
  g->type = type;
  g->value = value;
  impl_->globals.push_back(std::move(g));
  return impl_->globals.back().get();
}

void Store::set_engine(Engine engine, std::string cache_dir) {
  impl_->engine = engine;
  impl_->cache_dir = std::move(cache_dir);
}
Engine Store::engine() const { return impl_->engine; }
std::string_view to_string(Engine engine) {
  switch (engine) {
    case Engine::interp:
      return "interp";
    case Engine::compiled:
      return "compiled";
    case Engine::automatic:
      return "auto";
  }
  return "unknown";
}

const FuncType& function_type(const Function* function) { return *function->type; }
MemoryView memory_view(const Memory* memory) { return {memory->data, memory->size}; }
std::uint32_t memory_pages(const Memory* memory) { return memory->pages; }
std::uint64_t global_get(const Global* global) { return global->value; }
std::uint64_t global_get_high(const Global* global) { return global->value_high; }
GlobalType global_type(const Global* global) { return global->type; }
std::uint32_t table_size(const Table* table) { return static_cast<std::uint32_t>(table->elements.size()); }

MemoryView HostCall::memory() const {
  if (!caller_) return {};
  const auto& mems = caller_->state().memories;
  if (mems.empty()) return {};
  return memory_view(mems[0]);
}

// ---------------------------------------------------------------------------------------------
// Calls

CallOutcome Runtime::invoke(Store& store, Function* function, std::span<const std::uint64_t> args) {
  CallOutcome out;
  Store::Impl& S = store.impl();
  if (auto ok = S.ensure_stacks(store.limits()); !ok) {
    out.kind = CallOutcome::Kind::trapped;
    const TrapKind kind =
        ok.error().sys_errno() == ENOMEM ? TrapKind::out_of_memory : TrapKind::stack_exhausted;
    out.trap = Trap{kind, ok.error().message(), function_display_name(*function), 0};
    return out;
  }
  const bool top_level = S.depth == 0 && S.stack_top == S.value_stack;
  if (top_level)
    S.fuel = store.fuel() ? static_cast<std::int64_t>(std::min<std::uint64_t>(*store.fuel(), INT64_MAX))
                          : std::numeric_limits<std::int64_t>::max();
  std::uint64_t* fp = S.stack_top;
  const std::uint32_t np = function->param_count, nr = function->result_count;
  if (fp + std::max(np, nr) + 1 > S.value_stack + S.value_stack_slots) {
    out.kind = CallOutcome::Kind::trapped;
    out.trap = Trap{TrapKind::stack_exhausted, std::string(to_string(TrapKind::stack_exhausted)),
                    function_display_name(*function), 0};
    return out;
  }
  std::copy(args.begin(), args.end(), fp);
  Status status;
  Trap trap;
  std::int32_t exit_code = 0;
  if (function->is_host()) {
    HostCall call(nullptr, store);
    std::vector<std::uint64_t> in(args.begin(), args.end());
    HostResult r = function->host(call, in.data(), fp);
    switch (r.kind) {
      case HostResult::Kind::ok:
        status = Status::returned;
        break;
      case HostResult::Kind::exit:
        status = Status::exited;
        exit_code = r.exit_code;
        break;
      case HostResult::Kind::trap:
        status = Status::trapped;
        trap = Trap{TrapKind::host, r.message, function_display_name(*function), 0};
        break;
      case HostResult::Kind::interrupted:
      default:
        status = Status::trapped;
        trap = Trap{TrapKind::interrupted, std::string(to_string(TrapKind::interrupted)),
                    function_display_name(*function), 0};
        break;
    }
  } else if (function->native_entry) {
    status = execute_native(store, function, fp, trap, exit_code);
  } else {
    status = execute(&store, function, fp, trap, exit_code);
  }
  if (top_level && store.fuel())
    store.set_fuel(static_cast<std::uint64_t>(std::max<std::int64_t>(S.fuel, 0)));
  switch (status) {
    case Status::returned:
      out.kind = CallOutcome::Kind::returned;
      out.values.assign(fp, fp + nr);
      for (std::uint32_t i = 0, slot = 0; slot < nr; ++i, ++slot) {
        const ValType t = function->type->results[i];
        if (t == ValType::i32 || t == ValType::f32) out.values[slot] &= 0xFFFFFFFFu;
        if (t == ValType::v128) ++slot;
      }
      break;
    case Status::trapped:
      out.kind = CallOutcome::Kind::trapped;
      out.trap = std::move(trap);
      break;
    case Status::exited:
      out.kind = CallOutcome::Kind::exited;
      out.exit_code = exit_code;
      break;
  }
  return out;
}

bool translate(Budget& budget, Function& function) {
  std::unique_ptr<CompiledCode> code = compile_function(function);
  const std::uint64_t bytes =
      sizeof(CompiledCode) + code->code.capacity() * sizeof(std::uint32_t) +
      code->offsets.capacity() * sizeof(code->offsets[0]) +
      (code->constants.capacity() + code->frame_init.capacity()) * sizeof(std::uint64_t);
  if (!budget.charge(bytes)) return false;
  function.set_code(std::move(code));
  return true;
}

Result<CallOutcome> call_function(Store& store, Function* function, std::span<const std::uint64_t> args) {
  if (args.size() != function->param_count)
    return fail("function " + function_display_name(*function) + " takes " +
                std::to_string(function->param_count) + " arguments, got " + std::to_string(args.size()));
  return Runtime::invoke(store, function, args);
}

// ---------------------------------------------------------------------------------------------
// Instances

Instance::Instance(Store& store, Module module)
    : store_(store), module_(std::move(module)), state_(std::make_unique<State>()) {}
Instance::~Instance() = default;
bool Instance::runs_compiled_code() const { return state_->native_code != nullptr; }

Instance* Runtime::new_instance(Store& store, const Module& module) {
  store.impl().instances.push_back(std::unique_ptr<Instance>(new Instance(store, module)));
  return store.impl().instances.back().get();
}

std::optional<Extern> Instance::find_export(std::string_view name) const {
  auto it = state_->exports.find(std::string(name));
  if (it == state_->exports.end()) return std::nullopt;
  return it->second;
}

Result<CallOutcome> Instance::call(std::string_view export_name, std::span<const std::uint64_t> args) {
  auto e = find_export(export_name);
  if (!e || e->kind != ExternKind::func)
    return fail("no exported function '" + std::string(export_name) + "'");
  return call(e->func, args);
}
Result<CallOutcome> Instance::call(Function* function, std::span<const std::uint64_t> args) {
  return call_function(store_, function, args);
}

MemoryView Instance::memory() const {
  if (state_->memories.empty()) return {};
  return memory_view(state_->memories[0]);
}
Result<void> Instance::read_memory(std::uint64_t offset, std::span<std::uint8_t> out) const {
  const MemoryView m = memory();
  if (offset > m.size || out.size() > m.size - offset) return fail("memory read out of bounds");
  std::memcpy(out.data(), m.data + offset, out.size());
  return {};
}
Result<void> Instance::write_memory(std::uint64_t offset, std::span<const std::uint8_t> in) {
  const MemoryView m = memory();
  if (offset > m.size || in.size() > m.size - offset) return fail("memory write out of bounds");
  std::memcpy(m.data + offset, in.data(), in.size());
  return {};
}

// ---------------------------------------------------------------------------------------------
// Linker

struct Linker::Impl {
  std::map<std::string, Extern, std::less<>> names;
  static std::string key(std::string_view module, std::string_view name) {
    std::string k(module);
    k.push_back('\0');
    k.append(name);
    return k;
  }
};

Linker::Linker() : impl_(std::make_unique<Impl>()) {}
Linker::~Linker() = default;
Linker::Linker(Linker&&) noexcept = default;
Linker& Linker::operator=(Linker&&) noexcept = default;

void Linker::define_function(Store& store, std::string module, std::string name, FuncType type,
                             HostFunction fn) {
  Function* f = store.create_host_function(std::move(type), std::move(fn), module + "." + name);
  define(std::move(module), std::move(name), Extern{ExternKind::func, f, nullptr, nullptr, nullptr});
}
void Linker::define(std::string module, std::string name, Extern value) {
  impl_->names[Impl::key(module, name)] = value;
}
void Linker::register_instance(std::string module_name, const Instance& instance) {
  for (const auto& [name, ext] : instance.state().exports) define(module_name, name, ext);
}
std::optional<Extern> Linker::find(std::string_view module, std::string_view name) const {
  auto it = impl_->names.find(Impl::key(module, name));
  if (it == impl_->names.end()) return std::nullopt;
  return it->second;
}

namespace {

bool limits_match(std::uint64_t actual_min, std::optional<std::uint32_t> actual_max, const Limits& wanted) {
  if (actual_min < wanted.min) return false;
  if (wanted.max) {
    if (!actual_max || *actual_max > *wanted.max) return false;
  }
  return true;
}

std::uint64_t eval_const(const ConstExpr& e, const Instance::State& s) {
  switch (e.kind) {
    case ConstExpr::Kind::i32_const:
    case ConstExpr::Kind::i64_const:
    case ConstExpr::Kind::f32_const:
    case ConstExpr::Kind::f64_const:
    case ConstExpr::Kind::v128_const:
      return e.bits;
    case ConstExpr::Kind::ref_null:
      return 0;
    case ConstExpr::Kind::ref_func:
      return reinterpret_cast<std::uintptr_t>(s.funcs[e.index]);
    case ConstExpr::Kind::global_get:
      return s.globals[e.index]->value;
  }
  return 0;
}

}  // namespace

Result<Instance*> Linker::instantiate(Store& store, const Module& module, std::string register_as) {
  CallOutcome start;
  Instance* inst = SPECTRUM_TRY(instantiate(store, module, start, std::move(register_as)));
  // The trap's own text first: embedders (and the spec's assert_uninstantiable) match on it.
  if (start.kind == CallOutcome::Kind::trapped) return fail(start.trap.describe() + " (start function)");
  if (start.kind == CallOutcome::Kind::exited)
    return fail("start function exited with code " + std::to_string(start.exit_code));
  return inst;
}

Result<Instance*> Linker::instantiate(Store& store, const Module& module, CallOutcome& start,
                                      std::string register_as) {
  start = CallOutcome{};
  const ModuleData& m = module.data();
  // Resolve every import before creating anything.
  std::vector<Extern> resolved;
  for (std::size_t i = 0; i < m.imports.size(); ++i) {
    const ImportInfo& imp = m.imports[i];
    const std::string what = "import " + imp.module + "." + imp.name;
    auto ext = find(imp.module, imp.name);
    if (!ext) return fail("unknown import: " + what);
    if (ext->kind != imp.kind)
      return fail("incompatible import type: " + what + " is not a " + std::string(to_string(imp.kind)));
    switch (imp.kind) {
      case ExternKind::func:
        if (*ext->func->type != imp.func)
          return fail("incompatible import type: " + what + " has type " + to_string(*ext->func->type) +
                      ", expected " + to_string(imp.func));
        break;
      case ExternKind::table:
        if (ext->table->type != imp.table.element ||
            !limits_match(ext->table->elements.size(), ext->table->max, imp.table.limits))
          return fail("incompatible import type: " + what + " (table type)");
        break;
      case ExternKind::memory:
        if (!limits_match(ext->memory->pages, ext->memory->declared_max, imp.memory.limits))
          return fail("incompatible import type: " + what + " (memory limits)");
        break;
      case ExternKind::global:
        if (ext->global->type.type != imp.global.type || ext->global->type.mutable_ != imp.global.mutable_)
          return fail("incompatible import type: " + what + " (global type)");
        break;
    }
    resolved.push_back(*ext);
  }

  // What the module's counts cost before anything is made (tables and memories charge their own).
  Store::Impl& S = store.impl();
  std::uint64_t elem_items = 0;
  for (const auto& seg : m.elems) elem_items += seg.items.size();
  if (!S.budget.charge(m.bodies.size() * kObjectBytes<Function> +
                       m.global_defs.size() * kObjectBytes<Global> + elem_items * sizeof(std::uint64_t)))
    return over_budget("the module's " + std::to_string(m.bodies.size()) + " functions, " +
                       std::to_string(m.global_defs.size()) + " globals and " + std::to_string(elem_items) +
                       " element segment items");

  Instance* inst = Runtime::new_instance(store, module);
  Instance::State& s = inst->state();
  for (const Extern& e : resolved) {
    switch (e.kind) {
      case ExternKind::func:
        s.funcs.push_back(e.func);
        break;
      case ExternKind::table:
        s.tables.push_back(e.table);
        break;
      case ExternKind::memory:
        s.memories.push_back(e.memory);
        break;
      case ExternKind::global:
        s.globals.push_back(e.global);
        break;
    }
  }
  for (std::size_t i = m.imported_tables; i < m.tables.size(); ++i)
    s.tables.push_back(SPECTRUM_TRY(store.create_table(m.tables[i], 0)));
  for (std::size_t i = m.imported_memories; i < m.memories.size(); ++i)
    s.memories.push_back(SPECTRUM_TRY(store.create_memory(m.memories[i])));
  Memory* memory0 = s.memories.empty() ? &empty_memory() : s.memories[0];
  for (std::size_t i = 0; i < m.bodies.size(); ++i) {
    auto f = std::make_unique<Function>();
    const std::uint32_t index = m.imported_funcs + static_cast<std::uint32_t>(i);
    f->type = &m.func_type(index);
    f->type_id = S.type_id(*f->type);
    f->param_count = slot_count(f->type->params);
    f->result_count = slot_count(f->type->results);
    f->instance = inst;
    f->index = index;
    f->body = &m.bodies[i];
    f->memory = memory0;
    S.functions.push_back(std::move(f));
    s.funcs.push_back(S.functions.back().get());
  }
  for (const auto& g : m.global_defs) s.globals.push_back(store.create_global(g.type, 0));
  for (std::size_t i = 0; i < m.global_defs.size(); ++i) {
    Global* g = s.globals[m.imported_globals + i];
    const ConstExpr& init = m.global_defs[i].init;
    g->value = eval_const(init, s);
    // A v128's high half: its constant's, or the imported global's it reads.
    if (init.kind == ConstExpr::Kind::v128_const) g->value_high = init.bits_hi;
    if (init.kind == ConstExpr::Kind::global_get) g->value_high = s.globals[init.index]->value_high;
  }
  if (S.engine != Engine::interp) SPECTRUM_TRY(attach_native(store, *inst));
  for (const auto& e : m.exports) {
    Extern x{e.kind, nullptr, nullptr, nullptr, nullptr};
    switch (e.kind) {
      case ExternKind::func:
        x.func = s.funcs[e.index];
        break;
      case ExternKind::table:
        x.table = s.tables[e.index];
        break;
      case ExternKind::memory:
        x.memory = s.memories[e.index];
        break;
      case ExternKind::global:
        x.global = s.globals[e.index];
        break;
    }
    s.exports.emplace(e.name, x);
  }
  for (const auto& seg : m.elems) {
    std::vector<std::uint64_t> items;
    items.reserve(seg.items.size());
    for (const auto& item : seg.items) items.push_back(eval_const(item, s));
    s.elem_segments.push_back(std::move(items));
  }
  s.data_dropped.assign(m.datas.size(), false);
  if (!register_as.empty()) register_instance(register_as, *inst);

  // Segments in order; effects of earlier ones stay when a later one is out of bounds (2.0).
  for (std::size_t i = 0; i < m.elems.size(); ++i) {
    const ElemSegment& seg = m.elems[i];
    if (seg.mode == SegmentMode::active) {
      Table* t = s.tables[seg.table];
      const std::uint64_t offset = static_cast<std::uint32_t>(eval_const(seg.offset, s));
      const auto& items = s.elem_segments[i];
      if (offset + items.size() > t->elements.size())
        return fail("out of bounds table access: element segment " + std::to_string(i) +
                    " does not fit its table");
      std::copy(items.begin(), items.end(), t->elements.begin() + static_cast<std::ptrdiff_t>(offset));
    }
    if (seg.mode != SegmentMode::passive) s.elem_segments[i].clear();
  }
  for (std::size_t i = 0; i < m.datas.size(); ++i) {
    const DataSegment& seg = m.datas[i];
    if (seg.mode != SegmentMode::active) continue;
    Memory* mem = s.memories[seg.memory];
    const std::uint64_t offset = static_cast<std::uint32_t>(eval_const(seg.offset, s));
    const std::uint64_t len = seg.end - seg.begin;
    if (offset + len > mem->size)
      return fail("out of bounds memory access: data segment " + std::to_string(i) + " does not fit memory");
    if (len) std::memcpy(mem->data + offset, m.bytes.data() + seg.begin, len);
    s.data_dropped[i] = true;
  }
  if (m.start) {
    start = Runtime::invoke(store, s.funcs[*m.start], {});
    if (start.kind != CallOutcome::Kind::returned) return nullptr;
  }
  return inst;
}

}  // namespace spectrum::wasm
