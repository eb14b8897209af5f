// The interpreter: one function that runs compiled code with threaded dispatch (GCC's labels as
// values: every handler ends in its own indirect jump to the next, which predicts far better than
// one shared switch). Wasm calls do not recurse on the host stack: frames go to the store's own
// frame array, so deep guest recursion ends in a clean "call stack exhausted" trap.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "wasm/code.h"
#include "wasm/runtime.h"

namespace spectrum::wasm {
namespace {

const void* const* g_handlers = nullptr;

template <class T>
inline T rd(const std::uint64_t* fp, std::uint32_t offset) {
  T v;
  std::memcpy(&v, reinterpret_cast<const char*>(fp) + offset, sizeof(T));
  return v;
}
// Every slot write is 64 bits wide, 32-bit values zero-extended, so a slot can always be copied
// and handed to the host as a whole.
template <class T>
inline void wr(std::uint64_t* fp, std::uint32_t offset, T v) {
  std::uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  std::memcpy(reinterpret_cast<char*>(fp) + offset, &bits, 8);
}
// A constant operand: its slot image (64 bits, little-endian, narrower values zero-extended) in two
// code units.
template <class T>
inline T immediate(const std::uint32_t* p) {
  const std::uint64_t bits = static_cast<std::uint64_t>(p[0]) | static_cast<std::uint64_t>(p[1]) << 32;
  T v;
  std::memcpy(&v, &bits, sizeof(T));
  return v;
}
template <class T>
inline T* pointer_at(const std::uint32_t* p) {
  std::uint64_t v = static_cast<std::uint64_t>(p[0]) | static_cast<std::uint64_t>(p[1]) << 32;
  return reinterpret_cast<T*>(static_cast<std::uintptr_t>(v));
}

// A call from the guest to a host function. Kept out of the interpreter loop: its locals have
// destructors, which the threaded dispatch must never jump across.
[[gnu::noinline]] HostResult::Kind call_host(Store& store, Function* caller, Function* callee,
                                             std::uint64_t* callee_fp, std::string& message,
                                             std::int32_t& exit_code) {
  Store::Impl& S = store.impl();
  const std::uint32_t np = callee->param_count;
  // Results overwrite the argument slots: give the host a copy of the arguments.
  std::uint64_t small[16];
  std::vector<std::uint64_t> large;
  std::uint64_t* args = small;
  if (np > 16) {
    large.assign(callee_fp, callee_fp + np);
    args = large.data();
  } else {
    std::memcpy(small, callee_fp, np * sizeof(std::uint64_t));
  }
  // A host function may call back into the guest: its frames go above ours.
  std::uint64_t* const saved_top = S.stack_top;
  S.stack_top = callee_fp + std::max(np, callee->result_count) + 1;
  HostCall call(caller->instance, store);
  HostResult result = callee->host(call, args, callee_fp);
  S.stack_top = saved_top;
  if (result.kind == HostResult::Kind::trap) message = std::move(result.message);
  if (result.kind == HostResult::Kind::exit) exit_code = result.exit_code;
  return result.kind;
}

// A call of a function that tier-up compiled (docs/wasm.md: --engine auto): its arguments are in
// callee_fp's slots, which its uniform entry reads and overwrites with its results, as the
// interpreter's own frames do. Host calls it makes, and any interpreted code they call, go above.
[[gnu::noinline]] Runtime::Status call_compiled(Store& store, Function* callee, std::uint64_t* callee_fp,
                                                Trap& trap, std::int32_t& exit_code) {
  Store::Impl& S = store.impl();
  std::uint64_t* const saved_top = S.stack_top;
  S.stack_top = callee_fp + std::max(callee->param_count, callee->result_count) + 1;
  const Runtime::Status status = execute_native(store, callee, callee_fp, trap, exit_code);
  S.stack_top = saved_top;
  return status;
}

// Most frames are small: their image (padded by the compiler) is one fixed-size copy, a few
// vector moves; large ones (C functions with dozens of locals) go to memcpy's wide stores.
inline void enter_frame(const Function& f, std::uint64_t* fp) {
  const std::uint64_t* init = f.frame_init;
  const std::uint32_t n = f.frame_init_count;
  std::uint64_t* out = fp + f.param_slots;
  if (n <= kSmallFrameInit) [[likely]] {
    std::memcpy(out, init, kSmallFrameInit * sizeof(std::uint64_t));
    return;
  }
  if (n > 12) {
    std::memcpy(out, init, n * sizeof(std::uint64_t));
    return;
  }
  for (std::uint32_t i = 0; i < n; ++i) out[i] = init[i];
}

}  // namespace

const void* const* interpreter_handlers() {
  if (!g_handlers) {
    Trap unused;
    std::int32_t code = 0;
    Runtime::execute(nullptr, nullptr, nullptr, unused, code);
  }
  return g_handlers;
}

Runtime::Status Runtime::execute(Store* store_ptr, Function* entry, std::uint64_t* entry_fp, Trap& trap,
                                 std::int32_t& exit_code) {
  static const void* const handlers[] = {
#define CONTROL(id) &&op_##id,
      WASM_FOR_EACH_CONTROL_OP(CONTROL)
#undef CONTROL
#define NUMERIC(code, id, name, A, R, body) &&op_##id,
          WASM_FOR_EACH_UNARY(NUMERIC) WASM_FOR_EACH_SAT_UNARY(NUMERIC) WASM_FOR_EACH_BINARY(NUMERIC)
#undef NUMERIC
#define MEMORY(code, id, name, V, M, align) &&op_##id,
              WASM_FOR_EACH_LOAD(MEMORY) WASM_FOR_EACH_STORE(MEMORY)
#undef MEMORY
#define FUSED(id, T, body) &&op_br_##id,
                  WASM_FOR_EACH_FUSED_COMPARE(FUSED)
#undef FUSED
#define MEMORY(code, id, name, V, M, align) &&op_##id##_add,
                      WASM_FOR_EACH_LOAD(MEMORY) WASM_FOR_EACH_STORE(MEMORY)
#undef MEMORY
#define NUMERIC(code, id, name, A, R, body) &&op_##id##_imm,
                          WASM_FOR_EACH_BINARY(NUMERIC)
#undef NUMERIC
#define FUSED(id, T, body) &&op_br_##id##_imm,
                              WASM_FOR_EACH_FUSED_COMPARE(FUSED)
#undef FUSED
#define FUSED(id, T, body) &&op_br_add_##id,
                                  WASM_FOR_EACH_FUSED_COMPARE_I32(FUSED)
#undef FUSED
#define FUSED(id, T, body) &&op_br_add_##id##_imm,
                                      WASM_FOR_EACH_FUSED_COMPARE_I32(FUSED)
#undef FUSED
#define LOAD_OPERAND(id, load, T, body) &&op_##id##_load,
                                          WASM_FOR_EACH_LOAD_OPERAND(LOAD_OPERAND)
#undef LOAD_OPERAND
#define SHIFTED(id, shift, shift_body, body) &&op_##id##_##shift,
                                              WASM_FOR_EACH_SHIFTED_OPERAND(SHIFTED)
#undef SHIFTED
#define SIMD(code, id, ...) &&op_simd,
                                                  WASM_FOR_EACH_SIMD_OP(SIMD)
#undef SIMD
  };
  static_assert(sizeof(handlers) / sizeof(handlers[0]) == static_cast<std::size_t>(Op::count));
  if (!entry) {
    g_handlers = handlers;
    return Status::returned;
  }

  Store& store = *store_ptr;
  Store::Impl& S = store.impl();
  std::atomic<std::uint32_t>& interrupt = interrupt_flag(store);
  const std::uint32_t max_depth = std::min<std::uint32_t>(store.limits().max_call_depth, S.frame_capacity);
  std::uint64_t* const stack_end = S.value_stack + S.value_stack_slots;
  // The frame stack as pointers: a push or pop is one store or load plus the bound compare.
  Frame* const frame_base = S.frames + S.depth;
  Frame* const frame_limit = S.frames + max_depth;
  Frame* frame = frame_base;
  std::int64_t fuel = S.fuel;

  Function* fn = entry;
  std::uint64_t* fp = entry_fp;
  const std::uint32_t* pc = nullptr;
  TrapKind trap_kind = TrapKind::unreachable;
  std::string host_message;
  // The table index of an uninitialized element: the reference interpreter's trap text names it.
  std::uint32_t element_index = 0;
  Memory* memory = fn->memory;
  std::uint8_t* mem = memory->data;
  std::uint64_t mem_size = memory->size;
  Function* callee = nullptr;
  std::uint64_t* callee_fp = nullptr;
  const std::uint32_t* return_pc = nullptr;

#define OPERAND(i) pc[2 + (i)]
#define DISPATCH()                         \
  do {                                     \
    const void* next_;                     \
    std::memcpy(&next_, pc, sizeof next_); \
    goto* next_;                           \
  } while (0)
#define NEXT(units) \
  do {              \
    pc += (units);  \
    DISPATCH();     \
  } while (0)
// A conditional branch whose delta is operand `delta_operand`: jumps if `taken`, else falls through
// to the next instruction `units` on. Back edges (delta <= 0) check the interrupt flag and fuel.
#define BRANCH_IF(taken, delta_operand, units)                              \
  do {                                                                      \
    if (taken) {                                                            \
      const auto delta = static_cast<std::int32_t>(OPERAND(delta_operand)); \
      if (delta <= 0) CHECK_INTERRUPT();                                    \
      pc += delta;                                                          \
      DISPATCH();                                                           \
    }                                                                       \
    NEXT(units);                                                            \
  } while (0)
#define WASM_TRAP(kind)         \
  ({                            \
    trap_kind = TrapKind::kind; \
    goto do_trap;               \
    0;                          \
  })
#define CHECK_INTERRUPT()                                                            \
  do {                                                                               \
    if (interrupt.load(std::memory_order_relaxed) != 0 || --fuel < 0) [[unlikely]] { \
      if (!serve_tier_up(store)) goto interrupted;                                   \
    }                                                                                \
  } while (0)
#define RELOAD_MEMORY()      \
  do {                       \
    memory = fn->memory;     \
    mem = memory->data;      \
    mem_size = memory->size; \
  } while (0)
// Calls and returns within one instance keep memory 0; only a change of instance reloads it.
#define SWITCH_MEMORY()                    \
  do {                                     \
    if (fn->memory != memory) [[unlikely]] \
      RELOAD_MEMORY();                     \
  } while (0)
#define WASM_DIV_S(T, a, b)                                                            \
  ({                                                                                   \
    if (b == 0) WASM_TRAP(integer_divide_by_zero);                                     \
    if (static_cast<T>(a) == std::numeric_limits<T>::min() && static_cast<T>(b) == -1) \
      WASM_TRAP(integer_overflow);                                                     \
    static_cast<std::remove_cv_t<decltype(a)>>(static_cast<T>(a) / static_cast<T>(b)); \
  })
#define WASM_REM_S(T, a, b)                                                                  \
  ({                                                                                         \
    if (b == 0) WASM_TRAP(integer_divide_by_zero);                                           \
    static_cast<T>(b) == -1                                                                  \
        ? std::remove_cv_t<decltype(a)>{0}                                                   \
        : static_cast<std::remove_cv_t<decltype(a)>>(static_cast<T>(a) % static_cast<T>(b)); \
  })
#define WASM_DIV_U(a, b)                           \
  ({                                               \
    if (b == 0) WASM_TRAP(integer_divide_by_zero); \
    a / b;                                         \
  })
#define WASM_REM_U(a, b)                           \
  ({                                               \
    if (b == 0) WASM_TRAP(integer_divide_by_zero); \
    a % b;                                         \
  })
#define WASM_TRUNC(I, a)                                \
  ({                                                    \
    if (!num::trunc_in_range<I>(a)) {                   \
      if (std::isnan(a)) WASM_TRAP(invalid_conversion); \
      WASM_TRAP(integer_overflow);                      \
    }                                                   \
    static_cast<I>(a);                                  \
  })

  // Entry: the first frame is not pushed; its `ret` at base depth returns to the caller.
  callee = entry;
  callee_fp = entry_fp;
  return_pc = nullptr;
  goto enter_wasm;

  // ---- numeric
#define UNARY(code, id, name, A, R, body)        \
  op_##id : {                                    \
    const A a = rd<A>(fp, OPERAND(1));           \
    wr<R>(fp, OPERAND(0), static_cast<R>(body)); \
    NEXT(4);                                     \
  }
  WASM_FOR_EACH_UNARY(UNARY)
  WASM_FOR_EACH_SAT_UNARY(UNARY)
#undef UNARY
#define BINARY(code, id, name, A, R, body)       \
  op_##id : {                                    \
    const A a = rd<A>(fp, OPERAND(1));           \
    const A b = rd<A>(fp, OPERAND(2));           \
    wr<R>(fp, OPERAND(0), static_cast<R>(body)); \
    NEXT(5);                                     \
  }
  WASM_FOR_EACH_BINARY(BINARY)
