// The one table of WebAssembly's fixed-width SIMD instructions (Wasm 2.0, opcode prefix 0xFD):
// sub-opcode, identifier, name, immediates and signature by family, and the semantics over the
// lane helpers of simd.h. The validator takes the signatures from it, the translator
// (simd_translate.inc) the operand layout and the interpreter (simd_interpreter.cc) the bodies, as
// opcodes.h does for the scalar instructions. v128.store, v128.const, i8x16.shuffle and
// v128.bitselect have their own immediates or arity and are handled one by one.
#pragma once

#include <cstdint>

#include "wasm/simd.h"

namespace spectrum::wasm {

// Families (each row: X(sub-opcode, identifier, "name", ...)):
//   UNARY       v128 -> v128                            body over a
//   BINARY      v128 v128 -> v128                       body over a, b
//   TEST        v128 -> i32                             body over a
//   SHIFT       v128 i32 -> v128                        body over a, n
//   SPLAT       S -> v128                   (S)         body over x
//   EXTRACT     v128 -> R      lane index   (lanes, R)  body over a, i
//   REPLACE     v128 S -> v128 lane index   (lanes, S)  body over a, x, i
//   LOAD        i32 -> v128    memarg       (bytes read, natural alignment log2)  body over p
//   LOAD_LANE   i32 v128 -> v128  memarg, lane  (lane shape, alignment log2)
//   STORE_LANE  i32 v128 ->       memarg, lane  (lane shape, alignment log2)
// clang-format off
#define WASM_FOR_EACH_SIMD_UNARY(X)                                                                                                          \
  X(77, v128_not, "v128.not", ~a)                                                                                                            \
  X(94, f32x4_demote_f64x2_zero, "f32x4.demote_f64x2_zero", (simd::convert<simd::f32x4, simd::f64x2>(a)))                                    \
  X(95, f64x2_promote_low_f32x4, "f64x2.promote_low_f32x4", (simd::convert<simd::f64x2, simd::f32x4>(a)))                                    \
  X(96, i8x16_abs, "i8x16.abs", simd::abs<simd::s8x16>(a))                                                                                   \
  X(97, i8x16_neg, "i8x16.neg", simd::neg<simd::u8x16>(a))                                                                                   \
  X(98, i8x16_popcnt, "i8x16.popcnt", simd::popcnt(a))                                                                                       \
  X(103, f32x4_ceil, "f32x4.ceil", simd::fceil<simd::f32x4>(a))                                                                              \
  X(104, f32x4_floor, "f32x4.floor", simd::ffloor<simd::f32x4>(a))                                                                           \
  X(105, f32x4_trunc, "f32x4.trunc", simd::ftrunc<simd::f32x4>(a))                                                                           \
  X(106, f32x4_nearest, "f32x4.nearest", simd::fnearest<simd::f32x4>(a))                                                                     \
  X(116, f64x2_ceil, "f64x2.ceil", simd::fceil<simd::f64x2>(a))                                                                              \
  X(117, f64x2_floor, "f64x2.floor", simd::ffloor<simd::f64x2>(a))                                                                           \
  X(122, f64x2_trunc, "f64x2.trunc", simd::ftrunc<simd::f64x2>(a))                                                                           \
  X(124, i16x8_extadd_pairwise_i8x16_s, "i16x8.extadd_pairwise_i8x16_s", (simd::extadd_pairwise<simd::s16x8, simd::s8x16>(a)))               \
  X(125, i16x8_extadd_pairwise_i8x16_u, "i16x8.extadd_pairwise_i8x16_u", (simd::extadd_pairwise<simd::u16x8, simd::u8x16>(a)))               \
  X(126, i32x4_extadd_pairwise_i16x8_s, "i32x4.extadd_pairwise_i16x8_s", (simd::extadd_pairwise<simd::s32x4, simd::s16x8>(a)))               \
  X(127, i32x4_extadd_pairwise_i16x8_u, "i32x4.extadd_pairwise_i16x8_u", (simd::extadd_pairwise<simd::u32x4, simd::u16x8>(a)))               \
  X(128, i16x8_abs, "i16x8.abs", simd::abs<simd::s16x8>(a))                                                                                  \
  X(129, i16x8_neg, "i16x8.neg", simd::neg<simd::u16x8>(a))                                                                                  \
  X(135, i16x8_extend_low_i8x16_s, "i16x8.extend_low_i8x16_s", (simd::extend<simd::s16x8, simd::s8x16>(a, 0)))                               \
  X(136, i16x8_extend_high_i8x16_s, "i16x8.extend_high_i8x16_s", (simd::extend<simd::s16x8, simd::s8x16>(a, 8)))                             \
  X(137, i16x8_extend_low_i8x16_u, "i16x8.extend_low_i8x16_u", (simd::extend<simd::u16x8, simd::u8x16>(a, 0)))                               \
  X(138, i16x8_extend_high_i8x16_u, "i16x8.extend_high_i8x16_u", (simd::extend<simd::u16x8, simd::u8x16>(a, 8)))                             \
  X(148, f64x2_nearest, "f64x2.nearest", simd::fnearest<simd::f64x2>(a))                                                                     \
  X(160, i32x4_abs, "i32x4.abs", simd::abs<simd::s32x4>(a))                                                                                  \
  X(161, i32x4_neg, "i32x4.neg", simd::neg<simd::u32x4>(a))                                                                                  \
  X(167, i32x4_extend_low_i16x8_s, "i32x4.extend_low_i16x8_s", (simd::extend<simd::s32x4, simd::s16x8>(a, 0)))                               \
  X(168, i32x4_extend_high_i16x8_s, "i32x4.extend_high_i16x8_s", (simd::extend<simd::s32x4, simd::s16x8>(a, 4)))                             \
  X(169, i32x4_extend_low_i16x8_u, "i32x4.extend_low_i16x8_u", (simd::extend<simd::u32x4, simd::u16x8>(a, 0)))                               \
  X(170, i32x4_extend_high_i16x8_u, "i32x4.extend_high_i16x8_u", (simd::extend<simd::u32x4, simd::u16x8>(a, 4)))                             \
  X(192, i64x2_abs, "i64x2.abs", simd::abs<simd::s64x2>(a))                                                                                  \
  X(193, i64x2_neg, "i64x2.neg", simd::neg<simd::u64x2>(a))                                                                                  \
  X(199, i64x2_extend_low_i32x4_s, "i64x2.extend_low_i32x4_s", (simd::extend<simd::s64x2, simd::s32x4>(a, 0)))                               \
  X(200, i64x2_extend_high_i32x4_s, "i64x2.extend_high_i32x4_s", (simd::extend<simd::s64x2, simd::s32x4>(a, 2)))                             \
  X(201, i64x2_extend_low_i32x4_u, "i64x2.extend_low_i32x4_u", (simd::extend<simd::u64x2, simd::u32x4>(a, 0)))                               \
  X(202, i64x2_extend_high_i32x4_u, "i64x2.extend_high_i32x4_u", (simd::extend<simd::u64x2, simd::u32x4>(a, 2)))                             \
  X(224, f32x4_abs, "f32x4.abs", simd::fabs<simd::f32x4>(a))                                                                                 \
  X(225, f32x4_neg, "f32x4.neg", simd::fneg<simd::f32x4>(a))                                                                                 \
  X(227, f32x4_sqrt, "f32x4.sqrt", simd::fsqrt<simd::f32x4>(a))                                                                              \
  X(236, f64x2_abs, "f64x2.abs", simd::fabs<simd::f64x2>(a))                                                                                 \
  X(237, f64x2_neg, "f64x2.neg", simd::fneg<simd::f64x2>(a))                                                                                 \
  X(239, f64x2_sqrt, "f64x2.sqrt", simd::fsqrt<simd::f64x2>(a))                                                                              \
  X(248, i32x4_trunc_sat_f32x4_s, "i32x4.trunc_sat_f32x4_s", (simd::trunc_sat<std::int32_t, simd::f32x4>(a)))                                \
  X(249, i32x4_trunc_sat_f32x4_u, "i32x4.trunc_sat_f32x4_u", (simd::trunc_sat<std::uint32_t, simd::f32x4>(a)))                               \
  X(250, f32x4_convert_i32x4_s, "f32x4.convert_i32x4_s", (simd::convert<simd::f32x4, simd::s32x4>(a)))                                       \
  X(251, f32x4_convert_i32x4_u, "f32x4.convert_i32x4_u", (simd::convert<simd::f32x4, simd::u32x4>(a)))                                       \
  X(252, i32x4_trunc_sat_f64x2_s_zero, "i32x4.trunc_sat_f64x2_s_zero", (simd::trunc_sat<std::int32_t, simd::f64x2>(a)))                      \
  X(253, i32x4_trunc_sat_f64x2_u_zero, "i32x4.trunc_sat_f64x2_u_zero", (simd::trunc_sat<std::uint32_t, simd::f64x2>(a)))                     \
  X(254, f64x2_convert_low_i32x4_s, "f64x2.convert_low_i32x4_s", (simd::convert<simd::f64x2, simd::s32x4>(a)))                               \
  X(255, f64x2_convert_low_i32x4_u, "f64x2.convert_low_i32x4_u", (simd::convert<simd::f64x2, simd::u32x4>(a)))

#define WASM_FOR_EACH_SIMD_BINARY(X)                                                                                                         \
  X(14, i8x16_swizzle, "i8x16.swizzle", (simd::swizzle(a, b)))                                                                               \
  X(35, i8x16_eq, "i8x16.eq", (simd::eq<simd::u8x16>(a, b)))                                                                                 \
  X(36, i8x16_ne, "i8x16.ne", (simd::ne<simd::u8x16>(a, b)))                                                                                 \
  X(37, i8x16_lt_s, "i8x16.lt_s", (simd::lt<simd::s8x16>(a, b)))                                                                             \
  X(38, i8x16_lt_u, "i8x16.lt_u", (simd::lt<simd::u8x16>(a, b)))                                                                             \
  X(39, i8x16_gt_s, "i8x16.gt_s", (simd::gt<simd::s8x16>(a, b)))                                                                             \
  X(40, i8x16_gt_u, "i8x16.gt_u", (simd::gt<simd::u8x16>(a, b)))                                                                             \
  X(41, i8x16_le_s, "i8x16.le_s", (simd::le<simd::s8x16>(a, b)))                                                                             \
  X(42, i8x16_le_u, "i8x16.le_u", (simd::le<simd::u8x16>(a, b)))                                                                             \
  X(43, i8x16_ge_s, "i8x16.ge_s", (simd::ge<simd::s8x16>(a, b)))                                                                             \
  X(44, i8x16_ge_u, "i8x16.ge_u", (simd::ge<simd::u8x16>(a, b)))                                                                             \
  X(45, i16x8_eq, "i16x8.eq", (simd::eq<simd::u16x8>(a, b)))                                                                                 \
  X(46, i16x8_ne, "i16x8.ne", (simd::ne<simd::u16x8>(a, b)))                                                                                 \
  X(47, i16x8_lt_s, "i16x8.lt_s", (simd::lt<simd::s16x8>(a, b)))                                                                             \
  X(48, i16x8_lt_u, "i16x8.lt_u", (simd::lt<simd::u16x8>(a, b)))                                                                             \
  X(49, i16x8_gt_s, "i16x8.gt_s", (simd::gt<simd::s16x8>(a, b)))                                                                             \
  X(50, i16x8_gt_u, "i16x8.gt_u", (simd::gt<simd::u16x8>(a, b)))                                                                             \
  X(51, i16x8_le_s, "i16x8.le_s", (simd::le<simd::s16x8>(a, b)))                                                                             \
  X(52, i16x8_le_u, "i16x8.le_u", (simd::le<simd::u16x8>(a, b)))                                                                             \
  X(53, i16x8_ge_s, "i16x8.ge_s", (simd::ge<simd::s16x8>(a, b)))                                                                             \
  X(54, i16x8_ge_u, "i16x8.ge_u", (simd::ge<simd::u16x8>(a, b)))                                                                             \
  X(55, i32x4_eq, "i32x4.eq", (simd::eq<simd::u32x4>(a, b)))                                                                                 \
  X(56, i32x4_ne, "i32x4.ne", (simd::ne<simd::u32x4>(a, b)))                                                                                 \
  X(57, i32x4_lt_s, "i32x4.lt_s", (simd::lt<simd::s32x4>(a, b)))                                                                             \
  X(58, i32x4_lt_u, "i32x4.lt_u", (simd::lt<simd::u32x4>(a, b)))                                                                             \
  X(59, i32x4_gt_s, "i32x4.gt_s", (simd::gt<simd::s32x4>(a, b)))                                                                             \
  X(60, i32x4_gt_u, "i32x4.gt_u", (simd::gt<simd::u32x4>(a, b)))                                                                             \
  X(61, i32x4_le_s, "i32x4.le_s", (simd::le<simd::s32x4>(a, b)))                                                                             \
  X(62, i32x4_le_u, "i32x4.le_u", (simd::le<simd::u32x4>(a, b)))                                                                             \
  X(63, i32x4_ge_s, "i32x4.ge_s", (simd::ge<simd::s32x4>(a, b)))                                                                             \
  X(64, i32x4_ge_u, "i32x4.ge_u", (simd::ge<simd::u32x4>(a, b)))                                                                             \
  X(65, f32x4_eq, "f32x4.eq", (simd::eq<simd::f32x4>(a, b)))                                                                                 \
  X(66, f32x4_ne, "f32x4.ne", (simd::ne<simd::f32x4>(a, b)))                                                                                 \
  X(67, f32x4_lt, "f32x4.lt", (simd::lt<simd::f32x4>(a, b)))                                                                                 \
  X(68, f32x4_gt, "f32x4.gt", (simd::gt<simd::f32x4>(a, b)))                                                                                 \
  X(69, f32x4_le, "f32x4.le", (simd::le<simd::f32x4>(a, b)))                                                                                 \
  X(70, f32x4_ge, "f32x4.ge", (simd::ge<simd::f32x4>(a, b)))                                                                                 \
  X(71, f64x2_eq, "f64x2.eq", (simd::eq<simd::f64x2>(a, b)))                                                                                 \
  X(72, f64x2_ne, "f64x2.ne", (simd::ne<simd::f64x2>(a, b)))                                                                                 \
  X(73, f64x2_lt, "f64x2.lt", (simd::lt<simd::f64x2>(a, b)))                                                                                 \
  X(74, f64x2_gt, "f64x2.gt", (simd::gt<simd::f64x2>(a, b)))                                                                                 \
  X(75, f64x2_le, "f64x2.le", (simd::le<simd::f64x2>(a, b)))                                                                                 \
  X(76, f64x2_ge, "f64x2.ge", (simd::ge<simd::f64x2>(a, b)))                                                                                 \
  X(78, v128_and, "v128.and", a & b)                                                                                                         \
  X(79, v128_andnot, "v128.andnot", a & ~b)                                                                                                  \
  X(80, v128_or, "v128.or", a | b)                                                                                                           \
  X(81, v128_xor, "v128.xor", a ^ b)                                                                                                         \
  X(101, i8x16_narrow_i16x8_s, "i8x16.narrow_i16x8_s", (simd::narrow<simd::s8x16, simd::s16x8>(a, b)))                                       \
  X(102, i8x16_narrow_i16x8_u, "i8x16.narrow_i16x8_u", (simd::narrow<simd::u8x16, simd::s16x8>(a, b)))                                       \
  X(110, i8x16_add, "i8x16.add", (simd::add<simd::u8x16>(a, b)))                                                                             \
  X(111, i8x16_add_sat_s, "i8x16.add_sat_s", (simd::add_sat<simd::s8x16>(a, b)))                                                             \
  X(112, i8x16_add_sat_u, "i8x16.add_sat_u", (simd::add_sat<simd::u8x16>(a, b)))                                                             \
  X(113, i8x16_sub, "i8x16.sub", (simd::sub<simd::u8x16>(a, b)))                                                                             \
  X(114, i8x16_sub_sat_s, "i8x16.sub_sat_s", (simd::sub_sat<simd::s8x16>(a, b)))                                                             \
  X(115, i8x16_sub_sat_u, "i8x16.sub_sat_u", (simd::sub_sat<simd::u8x16>(a, b)))                                                             \
  X(118, i8x16_min_s, "i8x16.min_s", (simd::min<simd::s8x16>(a, b)))                                                                         \
  X(119, i8x16_min_u, "i8x16.min_u", (simd::min<simd::u8x16>(a, b)))                                                                         \
  X(120, i8x16_max_s, "i8x16.max_s", (simd::max<simd::s8x16>(a, b)))                                                                         \
  X(121, i8x16_max_u, "i8x16.max_u", (simd::max<simd::u8x16>(a, b)))                                                                         \
  X(123, i8x16_avgr_u, "i8x16.avgr_u", (simd::avgr<simd::u8x16>(a, b)))                                                                      \
  X(130, i16x8_q15mulr_sat_s, "i16x8.q15mulr_sat_s", (simd::q15mulr_sat(a, b)))                                                              \
  X(133, i16x8_narrow_i32x4_s, "i16x8.narrow_i32x4_s", (simd::narrow<simd::s16x8, simd::s32x4>(a, b)))                                       \
  X(134, i16x8_narrow_i32x4_u, "i16x8.narrow_i32x4_u", (simd::narrow<simd::u16x8, simd::s32x4>(a, b)))                                       \
  X(142, i16x8_add, "i16x8.add", (simd::add<simd::u16x8>(a, b)))                                                                             \
  X(143, i16x8_add_sat_s, "i16x8.add_sat_s", (simd::add_sat<simd::s16x8>(a, b)))                                                             \
  X(144, i16x8_add_sat_u, "i16x8.add_sat_u", (simd::add_sat<simd::u16x8>(a, b)))                                                             \
  X(145, i16x8_sub, "i16x8.sub", (simd::sub<simd::u16x8>(a, b)))                                                                             \
  X(146, i16x8_sub_sat_s, "i16x8.sub_sat_s", (simd::sub_sat<simd::s16x8>(a, b)))                                                             \
  X(147, i16x8_sub_sat_u, "i16x8.sub_sat_u", (simd::sub_sat<simd::u16x8>(a, b)))                                                             \
  X(149, i16x8_mul, "i16x8.mul", (simd::mul<simd::u16x8>(a, b)))                                                                             \
  X(150, i16x8_min_s, "i16x8.min_s", (simd::min<simd::s16x8>(a, b)))                                                                         \
  X(151, i16x8_min_u, "i16x8.min_u", (simd::min<simd::u16x8>(a, b)))                                                                         \
  X(152, i16x8_max_s, "i16x8.max_s", (simd::max<simd::s16x8>(a, b)))                                                                         \
  X(153, i16x8_max_u, "i16x8.max_u", (simd::max<simd::u16x8>(a, b)))                                                                         \
  X(155, i16x8_avgr_u, "i16x8.avgr_u", (simd::avgr<simd::u16x8>(a, b)))                                                                      \
  X(156, i16x8_extmul_low_i8x16_s, "i16x8.extmul_low_i8x16_s", (simd::extmul<simd::s16x8, simd::s8x16>(a, b, 0)))                            \
  X(157, i16x8_extmul_high_i8x16_s, "i16x8.extmul_high_i8x16_s", (simd::extmul<simd::s16x8, simd::s8x16>(a, b, 8)))                          \
  X(158, i16x8_extmul_low_i8x16_u, "i16x8.extmul_low_i8x16_u", (simd::extmul<simd::u16x8, simd::u8x16>(a, b, 0)))                            \
  X(159, i16x8_extmul_high_i8x16_u, "i16x8.extmul_high_i8x16_u", (simd::extmul<simd::u16x8, simd::u8x16>(a, b, 8)))                          \
  X(174, i32x4_add, "i32x4.add", (simd::add<simd::u32x4>(a, b)))                                                                             \
  X(177, i32x4_sub, "i32x4.sub", (simd::sub<simd::u32x4>(a, b)))                                                                             \
  X(181, i32x4_mul, "i32x4.mul", (simd::mul<simd::u32x4>(a, b)))                                                                             \
  X(182, i32x4_min_s, "i32x4.min_s", (simd::min<simd::s32x4>(a, b)))                                                                         \
  X(183, i32x4_min_u, "i32x4.min_u", (simd::min<simd::u32x4>(a, b)))                                                                         \
  X(184, i32x4_max_s, "i32x4.max_s", (simd::max<simd::s32x4>(a, b)))                                                                         \
  X(185, i32x4_max_u, "i32x4.max_u", (simd::max<simd::u32x4>(a, b)))                                                                         \
  X(186, i32x4_dot_i16x8_s, "i32x4.dot_i16x8_s", (simd::dot_i16x8(a, b)))                                                                    \
  X(188, i32x4_extmul_low_i16x8_s, "i32x4.extmul_low_i16x8_s", (simd::extmul<simd::s32x4, simd::s16x8>(a, b, 0)))                            \
  X(189, i32x4_extmul_high_i16x8_s, "i32x4.extmul_high_i16x8_s", (simd::extmul<simd::s32x4, simd::s16x8>(a, b, 4)))                          \
  X(190, i32x4_extmul_low_i16x8_u, "i32x4.extmul_low_i16x8_u", (simd::extmul<simd::u32x4, simd::u16x8>(a, b, 0)))                            \
  X(191, i32x4_extmul_high_i16x8_u, "i32x4.extmul_high_i16x8_u", (simd::extmul<simd::u32x4, simd::u16x8>(a, b, 4)))                          \
  X(206, i64x2_add, "i64x2.add", (simd::add<simd::u64x2>(a, b)))                                                                             \
  X(209, i64x2_sub, "i64x2.sub", (simd::sub<simd::u64x2>(a, b)))                                                                             \
  X(213, i64x2_mul, "i64x2.mul", (simd::mul<simd::u64x2>(a, b)))                                                                             \
  X(214, i64x2_eq, "i64x2.eq", (simd::eq<simd::u64x2>(a, b)))                                                                                \
  X(215, i64x2_ne, "i64x2.ne", (simd::ne<simd::u64x2>(a, b)))                                                                                \
  X(216, i64x2_lt_s, "i64x2.lt_s", (simd::lt<simd::s64x2>(a, b)))                                                                            \
  X(217, i64x2_gt_s, "i64x2.gt_s", (simd::gt<simd::s64x2>(a, b)))                                                                            \
  X(218, i64x2_le_s, "i64x2.le_s", (simd::le<simd::s64x2>(a, b)))                                                                            \
  X(219, i64x2_ge_s, "i64x2.ge_s", (simd::ge<simd::s64x2>(a, b)))                                                                            \
  X(220, i64x2_extmul_low_i32x4_s, "i64x2.extmul_low_i32x4_s", (simd::extmul<simd::s64x2, simd::s32x4>(a, b, 0)))                            \
  X(221, i64x2_extmul_high_i32x4_s, "i64x2.extmul_high_i32x4_s", (simd::extmul<simd::s64x2, simd::s32x4>(a, b, 2)))                          \
  X(222, i64x2_extmul_low_i32x4_u, "i64x2.extmul_low_i32x4_u", (simd::extmul<simd::u64x2, simd::u32x4>(a, b, 0)))                            \
  X(223, i64x2_extmul_high_i32x4_u, "i64x2.extmul_high_i32x4_u", (simd::extmul<simd::u64x2, simd::u32x4>(a, b, 2)))                          \
  X(228, f32x4_add, "f32x4.add", (simd::fadd<simd::f32x4>(a, b)))                                                                            \
  X(229, f32x4_sub, "f32x4.sub", (simd::fsub<simd::f32x4>(a, b)))                                                                            \
  X(230, f32x4_mul, "f32x4.mul", (simd::fmul<simd::f32x4>(a, b)))                                                                            \
  X(231, f32x4_div, "f32x4.div", (simd::fdiv<simd::f32x4>(a, b)))                                                                            \
  X(232, f32x4_min, "f32x4.min", (simd::fmin<simd::f32x4>(a, b)))                                                                            \
  X(233, f32x4_max, "f32x4.max", (simd::fmax<simd::f32x4>(a, b)))                                                                            \
  X(234, f32x4_pmin, "f32x4.pmin", (simd::pmin<simd::f32x4>(a, b)))                                                                          \
  X(235, f32x4_pmax, "f32x4.pmax", (simd::pmax<simd::f32x4>(a, b)))                                                                          \
  X(240, f64x2_add, "f64x2.add", (simd::fadd<simd::f64x2>(a, b)))                                                                            \
  X(241, f64x2_sub, "f64x2.sub", (simd::fsub<simd::f64x2>(a, b)))                                                                            \
  X(242, f64x2_mul, "f64x2.mul", (simd::fmul<simd::f64x2>(a, b)))                                                                            \
  X(243, f64x2_div, "f64x2.div", (simd::fdiv<simd::f64x2>(a, b)))                                                                            \
  X(244, f64x2_min, "f64x2.min", (simd::fmin<simd::f64x2>(a, b)))                                                                            \
  X(245, f64x2_max, "f64x2.max", (simd::fmax<simd::f64x2>(a, b)))                                                                            \
  X(246, f64x2_pmin, "f64x2.pmin", (simd::pmin<simd::f64x2>(a, b)))                                                                          \
  X(247, f64x2_pmax, "f64x2.pmax", (simd::pmax<simd::f64x2>(a, b)))

#define WASM_FOR_EACH_SIMD_TEST(X)                                                                                                           \
  X(83, v128_any_true, "v128.any_true", simd::any_true(a))                                                                                   \
  X(99, i8x16_all_true, "i8x16.all_true", simd::all_true<simd::u8x16>(a))                                                                    \
  X(100, i8x16_bitmask, "i8x16.bitmask", simd::bitmask<simd::s8x16>(a))                                                                      \
  X(131, i16x8_all_true, "i16x8.all_true", simd::all_true<simd::u16x8>(a))                                                                   \
  X(132, i16x8_bitmask, "i16x8.bitmask", simd::bitmask<simd::s16x8>(a))                                                                      \
  X(163, i32x4_all_true, "i32x4.all_true", simd::all_true<simd::u32x4>(a))                                                                   \
  X(164, i32x4_bitmask, "i32x4.bitmask", simd::bitmask<simd::s32x4>(a))                                                                      \
  X(195, i64x2_all_true, "i64x2.all_true", simd::all_true<simd::u64x2>(a))                                                                   \
  X(196, i64x2_bitmask, "i64x2.bitmask", simd::bitmask<simd::s64x2>(a))

#define WASM_FOR_EACH_SIMD_SHIFT(X)                                                                                                          \
  X(107, i8x16_shl, "i8x16.shl", (simd::shl<simd::u8x16>(a, n)))                                                                             \
  X(108, i8x16_shr_s, "i8x16.shr_s", (simd::shr<simd::s8x16>(a, n)))                                                                         \
  X(109, i8x16_shr_u, "i8x16.shr_u", (simd::shr<simd::u8x16>(a, n)))                                                                         \
  X(139, i16x8_shl, "i16x8.shl", (simd::shl<simd::u16x8>(a, n)))                                                                             \
  X(140, i16x8_shr_s, "i16x8.shr_s", (simd::shr<simd::s16x8>(a, n)))                                                                         \
  X(141, i16x8_shr_u, "i16x8.shr_u", (simd::shr<simd::u16x8>(a, n)))                                                                         \
  X(171, i32x4_shl, "i32x4.shl", (simd::shl<simd::u32x4>(a, n)))                                                                             \
  X(172, i32x4_shr_s, "i32x4.shr_s", (simd::shr<simd::s32x4>(a, n)))                                                                         \
  X(173, i32x4_shr_u, "i32x4.shr_u", (simd::shr<simd::u32x4>(a, n)))                                                                         \
  X(203, i64x2_shl, "i64x2.shl", (simd::shl<simd::u64x2>(a, n)))                                                                             \
  X(204, i64x2_shr_s, "i64x2.shr_s", (simd::shr<simd::s64x2>(a, n)))                                                                         \
  X(205, i64x2_shr_u, "i64x2.shr_u", (simd::shr<simd::u64x2>(a, n)))

#define WASM_FOR_EACH_SIMD_SPLAT(X)                                                                                                          \
  X(15, i8x16_splat, "i8x16.splat", I32, simd::splat<simd::u8x16>(static_cast<std::uint8_t>(x)))                                             \
  X(16, i16x8_splat, "i16x8.splat", I32, simd::splat<simd::u16x8>(static_cast<std::uint16_t>(x)))                                            \
  X(17, i32x4_splat, "i32x4.splat", I32, simd::splat<simd::u32x4>(static_cast<std::uint32_t>(x)))                                            \
  X(18, i64x2_splat, "i64x2.splat", I64, simd::splat<simd::u64x2>(static_cast<std::uint64_t>(x)))                                            \
  X(19, f32x4_splat, "f32x4.splat", F32, simd::splat<simd::f32x4>(static_cast<F32>(x)))                                                      \
  X(20, f64x2_splat, "f64x2.splat", F64, simd::splat<simd::f64x2>(static_cast<F64>(x)))

#define WASM_FOR_EACH_SIMD_EXTRACT(X)                                                                                                        \
  X(21, i8x16_extract_lane_s, "i8x16.extract_lane_s", 16, I32, (static_cast<I32>(static_cast<std::int32_t>(simd::lane<simd::s8x16>(a, i))))) \
  X(22, i8x16_extract_lane_u, "i8x16.extract_lane_u", 16, I32, (simd::lane<simd::u8x16>(a, i)))                                              \
  X(24, i16x8_extract_lane_s, "i16x8.extract_lane_s", 8, I32, (static_cast<I32>(static_cast<std::int32_t>(simd::lane<simd::s16x8>(a, i)))))  \
  X(25, i16x8_extract_lane_u, "i16x8.extract_lane_u", 8, I32, (simd::lane<simd::u16x8>(a, i)))                                               \
  X(27, i32x4_extract_lane, "i32x4.extract_lane", 4, I32, (simd::lane<simd::u32x4>(a, i)))                                                   \
  X(29, i64x2_extract_lane, "i64x2.extract_lane", 2, I64, (simd::lane<simd::u64x2>(a, i)))                                                   \
  X(31, f32x4_extract_lane, "f32x4.extract_lane", 4, F32, (simd::lane<simd::f32x4>(a, i)))                                                   \
  X(33, f64x2_extract_lane, "f64x2.extract_lane", 2, F64, (simd::lane<simd::f64x2>(a, i)))

#define WASM_FOR_EACH_SIMD_REPLACE(X)                                                                                                        \
  X(23, i8x16_replace_lane, "i8x16.replace_lane", 16, I32, (simd::replace<simd::u8x16>(a, i, static_cast<std::uint8_t>(x))))                 \
  X(26, i16x8_replace_lane, "i16x8.replace_lane", 8, I32, (simd::replace<simd::u16x8>(a, i, static_cast<std::uint16_t>(x))))                 \
  X(28, i32x4_replace_lane, "i32x4.replace_lane", 4, I32, (simd::replace<simd::u32x4>(a, i, x)))                                             \
  X(30, i64x2_replace_lane, "i64x2.replace_lane", 2, I64, (simd::replace<simd::u64x2>(a, i, x)))                                             \
  X(32, f32x4_replace_lane, "f32x4.replace_lane", 4, F32, (simd::replace<simd::f32x4>(a, i, x)))                                             \
  X(34, f64x2_replace_lane, "f64x2.replace_lane", 2, F64, (simd::replace<simd::f64x2>(a, i, x)))

#define WASM_FOR_EACH_SIMD_LOAD(X)                                                                                                           \
  X(0, v128_load, "v128.load", 16, 4, simd::load(p))                                                                                         \
  X(1, v128_load8x8_s, "v128.load8x8_s", 8, 3, (simd::load_extend<simd::s16x8, simd::s8x16>(p)))                                             \
  X(2, v128_load8x8_u, "v128.load8x8_u", 8, 3, (simd::load_extend<simd::u16x8, simd::u8x16>(p)))                                             \
  X(3, v128_load16x4_s, "v128.load16x4_s", 8, 3, (simd::load_extend<simd::s32x4, simd::s16x8>(p)))                                           \
  X(4, v128_load16x4_u, "v128.load16x4_u", 8, 3, (simd::load_extend<simd::u32x4, simd::u16x8>(p)))                                           \
  X(5, v128_load32x2_s, "v128.load32x2_s", 8, 3, (simd::load_extend<simd::s64x2, simd::s32x4>(p)))                                           \
  X(6, v128_load32x2_u, "v128.load32x2_u", 8, 3, (simd::load_extend<simd::u64x2, simd::u32x4>(p)))                                           \
  X(7, v128_load8_splat, "v128.load8_splat", 1, 0, simd::load_splat<simd::u8x16>(p))                                                         \
  X(8, v128_load16_splat, "v128.load16_splat", 2, 1, simd::load_splat<simd::u16x8>(p))                                                       \
  X(9, v128_load32_splat, "v128.load32_splat", 4, 2, simd::load_splat<simd::u32x4>(p))                                                       \
  X(10, v128_load64_splat, "v128.load64_splat", 8, 3, simd::load_splat<simd::u64x2>(p))                                                      \
  X(92, v128_load32_zero, "v128.load32_zero", 4, 2, simd::load_zero<simd::u32x4>(p))                                                         \
  X(93, v128_load64_zero, "v128.load64_zero", 8, 3, simd::load_zero<simd::u64x2>(p))

#define WASM_FOR_EACH_SIMD_LOAD_LANE(X)                                                                                                      \
  X(84, v128_load8_lane, "v128.load8_lane", simd::u8x16, 0)                                                                                  \
  X(85, v128_load16_lane, "v128.load16_lane", simd::u16x8, 1)                                                                                \
  X(86, v128_load32_lane, "v128.load32_lane", simd::u32x4, 2)                                                                                \
  X(87, v128_load64_lane, "v128.load64_lane", simd::u64x2, 3)

#define WASM_FOR_EACH_SIMD_STORE_LANE(X)                                                                                                     \
  X(88, v128_store8_lane, "v128.store8_lane", simd::u8x16, 0)                                                                                \
  X(89, v128_store16_lane, "v128.store16_lane", simd::u16x8, 1)                                                                              \
  X(90, v128_store32_lane, "v128.store32_lane", simd::u32x4, 2)                                                                              \
  X(91, v128_store64_lane, "v128.store64_lane", simd::u64x2, 3)
// clang-format on

// Every instruction of the code form that the SIMD translation emits, in the order of the Op
// enum: X(sub-opcode or 0, identifier, ...), so that `#define X(code, id, ...) id` lists them.
#define WASM_FOR_EACH_SIMD_OP(X)                                                   \
  WASM_FOR_EACH_SIMD_UNARY(X)                                                      \
  WASM_FOR_EACH_SIMD_BINARY(X)                                                     \
  WASM_FOR_EACH_SIMD_TEST(X)                                                       \
  WASM_FOR_EACH_SIMD_SHIFT(X)                                                      \
  WASM_FOR_EACH_SIMD_SPLAT(X)                                                      \
  WASM_FOR_EACH_SIMD_EXTRACT(X)                                                    \
  WASM_FOR_EACH_SIMD_REPLACE(X)                                                    \
  WASM_FOR_EACH_SIMD_LOAD(X)                                                       \
  WASM_FOR_EACH_SIMD_LOAD_LANE(X)                                                  \
  WASM_FOR_EACH_SIMD_STORE_LANE(X)                                                 \
  X(11, v128_store, "v128.store")         /* address, value, offset */             \
  X(12, v128_const, "v128.const")         /* dst, 4 units */                       \
  X(13, i8x16_shuffle, "i8x16.shuffle")   /* dst, a, b, 4 units of lane indices */ \
  X(82, v128_bitselect, "v128.bitselect") /* dst, a, b, c */                       \
  X(0, v128_select, "select")             /* dst, a, b, cond */                    \
  X(0, v128_global_get, "global.get")     /* dst, Global* (2) */                   \
  X(0, v128_global_set, "global.set")     /* src, Global* (2) */

inline constexpr std::uint32_t kSimdStore = 11, kSimdConst = 12, kSimdShuffle = 13, kSimdBitselect = 82;

// The immediates after a SIMD sub-opcode, for the readers that only skip them.
enum class SimdImmediates : std::uint8_t { none, memarg, memarg_lane, lane, bytes16, unknown };
constexpr SimdImmediates simd_immediates(std::uint32_t sub) {
  switch (sub) {
#define WASM_SIMD_CASE(code, ...) case code:
    WASM_FOR_EACH_SIMD_UNARY(WASM_SIMD_CASE)
    WASM_FOR_EACH_SIMD_BINARY(WASM_SIMD_CASE)
    WASM_FOR_EACH_SIMD_TEST(WASM_SIMD_CASE)
    WASM_FOR_EACH_SIMD_SHIFT(WASM_SIMD_CASE)
    WASM_FOR_EACH_SIMD_SPLAT(WASM_SIMD_CASE)
    case kSimdBitselect:
      return SimdImmediates::none;
      WASM_FOR_EACH_SIMD_EXTRACT(WASM_SIMD_CASE)
      WASM_FOR_EACH_SIMD_REPLACE(WASM_SIMD_CASE)
      return SimdImmediates::lane;
      WASM_FOR_EACH_SIMD_LOAD(WASM_SIMD_CASE)
    case kSimdStore:
      return SimdImmediates::memarg;
      WASM_FOR_EACH_SIMD_LOAD_LANE(WASM_SIMD_CASE)
      WASM_FOR_EACH_SIMD_STORE_LANE(WASM_SIMD_CASE)
      return SimdImmediates::memarg_lane;
    case kSimdConst:
    case kSimdShuffle:
      return SimdImmediates::bytes16;
#undef WASM_SIMD_CASE
    default:
      return SimdImmediates::unknown;
  }
}

}  // namespace spectrum::wasm
