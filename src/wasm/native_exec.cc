// Running compiled code: the entry (a jump buffer per activation), the helpers compiled code calls
// for what is not inline (calls through the runtime, tables, bulk memory, traps), and the fault
// handler that turns a guard-page access or a native stack overflow in compiled code into the
// interpreter's trap.
//
// Unwinding: a trap longjmps to the innermost execute() of this thread. Compiled frames hold no
// resources; a helper builds what it must (strings) in an inner scope and jumps after leaving it.
// The fault handler runs on an alternate stack with SA_NODEFER (so the signal is not left
// blocked after the jump) and only records POD facts; execute() builds the Trap after the jump.
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "wasm/native.h"

namespace spectrum::wasm {

namespace {

struct Activation {
  std::jmp_buf buf;
  Store* store = nullptr;
  Runtime::Status status = Runtime::Status::returned;
  Trap* trap = nullptr;
  std::int32_t* exit_code = nullptr;
  // Set by the fault handler (async-signal-safe facts only).
  int fault_kind = -1;
  std::uintptr_t fault_pc = 0;
  Activation* prev = nullptr;
};
thread_local Activation* t_active = nullptr;

// Code ranges of loaded modules, read by the fault handler: a fixed table of atomics.
constexpr std::size_t kMaxModules = 4096;
std::atomic<const NativeModule*> g_modules[kMaxModules];

const NativeModule* module_at(std::uintptr_t pc) {
  for (auto& slot : g_modules) {
    const NativeModule* m = slot.load(std::memory_order_acquire);
    if (m && pc >= m->code_begin && pc < m->code_end) return m;
  }
  return nullptr;
}

[[noreturn]] void unwind(Activation* a) { std::longjmp(a->buf, 1); }

Function* caller_function(NativeCtx* ctx, std::uint64_t site) { return ctx->funcs[site >> 32]; }

// Records a trap in the innermost activation and unwinds to it.
// `element`: the table index an uninitialized-element trap names (the reference interpreter's text).
[[noreturn]] void raise(NativeCtx* ctx, TrapKind kind, std::uint64_t site,
                        std::uint32_t element = UINT32_MAX) {
  Activation* a = t_active;
  {
    Trap& t = *a->trap;
    t.kind = kind;
    t.message = std::string(to_string(kind));
    if (element != UINT32_MAX) t.message += " " + std::to_string(element);
    t.function = function_display_name(*caller_function(ctx, site));
    t.offset = static_cast<std::uint32_t>(site);
    a->status = Runtime::Status::trapped;
  }
  unwind(a);
}

struct sigaction g_previous[32];

pid_t thread_id() {
  thread_local const pid_t tid = static_cast<pid_t>(::syscall(SYS_gettid));
  return tid;
}

// Any pc in compiled code is a safe point (compiled frames hold no resources: the fault handler
// unwinds from them too). Elsewhere (a helper, a host function, the interpreter) the signal is left
// to the polls: the interpreter's, spectrum_rt_call's and compiled code's at function entry, in
// loops with calls and before each loop without.
void on_interrupt(int, siginfo_t*, void* raw) {
  const int saved_errno = errno;
  auto* uc = static_cast<ucontext_t*>(raw);
  const auto pc = static_cast<std::uintptr_t>(uc->uc_mcontext.gregs[REG_RIP]);
  Activation* a = t_active;
  if (a && module_at(pc) && Runtime::interrupt_flag(*a->store).load(std::memory_order_acquire) != 0) {
    a->fault_kind = static_cast<int>(TrapKind::interrupted);
    a->fault_pc = pc;
    unwind(a);
  }
  errno = saved_errno;
}

void on_fault(int sig, siginfo_t* info, void* raw) {
  auto* uc = static_cast<ucontext_t*>(raw);
  const auto pc = static_cast<std::uintptr_t>(uc->uc_mcontext.gregs[REG_RIP]);
  const auto sp = static_cast<std::uintptr_t>(uc->uc_mcontext.gregs[REG_RSP]);
  Activation* a = t_active;
  if (a && module_at(pc)) {
    const auto addr = reinterpret_cast<std::uintptr_t>(info->si_addr);
    int kind = static_cast<int>(TrapKind::memory_out_of_bounds);
    if (sig == SIGSEGV && addr <= sp + 4096 && sp - addr < (1u << 20))
      kind = static_cast<int>(TrapKind::stack_exhausted);
    if (sig == SIGILL) kind = static_cast<int>(TrapKind::unreachable);
    if (sig == SIGFPE) kind = static_cast<int>(TrapKind::integer_divide_by_zero);
    a->fault_kind = kind;
    a->fault_pc = pc;
    unwind(a);
  }
  // Not compiled code's: the previous disposition takes it (the fault repeats on return).
  ::sigaction(sig, &g_previous[sig], nullptr);
}

void install_handlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    for (int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE}) ::sigaction(sig, &sa, &g_previous[sig]);
    // SA_RESTART: a blocking call the signal finds in a host function goes on (WASI's own
    // interruption is Wasi::interrupt).
    sa.sa_sigaction = on_interrupt;
    sa.sa_flags |= SA_RESTART;
    ::sigaction(native_interrupt_signal(), &sa, nullptr);
  });
  // The handler needs a stack of its own when the fault is a stack overflow.
  thread_local bool has_altstack = false;
  if (!has_altstack) {
    stack_t current{};
    ::sigaltstack(nullptr, &current);
    if (current.ss_flags & SS_DISABLE) {
      constexpr std::size_t kSize = 64 * 1024;
      void* p = ::mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p != MAP_FAILED) {
        stack_t ss{};
        ss.ss_sp = p;
        ss.ss_size = kSize;
        ::sigaltstack(&ss, nullptr);
      }
    }
    has_altstack = true;
  }
}