#undef BINARY
#define BINARY_IMM(code, id, name, A, R, body)   \
  op_##id##_imm : {                              \
    const A a = rd<A>(fp, OPERAND(1));           \
    const A b = immediate<A>(&OPERAND(2));       \
    wr<R>(fp, OPERAND(0), static_cast<R>(body)); \
    NEXT(6);                                     \
  }
  WASM_FOR_EACH_BINARY(BINARY_IMM)
#undef BINARY_IMM
#define FUSED(id, T, body)             \
  op_br_##id : {                       \
    const T a = rd<T>(fp, OPERAND(0)); \
    const T b = rd<T>(fp, OPERAND(1)); \
    BRANCH_IF(body, 2, 5);             \
  }
  WASM_FOR_EACH_FUSED_COMPARE(FUSED)
#undef FUSED
#define FUSED_IMM(id, T, body)             \
  op_br_##id##_imm : {                     \
    const T a = rd<T>(fp, OPERAND(0));     \
    const T b = immediate<T>(&OPERAND(1)); \
    BRANCH_IF(body, 3, 6);                 \
  }
  WASM_FOR_EACH_FUSED_COMPARE(FUSED_IMM)
#undef FUSED_IMM
#define FUSED_ADD(id, T, body)                                                \
  op_br_add_##id : {                                                          \
    const std::uint32_t sum = rd<std::uint32_t>(fp, OPERAND(1)) + OPERAND(2); \
    wr<std::uint32_t>(fp, OPERAND(0), sum);                                   \
    const T a = sum;                                                          \
    const T b = rd<T>(fp, OPERAND(3));                                        \
    BRANCH_IF(body, 4, 7);                                                    \
  }
  WASM_FOR_EACH_FUSED_COMPARE_I32(FUSED_ADD)
