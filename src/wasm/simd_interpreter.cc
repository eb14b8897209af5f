// The interpreter's SIMD instructions, generated from simd_opcodes.h: one function per
// instruction, called by the interpreter's single `simd` handler (interpreter.cc). Kept out of
// the threaded interpreter loop on purpose: with two hundred vector handlers inside it, GCC's
// register allocator spilled values the scalar handlers keep in registers (the store pointer
// the back edges' interrupt check reads), and the scalar benchmark paid ~1.5% more instructions.
// An out-of-line call costs a SIMD instruction a call and a return; scalar code pays nothing.
//
// Code form: handler (2 units), this function (2 units), then the operands as frame byte
// offsets; a v128 operand names the first of its two slots. Each function returns the units its
// instruction takes, or 0 for an out-of-bounds memory access (the only trap a SIMD instruction
// has). Every operand is read before the result is written: the result may overwrite them.
#include <cstring>

#include "wasm/code.h"
#include "wasm/runtime.h"

namespace spectrum::wasm {
namespace {

template <class T>
inline T rd(const std::uint64_t* fp, std::uint32_t offset) {
  T v;
  std::memcpy(&v, reinterpret_cast<const char*>(fp) + offset, sizeof(T));
  return v;
}
// Scalar results fill their whole slot, as every handler's do (see interpreter.cc).
template <class T>
inline void wr(std::uint64_t* fp, std::uint32_t offset, T v) {
  std::uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  std::memcpy(reinterpret_cast<char*>(fp) + offset, &bits, 8);
}
inline simd::V vec(const std::uint64_t* fp, std::uint32_t offset) {
  return simd::load(reinterpret_cast<const char*>(fp) + offset);
}
inline void set_vec(std::uint64_t* fp, std::uint32_t offset, simd::V v) {
  simd::store(reinterpret_cast<char*>(fp) + offset, v);
}
inline Global* global_at(const std::uint32_t* p) {
  const std::uint64_t v = static_cast<std::uint64_t>(p[0]) | static_cast<std::uint64_t>(p[1]) << 32;
  return reinterpret_cast<Global*>(static_cast<std::uintptr_t>(v));
}

#define SIMD_FN(id)                                                                      \
  std::uint32_t exec_##id(std::uint64_t* fp, const std::uint32_t* pc, std::uint8_t* mem, \
                          std::uint64_t mem_size)
#define OPERAND(i) pc[4 + (i)]
// The address of an access of `bytes` bytes, or the trap.
#define ADDRESS(p, address_operand, offset_operand, bytes)                                                   \
  const std::uint64_t ea_ =                                                                                  \
      static_cast<std::uint64_t>(rd<std::uint32_t>(fp, OPERAND(address_operand))) + OPERAND(offset_operand); \
  if (ea_ + (bytes) > mem_size) [[unlikely]]                                                                 \
    return 0;                                                                                                \
  p = mem + ea_;
#define UNUSED_MEMORY() \
  (void)mem;            \
  (void)mem_size

#define UNARY(code, id, name, body)        \
  SIMD_FN(id) {                            \
    UNUSED_MEMORY();                       \
    const simd::V a = vec(fp, OPERAND(1)); \
    set_vec(fp, OPERAND(0), body);         \
    return 6;                              \
  }
WASM_FOR_EACH_SIMD_UNARY(UNARY)
#undef UNARY
#define BINARY(code, id, name, body)       \
  SIMD_FN(id) {                            \
    UNUSED_MEMORY();                       \
    const simd::V a = vec(fp, OPERAND(1)); \
    const simd::V b = vec(fp, OPERAND(2)); \
    set_vec(fp, OPERAND(0), body);         \
    return 7;                              \
  }
WASM_FOR_EACH_SIMD_BINARY(BINARY)
#undef BINARY
#define TEST(code, id, name, body)             \
  SIMD_FN(id) {                                \
    UNUSED_MEMORY();                           \
    const simd::V a = vec(fp, OPERAND(1));     \
    wr<std::uint32_t>(fp, OPERAND(0), (body)); \
    return 6;                                  \
  }
WASM_FOR_EACH_SIMD_TEST(TEST)
#undef TEST
#define SHIFT(code, id, name, body)                            \
  SIMD_FN(id) {                                                \
    UNUSED_MEMORY();                                           \
    const simd::V a = vec(fp, OPERAND(1));                     \
    const std::uint32_t n = rd<std::uint32_t>(fp, OPERAND(2)); \
    set_vec(fp, OPERAND(0), body);                             \
    return 7;                                                  \
  }
WASM_FOR_EACH_SIMD_SHIFT(SHIFT)
#undef SHIFT
#define SPLAT(code, id, name, S, body) \
  SIMD_FN(id) {                        \
    UNUSED_MEMORY();                   \
    const S x = rd<S>(fp, OPERAND(1)); \
    set_vec(fp, OPERAND(0), body);     \
    return 6;                          \
  }
WASM_FOR_EACH_SIMD_SPLAT(SPLAT)
#undef SPLAT
#define EXTRACT(code, id, name, lanes, R, body)  \
  SIMD_FN(id) {                                  \
    UNUSED_MEMORY();                             \
    const simd::V a = vec(fp, OPERAND(1));       \
    const std::uint32_t i = OPERAND(2);          \
    wr<R>(fp, OPERAND(0), static_cast<R>(body)); \
    return 7;                                    \
  }
WASM_FOR_EACH_SIMD_EXTRACT(EXTRACT)
#undef EXTRACT
#define REPLACE(code, id, name, lanes, S, body) \
  SIMD_FN(id) {                                 \
    UNUSED_MEMORY();                            \
    const simd::V a = vec(fp, OPERAND(1));      \
    const S x = rd<S>(fp, OPERAND(2));          \
    const std::uint32_t i = OPERAND(3);         \
    set_vec(fp, OPERAND(0), body);              \
    return 8;                                   \
  }
WASM_FOR_EACH_SIMD_REPLACE(REPLACE)
#undef REPLACE
// dst, address, offset
#define LOAD(code, id, name, bytes, align, body) \
  SIMD_FN(id) {                                  \
    const std::uint8_t* p;                       \
    ADDRESS(p, 1, 2, bytes)                      \
    set_vec(fp, OPERAND(0), body);               \
    return 7;                                    \
  }
WASM_FOR_EACH_SIMD_LOAD(LOAD)
#undef LOAD
// dst, address, vector, offset, lane
#define LOAD_LANE(code, id, name, L, align)                                        \
  SIMD_FN(id) {                                                                    \
    using E = simd::Elem<L>;                                                       \
    const std::uint8_t* p;                                                         \
    ADDRESS(p, 1, 3, sizeof(E))                                                    \
    E x;                                                                           \
    std::memcpy(&x, p, sizeof x);                                                  \
    set_vec(fp, OPERAND(0), simd::replace<L>(vec(fp, OPERAND(2)), OPERAND(4), x)); \
    return 9;                                                                      \
  }
WASM_FOR_EACH_SIMD_LOAD_LANE(LOAD_LANE)
#undef LOAD_LANE
// address, vector, offset, lane
#define STORE_LANE(code, id, name, L, align)                    \
  SIMD_FN(id) {                                                 \
    using E = simd::Elem<L>;                                    \
    std::uint8_t* p;                                            \
    ADDRESS(p, 0, 2, sizeof(E))                                 \
    const E x = simd::lane<L>(vec(fp, OPERAND(1)), OPERAND(3)); \
    std::memcpy(p, &x, sizeof x);                               \
    return 8;                                                   \
  }
WASM_FOR_EACH_SIMD_STORE_LANE(STORE_LANE)
#undef STORE_LANE

// address, value, offset
SIMD_FN(v128_store) {
  std::uint8_t* p;
  ADDRESS(p, 0, 2, 16)
  simd::store(p, vec(fp, OPERAND(1)));
  return 7;
}
// dst, the value (4 units)
SIMD_FN(v128_const) {
  UNUSED_MEMORY();
  set_vec(fp, OPERAND(0), simd::load(&OPERAND(1)));
  return 9;
}
// dst, a, b, the lane indices (4 units)
SIMD_FN(i8x16_shuffle) {
  UNUSED_MEMORY();
  set_vec(fp, OPERAND(0), simd::shuffle(vec(fp, OPERAND(1)), vec(fp, OPERAND(2)), simd::load(&OPERAND(3))));
  return 11;
}
// dst, a, b, c
SIMD_FN(v128_bitselect) {
  UNUSED_MEMORY();
  set_vec(fp, OPERAND(0), simd::bitselect(vec(fp, OPERAND(1)), vec(fp, OPERAND(2)), vec(fp, OPERAND(3))));
  return 8;
}
// dst, a, b, condition
SIMD_FN(v128_select) {
  UNUSED_MEMORY();
  set_vec(fp, OPERAND(0), rd<std::uint32_t>(fp, OPERAND(3)) ? vec(fp, OPERAND(1)) : vec(fp, OPERAND(2)));
  return 8;
}
// dst, Global* (2 units): the value and its high half are adjacent (runtime.h)
SIMD_FN(v128_global_get) {
  UNUSED_MEMORY();
  set_vec(fp, OPERAND(0), simd::load(&global_at(&OPERAND(1))->value));
  return 7;
}
// source, Global* (2 units)
SIMD_FN(v128_global_set) {
  UNUSED_MEMORY();
  simd::store(&global_at(&OPERAND(1))->value, vec(fp, OPERAND(0)));
  return 7;
}

#undef UNUSED_MEMORY
#undef ADDRESS
#undef OPERAND
#undef SIMD_FN

constexpr Op kFirstSimd = [] {
#define SIMD(code, id, ...) Op::id,
  constexpr Op ops[] = {WASM_FOR_EACH_SIMD_OP(SIMD)};
#undef SIMD
  return ops[0];
}();
constexpr SimdFunction kFunctions[] = {
#define SIMD(code, id, ...) &exec_##id,
    WASM_FOR_EACH_SIMD_OP(SIMD)
#undef SIMD
};
static_assert(static_cast<std::size_t>(kFirstSimd) + std::size(kFunctions) ==
                  static_cast<std::size_t>(Op::count),
              "the SIMD instructions close the Op enum, in the table's order");

}  // namespace

SimdFunction simd_function(Op op) {
  return kFunctions[static_cast<std::size_t>(op) - static_cast<std::size_t>(kFirstSimd)];
}

}  // namespace spectrum::wasm