// The stack pointer below which compiled code traps on this thread. Below it stays a reserve for
// what compiled code calls on its deepest frame (host functions, the interpreter, the trap helper):
// compiled frames alone would meet the guard page in compiled code (a trap), but a helper's
// overflow is a plain crash. The search for the stack's bounds reads /proc/self/maps on the main
// thread, so it is done once per thread.
std::uintptr_t thread_stack_limit() {
  thread_local const std::uintptr_t limit = [] {
    const auto sp = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
    // Without the bounds: two megabytes below here, which every thread of ours has.
    std::uintptr_t low = sp > (2u << 20) ? sp - (2u << 20) : 0;
    std::size_t size = 2u << 20;
    pthread_attr_t attr;
    if (::pthread_getattr_np(::pthread_self(), &attr) == 0) {
      void* addr = nullptr;
      if (::pthread_attr_getstack(&attr, &addr, &size) == 0 && addr) {
        low = reinterpret_cast<std::uintptr_t>(addr);
        // An unlimited RLIMIT_STACK reports the whole gap below the stack: a gigabyte is plenty.
        if (sp - low > (1u << 30)) low = sp - (1u << 30);
      }
      ::pthread_attr_destroy(&attr);
    }
    return low + std::min<std::size_t>(256 * 1024, size / 4);
  }();
  return limit;
}

}  // namespace

void register_code(const NativeModule* code) {
  for (auto& slot : g_modules) {
    const NativeModule* expected = nullptr;
    if (slot.compare_exchange_strong(expected, code)) return;
  }
}
void unregister_code(const NativeModule* code) {
  for (auto& slot : g_modules) {
    const NativeModule* expected = code;
    if (slot.compare_exchange_strong(expected, nullptr)) return;
  }
}

// Loops without calls do not poll the interrupt flag on every iteration (docs/wasm.md:
// interruption): this signal stops them. A real-time signal of its own: SIGURG belongs to the wasm
// tier's watchdog.
int native_interrupt_signal() { return SIGRTMIN + 4; }

void interrupt_native_code(Store::Impl& store) {
  // The thread may have left compiled code since: the handler then ignores the signal.
  if (const pid_t tid = store.native_thread.load(); tid != 0)
    ::syscall(SYS_tgkill, ::getpid(), tid, native_interrupt_signal());
}

namespace {
std::string module_function_name(const ModuleData& m, std::uint32_t index) {
  if (auto it = m.function_names.find(index); it != m.function_names.end()) return it->second;
  for (const auto& e : m.exports)
    if (e.kind == ExternKind::func && e.index == index) return e.name;
  return "func[" + std::to_string(index) + "]";
}
}  // namespace