#undef FUSED_ADD
#define FUSED_ADD_IMM(id, T, body)                                            \
  op_br_add_##id##_imm : {                                                    \
    const std::uint32_t sum = rd<std::uint32_t>(fp, OPERAND(1)) + OPERAND(2); \
    wr<std::uint32_t>(fp, OPERAND(0), sum);                                   \
    const T a = sum;                                                          \
    const T b = immediate<T>(&OPERAND(3));                                    \
    BRANCH_IF(body, 5, 8);                                                    \
  }
  WASM_FOR_EACH_FUSED_COMPARE_I32(FUSED_ADD_IMM)
#undef FUSED_ADD_IMM
#define LOAD_OPERAND(id, load, T, body)                                                                  \
  op_##id##_load : {                                                                                     \
    const std::uint64_t ea = static_cast<std::uint64_t>(rd<std::uint32_t>(fp, OPERAND(2))) + OPERAND(3); \
    if (ea + sizeof(T) > mem_size) [[unlikely]]                                                          \
      WASM_TRAP(memory_out_of_bounds);                                                                   \
    T b;                                                                                                 \
    std::memcpy(&b, mem + ea, sizeof(T));                                                                \
    const T a = rd<T>(fp, OPERAND(1));                                                                   \
    wr<T>(fp, OPERAND(0), static_cast<T>(body));                                                         \
    NEXT(6);                                                                                             \
  }
  WASM_FOR_EACH_LOAD_OPERAND(LOAD_OPERAND)
