// The one table of WebAssembly's numeric instructions: opcode, name, operand and result types and
// the semantics, one row each. The validator takes the signatures from it, the compiler the operand
// counts, the interpreter the bodies and `spectrum wasm inspect` the names. Structured control,
// variables, memory and calls have immediates and are handled one by one.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "wasm/engine.h"

namespace spectrum::wasm {

// The C++ types of the value types, as the interpreter handles them.
using I32 = std::uint32_t;
using I64 = std::uint64_t;
using F32 = float;
using F64 = double;

namespace num {

// Wasm's min/max: NaN if either is NaN, and -0 < +0.
template <class F>
inline F fmin(F a, F b) {
  if (std::isnan(a) || std::isnan(b)) return a + b;  // propagates a quiet NaN
  if (a == b) return std::signbit(a) ? a : b;
  return a < b ? a : b;
}
template <class F>
inline F fmax(F a, F b) {
  if (std::isnan(a) || std::isnan(b)) return a + b;
  if (a == b) return std::signbit(a) ? b : a;
  return a > b ? a : b;
}
// Rounding functions of libm may return a signalling NaN unchanged; wasm wants it quieted.
template <class F>
inline F nearest(F a) {
  return std::isnan(a) ? a + a : std::nearbyint(a);  // the default rounding mode is round-to-nearest-even
}
template <class F>
inline F ceil(F a) {
  return std::isnan(a) ? a + a : std::ceil(a);
}
template <class F>
inline F floor(F a) {
  return std::isnan(a) ? a + a : std::floor(a);
}
template <class F>
inline F trunc(F a) {
  return std::isnan(a) ? a + a : std::trunc(a);
}
template <class F>
inline F copysign(F a, F b) {
  return std::copysign(a, b);
}
inline I32 rotl32(I32 a, I32 b) { return std::rotl(a, static_cast<int>(b & 31)); }
inline I32 rotr32(I32 a, I32 b) { return std::rotr(a, static_cast<int>(b & 31)); }
inline I64 rotl64(I64 a, I64 b) { return std::rotl(a, static_cast<int>(b & 63)); }
inline I64 rotr64(I64 a, I64 b) { return std::rotr(a, static_cast<int>(b & 63)); }

// Float -> int truncation: in range iff lo < trunc(x) < hi (exclusive bounds exactly
// representable in F). Returns false when NaN or out of range.
template <class I, class F>
inline bool trunc_in_range(F x) {
  if (std::isnan(x)) return false;
  constexpr bool is_signed = std::numeric_limits<I>::is_signed;
  constexpr int bits = sizeof(I) * 8;
  if constexpr (is_signed) {
    const F lo = -std::ldexp(F(1), bits - 1);
    const F hi = std::ldexp(F(1), bits - 1);
    return std::trunc(x) >= lo && x < hi;
  } else {
    const F hi = std::ldexp(F(1), bits);
    return x > F(-1) && x < hi;
  }
}
template <class I, class F>
inline I trunc_sat(F x) {
  if (std::isnan(x)) return 0;
  constexpr bool is_signed = std::numeric_limits<I>::is_signed;
  constexpr int bits = sizeof(I) * 8;
  if constexpr (is_signed) {
    const F lo = -std::ldexp(F(1), bits - 1);
    const F hi = std::ldexp(F(1), bits - 1);
    if (x < lo) return std::numeric_limits<I>::min();
    if (x >= hi) return std::numeric_limits<I>::max();
  } else {
    if (x <= F(-1)) return 0;
    const F hi = std::ldexp(F(1), bits);
    if (x >= hi) return std::numeric_limits<I>::max();
  }
  return static_cast<I>(x);
}

template <class To, class From>
inline To bits(From v) {
  static_assert(sizeof(To) == sizeof(From));
  return std::bit_cast<To>(v);
}

}  // namespace num

// Traps from inside a row's body: the interpreter defines WASM_TRAP(kind).
// Rows: X(opcode, identifier, "name", operand type, result type, body over a (and b)).
#define WASM_FOR_EACH_UNARY(X)                                                                              \
  X(0x45, i32_eqz, "i32.eqz", I32, I32, a == 0)                                                             \
  X(0x50, i64_eqz, "i64.eqz", I64, I32, a == 0)                                                             \
  X(0x67, i32_clz, "i32.clz", I32, I32, std::countl_zero(a))                                                \
  X(0x68, i32_ctz, "i32.ctz", I32, I32, std::countr_zero(a))                                                \
  X(0x69, i32_popcnt, "i32.popcnt", I32, I32, std::popcount(a))                                             \
  X(0x79, i64_clz, "i64.clz", I64, I64, std::countl_zero(a))                                                \
  X(0x7a, i64_ctz, "i64.ctz", I64, I64, std::countr_zero(a))                                                \
  X(0x7b, i64_popcnt, "i64.popcnt", I64, I64, std::popcount(a))                                             \
  X(0x8b, f32_abs, "f32.abs", F32, F32, num::bits<F32>(num::bits<I32>(a) & 0x7fffffffu))                    \
  X(0x8c, f32_neg, "f32.neg", F32, F32, num::bits<F32>(num::bits<I32>(a) ^ 0x80000000u))                    \
  X(0x8d, f32_ceil, "f32.ceil", F32, F32, num::ceil(a))                                                     \
  X(0x8e, f32_floor, "f32.floor", F32, F32, num::floor(a))                                                  \
  X(0x8f, f32_trunc, "f32.trunc", F32, F32, num::trunc(a))                                                  \
  X(0x90, f32_nearest, "f32.nearest", F32, F32, num::nearest(a))                                            \
  X(0x91, f32_sqrt, "f32.sqrt", F32, F32, std::sqrt(a))                                                     \
  X(0x99, f64_abs, "f64.abs", F64, F64, num::bits<F64>(num::bits<I64>(a) & 0x7fffffffffffffffull))          \
  X(0x9a, f64_neg, "f64.neg", F64, F64, num::bits<F64>(num::bits<I64>(a) ^ 0x8000000000000000ull))          \
  X(0x9b, f64_ceil, "f64.ceil", F64, F64, num::ceil(a))                                                     \
  X(0x9c, f64_floor, "f64.floor", F64, F64, num::floor(a))                                                  \
  X(0x9d, f64_trunc, "f64.trunc", F64, F64, num::trunc(a))                                                  \
  X(0x9e, f64_nearest, "f64.nearest", F64, F64, num::nearest(a))                                            \
  X(0x9f, f64_sqrt, "f64.sqrt", F64, F64, std::sqrt(a))                                                     \
  X(0xa7, i32_wrap_i64, "i32.wrap_i64", I64, I32, static_cast<I32>(a))                                      \
  X(0xa8, i32_trunc_f32_s, "i32.trunc_f32_s", F32, I32, WASM_TRUNC(std::int32_t, a))                        \
  X(0xa9, i32_trunc_f32_u, "i32.trunc_f32_u", F32, I32, WASM_TRUNC(std::uint32_t, a))                       \
  X(0xaa, i32_trunc_f64_s, "i32.trunc_f64_s", F64, I32, WASM_TRUNC(std::int32_t, a))                        \
  X(0xab, i32_trunc_f64_u, "i32.trunc_f64_u", F64, I32, WASM_TRUNC(std::uint32_t, a))                       \
  X(0xac, i64_extend_i32_s, "i64.extend_i32_s", I32, I64, static_cast<I64>(static_cast<std::int32_t>(a)))   \
  X(0xad, i64_extend_i32_u, "i64.extend_i32_u", I32, I64, static_cast<I64>(a))                              \
  X(0xae, i64_trunc_f32_s, "i64.trunc_f32_s", F32, I64, WASM_TRUNC(std::int64_t, a))                        \
  X(0xaf, i64_trunc_f32_u, "i64.trunc_f32_u", F32, I64, WASM_TRUNC(std::uint64_t, a))                       \
  X(0xb0, i64_trunc_f64_s, "i64.trunc_f64_s", F64, I64, WASM_TRUNC(std::int64_t, a))                        \
  X(0xb1, i64_trunc_f64_u, "i64.trunc_f64_u", F64, I64, WASM_TRUNC(std::uint64_t, a))                       \
  X(0xb2, f32_convert_i32_s, "f32.convert_i32_s", I32, F32, static_cast<F32>(static_cast<std::int32_t>(a))) \
  X(0xb3, f32_convert_i32_u, "f32.convert_i32_u", I32, F32, static_cast<F32>(a))                            \
  X(0xb4, f32_convert_i64_s, "f32.convert_i64_s", I64, F32, static_cast<F32>(static_cast<std::int64_t>(a))) \
  X(0xb5, f32_convert_i64_u, "f32.convert_i64_u", I64, F32, static_cast<F32>(a))                            \
  X(0xb6, f32_demote_f64, "f32.demote_f64", F64, F32, static_cast<F32>(a))                                  \
  X(0xb7, f64_convert_i32_s, "f64.convert_i32_s", I32, F64, static_cast<F64>(static_cast<std::int32_t>(a))) \
  X(0xb8, f64_convert_i32_u, "f64.convert_i32_u", I32, F64, static_cast<F64>(a))                            \
  X(0xb9, f64_convert_i64_s, "f64.convert_i64_s", I64, F64, static_cast<F64>(static_cast<std::int64_t>(a))) \
  X(0xba, f64_convert_i64_u, "f64.convert_i64_u", I64, F64, static_cast<F64>(a))                            \
  X(0xbb, f64_promote_f32, "f64.promote_f32", F32, F64, static_cast<F64>(a))                                \
  X(0xbc, i32_reinterpret_f32, "i32.reinterpret_f32", F32, I32, num::bits<I32>(a))                          \
  X(0xbd, i64_reinterpret_f64, "i64.reinterpret_f64", F64, I64, num::bits<I64>(a))                          \
  X(0xbe, f32_reinterpret_i32, "f32.reinterpret_i32", I32, F32, num::bits<F32>(a))                          \
  X(0xbf, f64_reinterpret_i64, "f64.reinterpret_i64", I64, F64, num::bits<F64>(a))                          \
  X(0xc0, i32_extend8_s, "i32.extend8_s", I32, I32, static_cast<I32>(static_cast<std::int8_t>(a)))          \
  X(0xc1, i32_extend16_s, "i32.extend16_s", I32, I32, static_cast<I32>(static_cast<std::int16_t>(a)))       \
  X(0xc2, i64_extend8_s, "i64.extend8_s", I64, I64, static_cast<I64>(static_cast<std::int8_t>(a)))          \
  X(0xc3, i64_extend16_s, "i64.extend16_s", I64, I64, static_cast<I64>(static_cast<std::int16_t>(a)))       \
  X(0xc4, i64_extend32_s, "i64.extend32_s", I64, I64, static_cast<I64>(static_cast<std::int32_t>(a)))

// The 0xFC-prefixed saturating truncations (sub-opcode, ...).
#define WASM_FOR_EACH_SAT_UNARY(X)                                                             \
  X(0, i32_trunc_sat_f32_s, "i32.trunc_sat_f32_s", F32, I32, num::trunc_sat<std::int32_t>(a))  \
  X(1, i32_trunc_sat_f32_u, "i32.trunc_sat_f32_u", F32, I32, num::trunc_sat<std::uint32_t>(a)) \
  X(2, i32_trunc_sat_f64_s, "i32.trunc_sat_f64_s", F64, I32, num::trunc_sat<std::int32_t>(a))  \
  X(3, i32_trunc_sat_f64_u, "i32.trunc_sat_f64_u", F64, I32, num::trunc_sat<std::uint32_t>(a)) \
  X(4, i64_trunc_sat_f32_s, "i64.trunc_sat_f32_s", F32, I64, num::trunc_sat<std::int64_t>(a))  \
  X(5, i64_trunc_sat_f32_u, "i64.trunc_sat_f32_u", F32, I64, num::trunc_sat<std::uint64_t>(a)) \
  X(6, i64_trunc_sat_f64_s, "i64.trunc_sat_f64_s", F64, I64, num::trunc_sat<std::int64_t>(a))  \
  X(7, i64_trunc_sat_f64_u, "i64.trunc_sat_f64_u", F64, I64, num::trunc_sat<std::uint64_t>(a))

#define WASM_S32(x) static_cast<std::int32_t>(x)
#define WASM_S64(x) static_cast<std::int64_t>(x)

#define WASM_FOR_EACH_BINARY(X)                                                        \
  X(0x46, i32_eq, "i32.eq", I32, I32, a == b)                                          \
  X(0x47, i32_ne, "i32.ne", I32, I32, a != b)                                          \
  X(0x48, i32_lt_s, "i32.lt_s", I32, I32, WASM_S32(a) < WASM_S32(b))                   \
  X(0x49, i32_lt_u, "i32.lt_u", I32, I32, a < b)                                       \
  X(0x4a, i32_gt_s, "i32.gt_s", I32, I32, WASM_S32(a) > WASM_S32(b))                   \
  X(0x4b, i32_gt_u, "i32.gt_u", I32, I32, a > b)                                       \
  X(0x4c, i32_le_s, "i32.le_s", I32, I32, WASM_S32(a) <= WASM_S32(b))                  \
  X(0x4d, i32_le_u, "i32.le_u", I32, I32, a <= b)                                      \
  X(0x4e, i32_ge_s, "i32.ge_s", I32, I32, WASM_S32(a) >= WASM_S32(b))                  \
  X(0x4f, i32_ge_u, "i32.ge_u", I32, I32, a >= b)                                      \
  X(0x51, i64_eq, "i64.eq", I64, I32, a == b)                                          \
  X(0x52, i64_ne, "i64.ne", I64, I32, a != b)                                          \
  X(0x53, i64_lt_s, "i64.lt_s", I64, I32, WASM_S64(a) < WASM_S64(b))                   \
  X(0x54, i64_lt_u, "i64.lt_u", I64, I32, a < b)                                       \
  X(0x55, i64_gt_s, "i64.gt_s", I64, I32, WASM_S64(a) > WASM_S64(b))                   \
  X(0x56, i64_gt_u, "i64.gt_u", I64, I32, a > b)                                       \
  X(0x57, i64_le_s, "i64.le_s", I64, I32, WASM_S64(a) <= WASM_S64(b))                  \
  X(0x58, i64_le_u, "i64.le_u", I64, I32, a <= b)                                      \
  X(0x59, i64_ge_s, "i64.ge_s", I64, I32, WASM_S64(a) >= WASM_S64(b))                  \
  X(0x5a, i64_ge_u, "i64.ge_u", I64, I32, a >= b)                                      \
  X(0x5b, f32_eq, "f32.eq", F32, I32, a == b)                                          \
  X(0x5c, f32_ne, "f32.ne", F32, I32, a != b)                                          \
  X(0x5d, f32_lt, "f32.lt", F32, I32, a < b)                                           \
  X(0x5e, f32_gt, "f32.gt", F32, I32, a > b)                                           \
  X(0x5f, f32_le, "f32.le", F32, I32, a <= b)                                          \
  X(0x60, f32_ge, "f32.ge", F32, I32, a >= b)                                          \
  X(0x61, f64_eq, "f64.eq", F64, I32, a == b)                                          \
  X(0x62, f64_ne, "f64.ne", F64, I32, a != b)                                          \
  X(0x63, f64_lt, "f64.lt", F64, I32, a < b)                                           \
  X(0x64, f64_gt, "f64.gt", F64, I32, a > b)                                           \
  X(0x65, f64_le, "f64.le", F64, I32, a <= b)                                          \
  X(0x66, f64_ge, "f64.ge", F64, I32, a >= b)                                          \
  X(0x6a, i32_add, "i32.add", I32, I32, a + b)                                         \
  X(0x6b, i32_sub, "i32.sub", I32, I32, a - b)                                         \
  X(0x6c, i32_mul, "i32.mul", I32, I32, a* b)                                          \
  X(0x6d, i32_div_s, "i32.div_s", I32, I32, WASM_DIV_S(std::int32_t, a, b))            \
  X(0x6e, i32_div_u, "i32.div_u", I32, I32, WASM_DIV_U(a, b))                          \
  X(0x6f, i32_rem_s, "i32.rem_s", I32, I32, WASM_REM_S(std::int32_t, a, b))            \
  X(0x70, i32_rem_u, "i32.rem_u", I32, I32, WASM_REM_U(a, b))                          \
  X(0x71, i32_and, "i32.and", I32, I32, a& b)                                          \
  X(0x72, i32_or, "i32.or", I32, I32, a | b)                                           \
  X(0x73, i32_xor, "i32.xor", I32, I32, a ^ b)                                         \
  X(0x74, i32_shl, "i32.shl", I32, I32, a << (b & 31))                                 \
  X(0x75, i32_shr_s, "i32.shr_s", I32, I32, static_cast<I32>(WASM_S32(a) >> (b & 31))) \
  X(0x76, i32_shr_u, "i32.shr_u", I32, I32, a >> (b & 31))                             \
  X(0x77, i32_rotl, "i32.rotl", I32, I32, num::rotl32(a, b))                           \
  X(0x78, i32_rotr, "i32.rotr", I32, I32, num::rotr32(a, b))                           \
  X(0x7c, i64_add, "i64.add", I64, I64, a + b)                                         \
  X(0x7d, i64_sub, "i64.sub", I64, I64, a - b)                                         \
  X(0x7e, i64_mul, "i64.mul", I64, I64, a* b)                                          \
  X(0x7f, i64_div_s, "i64.div_s", I64, I64, WASM_DIV_S(std::int64_t, a, b))            \
  X(0x80, i64_div_u, "i64.div_u", I64, I64, WASM_DIV_U(a, b))                          \
  X(0x81, i64_rem_s, "i64.rem_s", I64, I64, WASM_REM_S(std::int64_t, a, b))            \
  X(0x82, i64_rem_u, "i64.rem_u", I64, I64, WASM_REM_U(a, b))                          \
  X(0x83, i64_and, "i64.and", I64, I64, a& b)                                          \
  X(0x84, i64_or, "i64.or", I64, I64, a | b)                                           \
  X(0x85, i64_xor, "i64.xor", I64, I64, a ^ b)                                         \
  X(0x86, i64_shl, "i64.shl", I64, I64, a << (b & 63))                                 \
  X(0x87, i64_shr_s, "i64.shr_s", I64, I64, static_cast<I64>(WASM_S64(a) >> (b & 63))) \
  X(0x88, i64_shr_u, "i64.shr_u", I64, I64, a >> (b & 63))                             \
  X(0x89, i64_rotl, "i64.rotl", I64, I64, num::rotl64(a, b))                           \
  X(0x8a, i64_rotr, "i64.rotr", I64, I64, num::rotr64(a, b))                           \
  X(0x92, f32_add, "f32.add", F32, F32, a + b)                                         \
  X(0x93, f32_sub, "f32.sub", F32, F32, a - b)                                         \
  X(0x94, f32_mul, "f32.mul", F32, F32, a* b)                                          \
  X(0x95, f32_div, "f32.div", F32, F32, a / b)                                         \
  X(0x96, f32_min, "f32.min", F32, F32, num::fmin(a, b))                               \
  X(0x97, f32_max, "f32.max", F32, F32, num::fmax(a, b))                               \
  X(0x98, f32_copysign, "f32.copysign", F32, F32, num::copysign(a, b))                 \
  X(0xa0, f64_add, "f64.add", F64, F64, a + b)                                         \
  X(0xa1, f64_sub, "f64.sub", F64, F64, a - b)                                         \
  X(0xa2, f64_mul, "f64.mul", F64, F64, a* b)                                          \
  X(0xa3, f64_div, "f64.div", F64, F64, a / b)                                         \
  X(0xa4, f64_min, "f64.min", F64, F64, num::fmin(a, b))                               \
  X(0xa5, f64_max, "f64.max", F64, F64, num::fmax(a, b))                               \
  X(0xa6, f64_copysign, "f64.copysign", F64, F64, num::copysign(a, b))

// Memory access: X(opcode, identifier, "name", value type, memory type, natural alignment log2).
#define WASM_FOR_EACH_LOAD(X)                                  \
  X(0x28, i32_load, "i32.load", I32, std::uint32_t, 2)         \
  X(0x29, i64_load, "i64.load", I64, std::uint64_t, 3)         \
  X(0x2a, f32_load, "f32.load", F32, float, 2)                 \
  X(0x2b, f64_load, "f64.load", F64, double, 3)                \
  X(0x2c, i32_load8_s, "i32.load8_s", I32, std::int8_t, 0)     \
  X(0x2d, i32_load8_u, "i32.load8_u", I32, std::uint8_t, 0)    \
  X(0x2e, i32_load16_s, "i32.load16_s", I32, std::int16_t, 1)  \
  X(0x2f, i32_load16_u, "i32.load16_u", I32, std::uint16_t, 1) \
  X(0x30, i64_load8_s, "i64.load8_s", I64, std::int8_t, 0)     \
  X(0x31, i64_load8_u, "i64.load8_u", I64, std::uint8_t, 0)    \
  X(0x32, i64_load16_s, "i64.load16_s", I64, std::int16_t, 1)  \
  X(0x33, i64_load16_u, "i64.load16_u", I64, std::uint16_t, 1) \
  X(0x34, i64_load32_s, "i64.load32_s", I64, std::int32_t, 2)  \
  X(0x35, i64_load32_u, "i64.load32_u", I64, std::uint32_t, 2)

#define WASM_FOR_EACH_STORE(X)                               \
  X(0x36, i32_store, "i32.store", I32, std::uint32_t, 2)     \
  X(0x37, i64_store, "i64.store", I64, std::uint64_t, 3)     \
  X(0x38, f32_store, "f32.store", F32, float, 2)             \
  X(0x39, f64_store, "f64.store", F64, double, 3)            \
  X(0x3a, i32_store8, "i32.store8", I32, std::uint8_t, 0)    \
  X(0x3b, i32_store16, "i32.store16", I32, std::uint16_t, 1) \
  X(0x3c, i64_store8, "i64.store8", I64, std::uint8_t, 0)    \
  X(0x3d, i64_store16, "i64.store16", I64, std::uint16_t, 1) \
  X(0x3e, i64_store32, "i64.store32", I64, std::uint32_t, 2)

// ValType of the C++ operand types above, for the validator.
template <class T>
constexpr ValType valtype_of();
template <>
constexpr ValType valtype_of<I32>() {
  return ValType::i32;
}
template <>
constexpr ValType valtype_of<I64>() {
  return ValType::i64;
}
template <>
constexpr ValType valtype_of<F32>() {
  return ValType::f32;
}
template <>
constexpr ValType valtype_of<F64>() {
  return ValType::f64;
}

}  // namespace spectrum::wasm