Runtime::Status native_execute(Store* store, Function* function, std::uint64_t* fp, Trap& trap,
                               std::int32_t& exit_code) {
  install_handlers();
  Store::Impl& S = store->impl();
  // Nested activations on this thread set the same limit and thread; the saved ones are another
  // thread's.
  const std::uintptr_t saved_limit = S.native_stack_limit;
  S.native_stack_limit = thread_stack_limit();
  const pid_t saved_thread = S.native_thread.exchange(thread_id());
  Activation a;
  a.store = store;
  a.trap = &trap;
  a.exit_code = &exit_code;
  a.prev = t_active;
  Activation* volatile self = &a;
  if (setjmp(a.buf) == 0) {
    t_active = &a;
    reinterpret_cast<NativeEntry>(function->native_entry)(function->native_ctx, fp);
    t_active = a.prev;
    S.native_stack_limit = saved_limit;
    S.native_thread.store(saved_thread);
    return Runtime::Status::returned;
  }
  Activation& done = *self;
  t_active = done.prev;
  S.native_stack_limit = saved_limit;
  S.native_thread.store(saved_thread);
  if (done.fault_kind >= 0) {
    trap.kind = static_cast<TrapKind>(done.fault_kind);
    trap.message = std::string(to_string(trap.kind));
    trap.function = "?";
    trap.offset = 0;
    if (const NativeModule* m = module_at(done.fault_pc)) {
      auto it =
          std::upper_bound(m->starts.begin(), m->starts.end(), std::make_pair(done.fault_pc, UINT32_MAX));
      if (it != m->starts.begin()) {
        const std::uint32_t index = std::prev(it)->second;
        trap.function = module_function_name(*m->module, index);
        trap.offset = m->module->bodies[index - m->module->imported_funcs].position;
      }
    }
    return Runtime::Status::trapped;
  }
  return done.status;
}

// ---------------------------------------------------------------------------------------------
// Helpers called by compiled code (extern "C", resolved by name when code is loaded).

namespace {

Table* table(NativeCtx* ctx, std::uint32_t index) { return ctx->instance->state().tables[index]; }
Memory* memory0(NativeCtx* ctx) { return ctx->instance->state().memories[0]; }

}  // namespace