#undef LOAD_OPERAND
#define SHIFTED(id, shift, shift_body, body)                             \
  op_##id##_##shift : {                                                  \
    const std::uint32_t x = rd<std::uint32_t>(fp, OPERAND(2));           \
    const std::uint32_t k = OPERAND(3);                                  \
    const std::uint32_t a = rd<std::uint32_t>(fp, OPERAND(1));           \
    const std::uint32_t b = shift_body;                                  \
    wr<std::uint32_t>(fp, OPERAND(0), static_cast<std::uint32_t>(body)); \
    NEXT(6);                                                             \
  }
  WASM_FOR_EACH_SHIFTED_OPERAND(SHIFTED)
#undef SHIFTED

  // ---- memory
#define LOAD(code, id, name, V, M, align)                                                                \
  op_##id : {                                                                                            \
    const std::uint64_t ea = static_cast<std::uint64_t>(rd<std::uint32_t>(fp, OPERAND(1))) + OPERAND(2); \
    if (ea + sizeof(M) > mem_size) [[unlikely]]                                                          \
      WASM_TRAP(memory_out_of_bounds);                                                                   \
    M m;                                                                                                 \
    std::memcpy(&m, mem + ea, sizeof(M));                                                                \
    wr<V>(fp, OPERAND(0), static_cast<V>(m));                                                            \
    NEXT(5);                                                                                             \
  }
  WASM_FOR_EACH_LOAD(LOAD)
