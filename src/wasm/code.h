// The interpreter's code form, shared by the compiler (which writes it) and the interpreter (which
// runs it). A function's code is an array of 32-bit units; each instruction starts with the 64-bit
// address of its handler (two units: threaded code, the dispatch is one indirect jump) followed by
// its operands. Operands name frame slots by byte offset from the frame pointer, so an operand
// read is one load: locals, operand-stack slots and the function's constants all live in the frame.
// Branch targets are unit deltas from the branch's own first unit; a delta <= 0 is a loop's
// back edge (zero: a loop of one jump), where the interrupt flag and the fuel are checked.
#pragma once

#include <cstdint>

#include "wasm/opcodes.h"
#include "wasm/simd_opcodes.h"

namespace spectrum::wasm {

// Comparisons that fuse with a following br_if / if into one compare-and-branch instruction.
// clang-format off
#define WASM_FOR_EACH_FUSED_COMPARE_I32(X)                                            \
  X(i32_eq, I32, a == b) X(i32_ne, I32, a != b)                                       \
  X(i32_lt_s, I32, WASM_S32(a) < WASM_S32(b)) X(i32_lt_u, I32, a < b)                 \
  X(i32_gt_s, I32, WASM_S32(a) > WASM_S32(b)) X(i32_gt_u, I32, a > b)                 \
  X(i32_le_s, I32, WASM_S32(a) <= WASM_S32(b)) X(i32_le_u, I32, a <= b)               \
  X(i32_ge_s, I32, WASM_S32(a) >= WASM_S32(b)) X(i32_ge_u, I32, a >= b)
#define WASM_FOR_EACH_FUSED_COMPARE_I64(X)                                            \
  X(i64_eq, I64, a == b) X(i64_ne, I64, a != b)                                       \
  X(i64_lt_s, I64, WASM_S64(a) < WASM_S64(b)) X(i64_lt_u, I64, a < b)                 \
  X(i64_gt_s, I64, WASM_S64(a) > WASM_S64(b)) X(i64_gt_u, I64, a > b)                 \
  X(i64_le_s, I64, WASM_S64(a) <= WASM_S64(b)) X(i64_le_u, I64, a <= b)               \
  X(i64_ge_s, I64, WASM_S64(a) >= WASM_S64(b)) X(i64_ge_u, I64, a >= b)
#define WASM_FOR_EACH_FUSED_COMPARE(X) WASM_FOR_EACH_FUSED_COMPARE_I32(X) WASM_FOR_EACH_FUSED_COMPARE_I64(X)
// clang-format on

// Binary operations whose right operand is a fresh load: (operation, load, type, body).
// clang-format off
#define WASM_FOR_EACH_LOAD_OPERAND(X)                                            \
  X(f64_add, f64_load, F64, a + b) X(f64_sub, f64_load, F64, a - b)              \
  X(f64_mul, f64_load, F64, a * b) X(f32_add, f32_load, F32, a + b)              \
  X(f32_sub, f32_load, F32, a - b) X(f32_mul, f32_load, F32, a * b)              \
  X(i32_add, i32_load, I32, a + b) X(i32_xor, i32_load, I32, a ^ b)              \
  X(i64_add, i64_load, I64, a + b)
// clang-format on

// Binary operations whose right operand is a fresh shift or rotation by a constant (hash rounds,
// array indexing): (operation, shift, shift body of x and k, operation body of a and b).
// clang-format off
#define WASM_FOR_EACH_SHIFTED_OPERAND(X)                                                  \
  X(i32_xor, i32_rotl, num::rotl32(x, k), a ^ b) X(i32_xor, i32_shr_u, x >> (k & 31), a ^ b) \
  X(i32_xor, i32_shl, x << (k & 31), a ^ b) X(i32_add, i32_shl, x << (k & 31), a + b)        \
  X(i32_or, i32_shl, x << (k & 31), a | b) X(i32_add, i32_rotl, num::rotl32(x, k), a + b)
// clang-format on

// Every instruction of the code form that is not generated from the numeric tables.
#define WASM_FOR_EACH_CONTROL_OP(X)                                       \
  X(unreachable)   /* */                                                  \
  X(jmp)           /* delta */                                            \
  X(br_if)         /* cond, delta */                                      \
  X(br_unless)     /* cond, delta */                                      \
  X(br_table)      /* index, count, count+1 deltas */                     \
  X(check)         /* interrupt and fuel check (br_table's back edges) */ \
  X(copy)          /* dst, src */                                         \
  X(copy2)         /* dst, src, dst2, src2 */                             \
  X(copy3)         /* three (dst, src) pairs, in order */                 \
  X(copy4)         /* four (dst, src) pairs, in order */                  \
  X(const64)       /* dst, lo, hi */                                      \
  X(ret)           /* */                                                  \
  X(call)          /* Function* (2 units), args */                        \
  X(call_local)    /* Function* (2), args: wasm, same instance */         \
  X(call_indirect) /* Table* (2), type id, index, args */                 \
  X(select)        /* dst, a, b, cond */                                  \
  X(global_get)    /* dst, Global* (2) */                                 \
  X(global_set)    /* src, Global* (2) */                                 \
  X(memory_size)   /* dst */                                              \
  X(memory_grow)   /* dst, delta */                                       \
  X(memory_fill)   /* dst, value, n */                                    \
  X(memory_copy)   /* dst, src, n */                                      \
  X(memory_init)   /* segment, dst, src, n */                             \
  X(data_drop)     /* segment */                                          \
  X(table_get)     /* dst, index, Table* (2) */                           \
  X(table_set)     /* index, value, Table* (2) */                         \
  X(table_size)    /* dst, Table* (2) */                                  \
  X(table_grow)    /* dst, init, n, Table* (2) */                         \
  X(table_fill)    /* index, value, n, Table* (2) */                      \
  X(table_copy)    /* dst, src, n, Table* dst (2), Table* src (2) */      \
  X(table_init)    /* dst, src, n, Table* (2), segment */                 \
  X(elem_drop)     /* segment */                                          \
  X(ref_is_null)   /* dst, a */

enum class Op : std::uint16_t {
#define CONTROL(id) id,
  WASM_FOR_EACH_CONTROL_OP(CONTROL)
#undef CONTROL
#define NUMERIC(code, id, name, A, R, body) id,
      WASM_FOR_EACH_UNARY(NUMERIC) WASM_FOR_EACH_SAT_UNARY(NUMERIC) WASM_FOR_EACH_BINARY(NUMERIC)
#undef NUMERIC
#define MEMORY(code, id, name, V, M, align) id,
          WASM_FOR_EACH_LOAD(MEMORY) WASM_FOR_EACH_STORE(MEMORY)
#undef MEMORY
#define FUSED(id, T, body) br_##id,
              WASM_FOR_EACH_FUSED_COMPARE(FUSED)
#undef FUSED
// Memory access whose address is a fresh i32.add: dst/value, a, b, offset.
#define MEMORY(code, id, name, V, M, align) id##_add,
                  WASM_FOR_EACH_LOAD(MEMORY) WASM_FOR_EACH_STORE(MEMORY)
#undef MEMORY
// A binary operation whose right operand is a constant: dst, a, value (2 units). Constants read
// from the frame would have to be copied into every new frame; an immediate costs nothing.
#define NUMERIC(code, id, name, A, R, body) id##_imm,
                      WASM_FOR_EACH_BINARY(NUMERIC)
#undef NUMERIC
// Compare-and-branch against a constant: a, value (2 units), delta.
#define FUSED(id, T, body) br_##id##_imm,
                          WASM_FOR_EACH_FUSED_COMPARE(FUSED)
#undef FUSED
// The loop-closing `x = y + c; if (x cmp b)` (i32.add with a constant, local.tee, compare,
// br_if) in one dispatch: x, y, c, then b as in the compare-and-branch forms above, and delta.
#define FUSED(id, T, body) br_add_##id,
                              WASM_FOR_EACH_FUSED_COMPARE_I32(FUSED)
#undef FUSED
#define FUSED(id, T, body) br_add_##id##_imm,
                                  WASM_FOR_EACH_FUSED_COMPARE_I32(FUSED)
#undef FUSED
// dst, a, address, offset: dst = a op load(address + offset).
#define LOAD_OPERAND(id, load, T, body) id##_load,
                                      WASM_FOR_EACH_LOAD_OPERAND(LOAD_OPERAND)
#undef LOAD_OPERAND
// dst, a, x, k: dst = a op shift(x, k).
#define SHIFTED(id, shift, shift_body, body) id##_##shift,
                                          WASM_FOR_EACH_SHIFTED_OPERAND(SHIFTED)
#undef SHIFTED
// The SIMD instructions (simd_opcodes.h; operands as listed there and in simd_translate.inc).
#define SIMD(code, id, ...) id,
                                              WASM_FOR_EACH_SIMD_OP(SIMD)
#undef SIMD
                                                  count
};

// The immediate form of a binary or compare-and-branch instruction, or Op::count: the immediate
// forms lie in the same order as the plain ones.
#define WASM_COUNT_ONE(...) +1
constexpr int kBinaryCount = 0 WASM_FOR_EACH_BINARY(WASM_COUNT_ONE);
constexpr int kFusedCount = 0 WASM_FOR_EACH_FUSED_COMPARE(WASM_COUNT_ONE);
#undef WASM_COUNT_ONE
#define WASM_FIRST_BINARY(code, id, name, A, R, body) Op::id,
constexpr Op kBinaryOps[] = {WASM_FOR_EACH_BINARY(WASM_FIRST_BINARY)};
#undef WASM_FIRST_BINARY
static_assert(kBinaryOps[0] == Op::i32_eq, "immediate_form() maps from the first binary operation");
constexpr Op immediate_form(Op op) {
  const int i = static_cast<int>(op);
  const int binary = static_cast<int>(kBinaryOps[0]), fused = static_cast<int>(Op::br_i32_eq);
  if (i >= binary && i < binary + kBinaryCount)
    return static_cast<Op>(i - binary + static_cast<int>(Op::i32_eq_imm));
  if (i >= fused && i < fused + kFusedCount)
    return static_cast<Op>(i - fused + static_cast<int>(Op::br_i32_eq_imm));
  return Op::count;
}
// The plain form of an immediate instruction, or Op::count.
constexpr Op plain_form(Op op) {
  const int i = static_cast<int>(op);
  const int binary = static_cast<int>(Op::i32_eq_imm), fused = static_cast<int>(Op::br_i32_eq_imm);
  if (i >= binary && i < binary + kBinaryCount)
    return static_cast<Op>(i - binary + static_cast<int>(Op::i32_eq));
  if (i >= fused && i < fused + kFusedCount)
    return static_cast<Op>(i - fused + static_cast<int>(Op::br_i32_eq));
  return Op::count;
}

// The compare-and-branch form (plain or immediate) of an i32 comparison that also does the add
// producing its first operand, or Op::count; and back.
#define WASM_COUNT_ONE(...) +1
constexpr int kFusedI32Count = 0 WASM_FOR_EACH_FUSED_COMPARE_I32(WASM_COUNT_ONE);
#undef WASM_COUNT_ONE
constexpr Op add_form(Op op) {
  const int i = static_cast<int>(op);
  const int plain = static_cast<int>(Op::br_i32_eq), imm = static_cast<int>(Op::br_i32_eq_imm);
  if (i >= plain && i < plain + kFusedI32Count)
    return static_cast<Op>(i - plain + static_cast<int>(Op::br_add_i32_eq));
  if (i >= imm && i < imm + kFusedI32Count)
    return static_cast<Op>(i - imm + static_cast<int>(Op::br_add_i32_eq_imm));
  return Op::count;
}
constexpr Op without_add(Op op) {
  const int i = static_cast<int>(op);
  const int plain = static_cast<int>(Op::br_add_i32_eq), imm = static_cast<int>(Op::br_add_i32_eq_imm);
  if (i >= plain && i < plain + kFusedI32Count)
    return static_cast<Op>(i - plain + static_cast<int>(Op::br_i32_eq));
  if (i >= imm && i < imm + kFusedI32Count)
    return static_cast<Op>(i - imm + static_cast<int>(Op::br_i32_eq_imm));
  return Op::count;
}

}  // namespace spectrum::wasm