extern "C" {

[[noreturn]] void spectrum_rt_trap(NativeCtx* ctx, std::uint32_t kind, std::uint64_t site) {
  raise(ctx, static_cast<TrapKind>(kind), site);
}

[[noreturn]] void spectrum_rt_interrupt(NativeCtx* ctx, std::uint64_t site) {
  raise(ctx, TrapKind::interrupted, site);
}

std::int32_t spectrum_rt_memory_grow(NativeCtx* ctx, std::uint32_t delta) {
  return memory0(ctx)->grow(delta);
}

void spectrum_rt_memory_fill(NativeCtx* ctx, std::uint32_t d, std::uint32_t value, std::uint32_t n,
                             std::uint64_t site) {
  Memory* m = memory0(ctx);
  if (std::uint64_t{d} + n > m->size) raise(ctx, TrapKind::memory_out_of_bounds, site);
  std::memset(m->data + d, static_cast<int>(value & 0xFF), n);
}

void spectrum_rt_memory_copy(NativeCtx* ctx, std::uint32_t d, std::uint32_t s, std::uint32_t n,
                             std::uint64_t site) {
  Memory* m = memory0(ctx);
  if (std::uint64_t{d} + n > m->size || std::uint64_t{s} + n > m->size)
    raise(ctx, TrapKind::memory_out_of_bounds, site);
  std::memmove(m->data + d, m->data + s, n);
}

void spectrum_rt_memory_init(NativeCtx* ctx, std::uint32_t segment, std::uint32_t d, std::uint32_t s,
                             std::uint32_t n, std::uint64_t site) {
  Memory* m = memory0(ctx);
  const ModuleData& md = ctx->instance->module().data();
  const DataSegment& seg = md.datas[segment];
  const std::uint64_t len = ctx->instance->state().data_dropped[segment] ? 0 : seg.end - seg.begin;
  if (std::uint64_t{s} + n > len || std::uint64_t{d} + n > m->size)
    raise(ctx, TrapKind::memory_out_of_bounds, site);
  if (n) std::memcpy(m->data + d, md.bytes.data() + seg.begin + s, n);
}

void spectrum_rt_data_drop(NativeCtx* ctx, std::uint32_t segment) {
  ctx->instance->state().data_dropped[segment] = true;
}

std::uint64_t spectrum_rt_table_get(NativeCtx* ctx, std::uint32_t t, std::uint32_t i, std::uint64_t site) {
  Table* tab = table(ctx, t);
  if (i >= tab->elements.size()) raise(ctx, TrapKind::table_out_of_bounds, site);
  return tab->elements[i];
}

void spectrum_rt_table_set(NativeCtx* ctx, std::uint32_t t, std::uint32_t i, std::uint64_t v,
                           std::uint64_t site) {
  Table* tab = table(ctx, t);
  if (i >= tab->elements.size()) raise(ctx, TrapKind::table_out_of_bounds, site);
  tab->elements[i] = v;
}

std::uint32_t spectrum_rt_table_size(NativeCtx* ctx, std::uint32_t t) {
  return static_cast<std::uint32_t>(table(ctx, t)->elements.size());
}

std::int32_t spectrum_rt_table_grow(NativeCtx* ctx, std::uint32_t t, std::uint64_t init,
                                    std::uint32_t delta) {
  return table(ctx, t)->grow(delta, init);
}

void spectrum_rt_table_fill(NativeCtx* ctx, std::uint32_t t, std::uint32_t i, std::uint64_t v,
                            std::uint32_t n, std::uint64_t site) {
  Table* tab = table(ctx, t);
  if (std::uint64_t{i} + n > tab->elements.size()) raise(ctx, TrapKind::table_out_of_bounds, site);
  std::fill_n(tab->elements.begin() + i, n, v);
}

void spectrum_rt_table_copy(NativeCtx* ctx, std::uint32_t dt, std::uint32_t st, std::uint32_t d,
                            std::uint32_t s, std::uint32_t n, std::uint64_t site) {
  Table* td = table(ctx, dt);
  Table* ts = table(ctx, st);
  if (std::uint64_t{d} + n > td->elements.size() || std::uint64_t{s} + n > ts->elements.size())
    raise(ctx, TrapKind::table_out_of_bounds, site);
  if (n) std::memmove(td->elements.data() + d, ts->elements.data() + s, n * sizeof(std::uint64_t));
}

void spectrum_rt_table_init(NativeCtx* ctx, std::uint32_t t, std::uint32_t segment, std::uint32_t d,
                            std::uint32_t s, std::uint32_t n, std::uint64_t site) {
  Table* tab = table(ctx, t);
  const auto& items = ctx->instance->state().elem_segments[segment];
  if (std::uint64_t{s} + n > items.size() || std::uint64_t{d} + n > tab->elements.size())
    raise(ctx, TrapKind::table_out_of_bounds, site);
  if (n) std::memcpy(tab->elements.data() + d, items.data() + s, n * sizeof(std::uint64_t));
}

void spectrum_rt_elem_drop(NativeCtx* ctx, std::uint32_t segment) {
  ctx->instance->state().elem_segments[segment].clear();
}

// call_indirect's checks (the interpreter's order and texts); the callee's typed code and context
// when it has compiled code, else nullptr (the caller then goes through spectrum_rt_call).
Function* spectrum_rt_indirect(NativeCtx* ctx, std::uint32_t t, std::uint32_t i, std::uint32_t type_index,
                               void** code, NativeCtx** callee_ctx, std::uint64_t site) {
  Table* tab = table(ctx, t);
  if (i >= tab->elements.size()) raise(ctx, TrapKind::undefined_element, site);
  auto* callee = reinterpret_cast<Function*>(static_cast<std::uintptr_t>(tab->elements[i]));
  if (!callee) raise(ctx, TrapKind::uninitialized_element, site, i);
  if (callee->type_id != ctx->type_ids[type_index]) raise(ctx, TrapKind::indirect_call_type_mismatch, site);
  *code = callee->native_typed;
  *callee_ctx = callee->native_ctx;
  return callee;
}

// Any function by the runtime's slot convention: host functions (with the caller's instance, as
// the interpreter calls them), functions with compiled code, and interpreted ones.
void spectrum_rt_call(NativeCtx* ctx, Function* callee, std::uint64_t* slots, std::uint64_t site) {
  if (callee->native_entry) {
    reinterpret_cast<NativeEntry>(callee->native_entry)(callee->native_ctx, slots);
    return;
  }
  Activation* a = t_active;
  bool unwinding = false;
  {
    if (ctx->interrupt->load(std::memory_order_relaxed) != 0) raise(ctx, TrapKind::interrupted, site);
    if (callee->is_host()) {
      const std::uint32_t np = callee->param_count;
      std::vector<std::uint64_t> args(slots, slots + np);
      HostCall call(ctx->instance, *ctx->store);
      HostResult r = callee->host(call, args.data(), slots);
      switch (r.kind) {
        case HostResult::Kind::ok:
          break;
        case HostResult::Kind::trap:
          *a->trap =
              Trap{TrapKind::host, std::move(r.message), function_display_name(*caller_function(ctx, site)),
                   static_cast<std::uint32_t>(site)};
          a->status = Runtime::Status::trapped;
          unwinding = true;
          break;
        case HostResult::Kind::exit:
          *a->exit_code = r.exit_code;
          a->status = Runtime::Status::exited;
          unwinding = true;
          break;
        case HostResult::Kind::interrupted:
          *a->trap =
              Trap{TrapKind::interrupted, std::string(to_string(TrapKind::interrupted)),
                   function_display_name(*caller_function(ctx, site)), static_cast<std::uint32_t>(site)};
          a->status = Runtime::Status::trapped;
          unwinding = true;
          break;
      }
    } else {
      // An interpreted function (of an instance in the interpreter).
      Trap trap;
      std::int32_t code = 0;
      const Runtime::Status status = call_interpreted(ctx->store, callee, slots, trap, code);
      if (status != Runtime::Status::returned) {
        if (status == Runtime::Status::trapped) *a->trap = std::move(trap);
        *a->exit_code = code;
        a->status = status;
        unwinding = true;
      }
    }
  }
  if (unwinding) unwind(a);
}

}  // extern "C"