#undef LOAD
#define STORE(code, id, name, V, M, align)                                                               \
  op_##id : {                                                                                            \
    const std::uint64_t ea = static_cast<std::uint64_t>(rd<std::uint32_t>(fp, OPERAND(0))) + OPERAND(2); \
    if (ea + sizeof(M) > mem_size) [[unlikely]]                                                          \
      WASM_TRAP(memory_out_of_bounds);                                                                   \
    const M m = static_cast<M>(rd<V>(fp, OPERAND(1)));                                                   \
    std::memcpy(mem + ea, &m, sizeof(M));                                                                \
    NEXT(5);                                                                                             \
  }
  WASM_FOR_EACH_STORE(STORE)
#undef STORE
  // The address is (a + b) mod 2^32, then the offset without wrapping: exactly i32.add + load.
#define LOAD_ADD(code, id, name, V, M, align)                                                         \
  op_##id##_add : {                                                                                   \
    const std::uint32_t base = rd<std::uint32_t>(fp, OPERAND(1)) + rd<std::uint32_t>(fp, OPERAND(2)); \
    const std::uint64_t ea = static_cast<std::uint64_t>(base) + OPERAND(3);                           \
    if (ea + sizeof(M) > mem_size) [[unlikely]]                                                       \
      WASM_TRAP(memory_out_of_bounds);                                                                \
    M m;                                                                                              \
    std::memcpy(&m, mem + ea, sizeof(M));                                                             \
    wr<V>(fp, OPERAND(0), static_cast<V>(m));                                                         \
    NEXT(6);                                                                                          \
  }
  WASM_FOR_EACH_LOAD(LOAD_ADD)
#undef LOAD_ADD
#define STORE_ADD(code, id, name, V, M, align)                                                        \
  op_##id##_add : {                                                                                   \
    const std::uint32_t base = rd<std::uint32_t>(fp, OPERAND(1)) + rd<std::uint32_t>(fp, OPERAND(2)); \
    const std::uint64_t ea = static_cast<std::uint64_t>(base) + OPERAND(3);                           \
    if (ea + sizeof(M) > mem_size) [[unlikely]]                                                       \
      WASM_TRAP(memory_out_of_bounds);                                                                \
    const M m = static_cast<M>(rd<V>(fp, OPERAND(0)));                                                \
    std::memcpy(mem + ea, &m, sizeof(M));                                                             \
    NEXT(6);                                                                                          \
  }
  WASM_FOR_EACH_STORE(STORE_ADD)
#undef STORE_ADD

  // ---- SIMD: every instruction's function follows its handler (simd_interpreter.cc).
op_simd : {
  const std::uint64_t target = static_cast<std::uint64_t>(OPERAND(0)) | static_cast<std::uint64_t>(OPERAND(1))
                                                                            << 32;
  const std::uint32_t units =
      reinterpret_cast<SimdFunction>(static_cast<std::uintptr_t>(target))(fp, pc, mem, mem_size);
  if (units == 0) [[unlikely]]
    WASM_TRAP(memory_out_of_bounds);
  NEXT(units);
}

  // ---- control
op_unreachable:
  WASM_TRAP(unreachable);
op_jmp : {
  const auto delta = static_cast<std::int32_t>(OPERAND(0));
  if (delta <= 0) CHECK_INTERRUPT();
  pc += delta;
  DISPATCH();
}
op_br_if:
  BRANCH_IF(rd<std::uint32_t>(fp, OPERAND(0)) != 0, 1, 4);
op_br_unless:
  BRANCH_IF(rd<std::uint32_t>(fp, OPERAND(0)) == 0, 1, 4);
op_br_table : {
  std::uint32_t index = rd<std::uint32_t>(fp, OPERAND(0));
  const std::uint32_t n = OPERAND(1);
  if (index > n) index = n;
  pc += static_cast<std::int32_t>(OPERAND(2 + index));
  DISPATCH();
}
op_check:
  CHECK_INTERRUPT();
  NEXT(2);
op_copy:
  wr<std::uint64_t>(fp, OPERAND(0), rd<std::uint64_t>(fp, OPERAND(1)));
  NEXT(4);
op_copy2:
  wr<std::uint64_t>(fp, OPERAND(0), rd<std::uint64_t>(fp, OPERAND(1)));
  wr<std::uint64_t>(fp, OPERAND(2), rd<std::uint64_t>(fp, OPERAND(3)));
  NEXT(6);
op_copy3:
  wr<std::uint64_t>(fp, OPERAND(0), rd<std::uint64_t>(fp, OPERAND(1)));
  wr<std::uint64_t>(fp, OPERAND(2), rd<std::uint64_t>(fp, OPERAND(3)));
  wr<std::uint64_t>(fp, OPERAND(4), rd<std::uint64_t>(fp, OPERAND(5)));
  NEXT(8);
op_copy4:
  wr<std::uint64_t>(fp, OPERAND(0), rd<std::uint64_t>(fp, OPERAND(1)));
  wr<std::uint64_t>(fp, OPERAND(2), rd<std::uint64_t>(fp, OPERAND(3)));
  wr<std::uint64_t>(fp, OPERAND(4), rd<std::uint64_t>(fp, OPERAND(5)));
  wr<std::uint64_t>(fp, OPERAND(6), rd<std::uint64_t>(fp, OPERAND(7)));
  NEXT(10);
op_const64:
  wr<std::uint64_t>(fp, OPERAND(0),
                    static_cast<std::uint64_t>(OPERAND(1)) | static_cast<std::uint64_t>(OPERAND(2)) << 32);
  NEXT(5);
op_select:
  wr<std::uint64_t>(fp, OPERAND(0),
                    rd<std::uint32_t>(fp, OPERAND(3)) ? rd<std::uint64_t>(fp, OPERAND(1))
                                                      : rd<std::uint64_t>(fp, OPERAND(2)));
  NEXT(6);
op_global_get:
  wr<std::uint64_t>(fp, OPERAND(0), pointer_at<Global>(&OPERAND(1))->value);
  NEXT(5);
op_global_set:
  pointer_at<Global>(&OPERAND(1))->value = rd<std::uint64_t>(fp, OPERAND(0));
  NEXT(5);
op_ref_is_null:
  wr<std::uint32_t>(fp, OPERAND(0), rd<std::uint64_t>(fp, OPERAND(1)) == 0);
  NEXT(4);

op_ret:
  if (frame == frame_base) {
    S.fuel = fuel;
    return Status::returned;
  }
  {
    const Frame& f = *--frame;
    pc = f.return_pc;
    fp = f.fp;
    fn = f.function;
    SWITCH_MEMORY();
    DISPATCH();
  }

op_call:
  callee = pointer_at<Function>(&OPERAND(0));
  callee_fp = reinterpret_cast<std::uint64_t*>(reinterpret_cast<char*>(fp) + OPERAND(2));
  return_pc = pc + 5;
  goto do_call;
op_call_local : {
  // do_call and enter_wasm for the common case, without the checks that cannot fire here.
  Function* const target = pointer_at<Function>(&OPERAND(0));
  std::uint64_t* const target_fp = reinterpret_cast<std::uint64_t*>(reinterpret_cast<char*>(fp) + OPERAND(2));
  if (frame >= frame_limit || !target->entry || target->native_entry ||
      target_fp + target->frame_slots > stack_end) [[unlikely]] {
    callee = target;
    callee_fp = target_fp;
    return_pc = pc + 5;
    goto do_call;
  }
  CHECK_INTERRUPT();
  *frame++ = Frame{pc + 5, fp, fn};
  enter_frame(*target, target_fp);
  fn = target;
  fp = target_fp;
  pc = target->entry;
  DISPATCH();
}
op_call_indirect : {
  Table* table = pointer_at<Table>(&OPERAND(0));
  const std::uint32_t index = rd<std::uint32_t>(fp, OPERAND(3));
  if (index >= table->elements.size()) WASM_TRAP(undefined_element);
  callee = reinterpret_cast<Function*>(static_cast<std::uintptr_t>(table->elements[index]));
  if (!callee) {
    element_index = index;
    WASM_TRAP(uninitialized_element);
  }
  if (callee->type_id != OPERAND(2)) WASM_TRAP(indirect_call_type_mismatch);
  callee_fp = reinterpret_cast<std::uint64_t*>(reinterpret_cast<char*>(fp) + OPERAND(4));
  return_pc = pc + 7;
  goto do_call;
}