void* helper_address(std::string_view name) {
  static const std::pair<std::string_view, void*> helpers[] = {
      {"spectrum_rt_trap", reinterpret_cast<void*>(&spectrum_rt_trap)},
      {"spectrum_rt_interrupt", reinterpret_cast<void*>(&spectrum_rt_interrupt)},
      {"spectrum_rt_memory_grow", reinterpret_cast<void*>(&spectrum_rt_memory_grow)},
      {"spectrum_rt_memory_fill", reinterpret_cast<void*>(&spectrum_rt_memory_fill)},
      {"spectrum_rt_memory_copy", reinterpret_cast<void*>(&spectrum_rt_memory_copy)},
      {"spectrum_rt_memory_init", reinterpret_cast<void*>(&spectrum_rt_memory_init)},
      {"spectrum_rt_data_drop", reinterpret_cast<void*>(&spectrum_rt_data_drop)},
      {"spectrum_rt_table_get", reinterpret_cast<void*>(&spectrum_rt_table_get)},
      {"spectrum_rt_table_set", reinterpret_cast<void*>(&spectrum_rt_table_set)},
      {"spectrum_rt_table_size", reinterpret_cast<void*>(&spectrum_rt_table_size)},
      {"spectrum_rt_table_grow", reinterpret_cast<void*>(&spectrum_rt_table_grow)},
      {"spectrum_rt_table_fill", reinterpret_cast<void*>(&spectrum_rt_table_fill)},
      {"spectrum_rt_table_copy", reinterpret_cast<void*>(&spectrum_rt_table_copy)},
      {"spectrum_rt_table_init", reinterpret_cast<void*>(&spectrum_rt_table_init)},
      {"spectrum_rt_elem_drop", reinterpret_cast<void*>(&spectrum_rt_elem_drop)},
      {"spectrum_rt_indirect", reinterpret_cast<void*>(&spectrum_rt_indirect)},
      {"spectrum_rt_call", reinterpret_cast<void*>(&spectrum_rt_call)},
  };
  for (const auto& [n, p] : helpers)
    if (n == name) return p;
  return nullptr;
}

}  // namespace spectrum::wasm