do_call:
  // Calls are checked as loops are: loop-free code can still make 2^60 calls.
  CHECK_INTERRUPT();
  if (callee->is_host()) [[unlikely]] {
    S.depth = static_cast<std::uint32_t>(frame - S.frames);
    S.fuel = fuel;
    const HostResult::Kind kind = call_host(store, fn, callee, callee_fp, host_message, exit_code);
    S.depth = static_cast<std::uint32_t>(frame_base - S.frames);
    fuel = S.fuel;
    RELOAD_MEMORY();
    switch (kind) {
      case HostResult::Kind::ok:
        break;
      case HostResult::Kind::trap:
        WASM_TRAP(host);
        break;
      case HostResult::Kind::exit:
        S.fuel = fuel;
        return Status::exited;
      case HostResult::Kind::interrupted:
        WASM_TRAP(interrupted);
        break;
    }
    pc = return_pc;
    DISPATCH();
  }
  if (callee->native_entry) [[unlikely]] {
    S.depth = static_cast<std::uint32_t>(frame - S.frames);
    const Status status = call_compiled(store, callee, callee_fp, trap, exit_code);
    S.depth = static_cast<std::uint32_t>(frame_base - S.frames);
    RELOAD_MEMORY();
    if (status != Status::returned) {
      S.fuel = fuel;
      return status;  // its trap (named in compiled code) or its exit
    }
    pc = return_pc;
    DISPATCH();
  }
  if (frame >= frame_limit) [[unlikely]]
    WASM_TRAP(stack_exhausted);
  *frame++ = Frame{return_pc, fp, fn};
enter_wasm:
  if (!callee->entry && !translate(S.budget, *callee)) [[unlikely]] {
    if (return_pc) --frame;  // report the trap in the caller
    WASM_TRAP(out_of_memory);
  }
  if (callee_fp + callee->frame_slots > stack_end) [[unlikely]] {
    if (return_pc) --frame;  // report the trap in the caller
    WASM_TRAP(stack_exhausted);
  }
  enter_frame(*callee, callee_fp);
  fn = callee;
  fp = callee_fp;
  pc = callee->entry;
  SWITCH_MEMORY();
  DISPATCH();

  // ---- memory and table instructions
op_memory_size:
  wr<std::uint32_t>(fp, OPERAND(0), memory->pages);
  NEXT(3);
op_memory_grow : {
  const std::int32_t old = memory->grow(rd<std::uint32_t>(fp, OPERAND(1)));
  RELOAD_MEMORY();
  wr<std::uint32_t>(fp, OPERAND(0), static_cast<std::uint32_t>(old));
  NEXT(4);
}
op_memory_fill : {
  const std::uint64_t d = rd<std::uint32_t>(fp, OPERAND(0));
  const std::uint8_t value = static_cast<std::uint8_t>(rd<std::uint32_t>(fp, OPERAND(1)));
  const std::uint64_t n = rd<std::uint32_t>(fp, OPERAND(2));
  if (d + n > mem_size) WASM_TRAP(memory_out_of_bounds);
  std::memset(mem + d, value, n);
  NEXT(5);
}
op_memory_copy : {
  const std::uint64_t d = rd<std::uint32_t>(fp, OPERAND(0));
  const std::uint64_t s = rd<std::uint32_t>(fp, OPERAND(1));
  const std::uint64_t n = rd<std::uint32_t>(fp, OPERAND(2));
  if (d + n > mem_size || s + n > mem_size) WASM_TRAP(memory_out_of_bounds);
  std::memmove(mem + d, mem + s, n);
  NEXT(5);
}
op_memory_init : {
  const std::uint32_t segment = OPERAND(0);
  const std::uint64_t d = rd<std::uint32_t>(fp, OPERAND(1));
  const std::uint64_t s = rd<std::uint32_t>(fp, OPERAND(2));
  const std::uint64_t n = rd<std::uint32_t>(fp, OPERAND(3));
  const ModuleData& m = fn->instance->module().data();
  const DataSegment& seg = m.datas[segment];
  const std::uint64_t len = fn->instance->state().data_dropped[segment] ? 0 : seg.end - seg.begin;
  if (s + n > len || d + n > mem_size) WASM_TRAP(memory_out_of_bounds);
  if (n) std::memcpy(mem + d, m.bytes.data() + seg.begin + s, n);
  NEXT(6);
}
op_data_drop:
  fn->instance->state().data_dropped[OPERAND(0)] = true;
  NEXT(3);
op_table_get : {
  Table* t = pointer_at<Table>(&OPERAND(2));
  const std::uint32_t i = rd<std::uint32_t>(fp, OPERAND(1));
  if (i >= t->elements.size()) WASM_TRAP(table_out_of_bounds);
  wr<std::uint64_t>(fp, OPERAND(0), t->elements[i]);
  NEXT(6);
}
op_table_set : {
  Table* t = pointer_at<Table>(&OPERAND(2));
  const std::uint32_t i = rd<std::uint32_t>(fp, OPERAND(0));
  if (i >= t->elements.size()) WASM_TRAP(table_out_of_bounds);
  t->elements[i] = rd<std::uint64_t>(fp, OPERAND(1));
  NEXT(6);
}
op_table_size:
  wr<std::uint32_t>(fp, OPERAND(0),
                    static_cast<std::uint32_t>(pointer_at<Table>(&OPERAND(1))->elements.size()));
  NEXT(5);
op_table_grow : {
  Table* t = pointer_at<Table>(&OPERAND(3));
  const std::int32_t old = t->grow(rd<std::uint32_t>(fp, OPERAND(2)), rd<std::uint64_t>(fp, OPERAND(1)));
  wr<std::uint32_t>(fp, OPERAND(0), static_cast<std::uint32_t>(old));
  NEXT(7);
}
op_table_fill : {
  Table* t = pointer_at<Table>(&OPERAND(3));
  const std::uint64_t i = rd<std::uint32_t>(fp, OPERAND(0));
  const std::uint64_t value = rd<std::uint64_t>(fp, OPERAND(1));
  const std::uint64_t n = rd<std::uint32_t>(fp, OPERAND(2));
  if (i + n > t->elements.size()) WASM_TRAP(table_out_of_bounds);
  std::fill_n(t->elements.begin() + static_cast<std::ptrdiff_t>(i), n, value);
  NEXT(7);
}
op_table_copy : {
  Table* td = pointer_at<Table>(&OPERAND(3));
  Table* ts = pointer_at<Table>(&OPERAND(5));
  const std::uint64_t d = rd<std::uint32_t>(fp, OPERAND(0));
  const std::uint64_t s = rd<std::uint32_t>(fp, OPERAND(1));
  const std::uint64_t n = rd<std::uint32_t>(fp, OPERAND(2));
  if (d + n > td->elements.size() || s + n > ts->elements.size()) WASM_TRAP(table_out_of_bounds);
  if (n) std::memmove(td->elements.data() + d, ts->elements.data() + s, n * sizeof(std::uint64_t));
  NEXT(9);
}
op_table_init : {
  Table* t = pointer_at<Table>(&OPERAND(3));
  const std::uint32_t segment = OPERAND(5);
  const std::uint64_t d = rd<std::uint32_t>(fp, OPERAND(0));
  const std::uint64_t s = rd<std::uint32_t>(fp, OPERAND(1));
  const std::uint64_t n = rd<std::uint32_t>(fp, OPERAND(2));
  const auto& items = fn->instance->state().elem_segments[segment];
  if (s + n > items.size() || d + n > t->elements.size()) WASM_TRAP(table_out_of_bounds);
  if (n) std::memcpy(t->elements.data() + d, items.data() + s, n * sizeof(std::uint64_t));
  NEXT(8);
}
op_elem_drop:
  fn->instance->state().elem_segments[OPERAND(0)].clear();
  NEXT(3);

interrupted:
  if (interrupt.load(std::memory_order_relaxed) != 0) {
    trap_kind = TrapKind::interrupted;
  } else {
    trap_kind = TrapKind::out_of_fuel;
    fuel = 0;
  }
  goto do_trap;

do_trap:
  trap.kind = trap_kind;
  trap.message = trap_kind == TrapKind::host ? std::move(host_message) : std::string(to_string(trap_kind));
  if (trap_kind == TrapKind::uninitialized_element) trap.message += " " + std::to_string(element_index);
  trap.function = function_display_name(*fn);
  trap.offset = (fn->code && pc) ? fn->code->wasm_offset(pc) : 0;
  S.depth = static_cast<std::uint32_t>(frame_base - S.frames);
  S.fuel = fuel;
  return Status::trapped;

#undef OPERAND
#undef DISPATCH
#undef NEXT
#undef WASM_TRAP
#undef CHECK_INTERRUPT
#undef BRANCH_IF
#undef RELOAD_MEMORY
}

}  // namespace spectrum::wasm
