// Lane helpers for the fixed-width SIMD instructions (Wasm 2.0, v128): GCC's vector extensions
// over one 16-byte value, seen as lanes of each shape. Element-wise operators on these types are
// exactly wasm's where wasm's integer lanes wrap (unsigned lane types) and IEEE arithmetic holds
// (float lanes); the rest (saturation, min/max with wasm's NaN and signed-zero rules, rounding,
// narrowing, widening) is written per lane and left to GCC to vectorize. A v128 lives in two
// adjacent 64-bit frame slots (see simd_translate.inc), 8-byte aligned: every access is an
// unaligned 16-byte load or store (movdqu), which costs nothing over an aligned one on x86-64.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>

#include "wasm/opcodes.h"

namespace spectrum::wasm::simd {

typedef std::int8_t s8x16 __attribute__((vector_size(16)));
typedef std::uint8_t u8x16 __attribute__((vector_size(16)));
typedef std::int16_t s16x8 __attribute__((vector_size(16)));
typedef std::uint16_t u16x8 __attribute__((vector_size(16)));
typedef std::int32_t s32x4 __attribute__((vector_size(16)));
typedef std::uint32_t u32x4 __attribute__((vector_size(16)));
typedef std::int64_t s64x2 __attribute__((vector_size(16)));
typedef std::uint64_t u64x2 __attribute__((vector_size(16)));
typedef float f32x4 __attribute__((vector_size(16)));
typedef double f64x2 __attribute__((vector_size(16)));

// The value as the interpreter moves it.
using V = u64x2;

template <class L>
using Elem = std::remove_cvref_t<decltype(std::declval<L&>()[0])>;
template <class L>
inline constexpr int kLanes = static_cast<int>(16 / sizeof(Elem<L>));

template <class L>
inline L as(V v) {
  L r{};
  std::memcpy(&r, &v, 16);
  return r;
}
template <class L>
inline V v(L x) {
  V r;
  std::memcpy(&r, &x, 16);
  return r;
}
inline V load(const void* p) {
  V r;
  std::memcpy(&r, p, 16);
  return r;
}
inline void store(void* p, V x) { std::memcpy(p, &x, 16); }

// ---- element-wise templates: L is the lane shape, f the lane operation
template <class L, class F>
inline V map1(V a, F f) {
  const L x = as<L>(a);
  L r{};
  for (int i = 0; i < kLanes<L>; ++i) r[i] = f(x[i]);
  return v(r);
}
template <class L, class F>
inline V map2(V a, V b, F f) {
  const L x = as<L>(a), y = as<L>(b);
  L r{};
  for (int i = 0; i < kLanes<L>; ++i) r[i] = f(x[i], y[i]);
  return v(r);
}

// Comparisons yield all-ones or zero lanes, which is what GCC's vector comparisons produce.
template <class L>
inline V eq(V a, V b) {
  return v(as<L>(a) == as<L>(b));
}
template <class L>
inline V ne(V a, V b) {
  return v(as<L>(a) != as<L>(b));
}
template <class L>
inline V lt(V a, V b) {
  return v(as<L>(a) < as<L>(b));
}
template <class L>
inline V gt(V a, V b) {
  return v(as<L>(a) > as<L>(b));
}
template <class L>
inline V le(V a, V b) {
  return v(as<L>(a) <= as<L>(b));
}
template <class L>
inline V ge(V a, V b) {
  return v(as<L>(a) >= as<L>(b));
}

// Integer arithmetic on unsigned lanes (wrapping).
template <class L>
inline V add(V a, V b) {
  return v(as<L>(a) + as<L>(b));
}
template <class L>
inline V sub(V a, V b) {
  return v(as<L>(a) - as<L>(b));
}
template <class L>
inline V mul(V a, V b) {
  return v(as<L>(a) * as<L>(b));
}
template <class L>
inline V neg(V a) {
  return v(L{} - as<L>(a));
}
// Signed lanes S: |x| with wrapping (abs(min) = min).
template <class S>
inline V abs(V a) {
  return map1<S>(a, [](auto x) {
    using U = std::make_unsigned_t<decltype(x)>;
    return static_cast<decltype(x)>(x < 0 ? static_cast<U>(0u - static_cast<U>(x)) : static_cast<U>(x));
  });
}
template <class L>
inline V min(V a, V b) {
  return map2<L>(a, b, [](auto x, auto y) { return std::min(x, y); });
}
template <class L>
inline V max(V a, V b) {
  return map2<L>(a, b, [](auto x, auto y) { return std::max(x, y); });
}
template <class U>
inline V avgr(V a, V b) {
  return map2<U>(a, b, [](auto x, auto y) {
    return static_cast<decltype(x)>((static_cast<std::uint32_t>(x) + y + 1) >> 1);
  });
}
// Saturating add/sub of 8- and 16-bit lanes: computed in int, clamped to the lane's range.
template <class L>
inline V add_sat(V a, V b) {
  return map2<L>(a, b, [](auto x, auto y) {
    using T = decltype(x);
    const int r = static_cast<int>(x) + static_cast<int>(y);
    return static_cast<T>(std::clamp<int>(r, std::numeric_limits<T>::min(), std::numeric_limits<T>::max()));
  });
}
template <class L>
inline V sub_sat(V a, V b) {
  return map2<L>(a, b, [](auto x, auto y) {
    using T = decltype(x);
    const int r = static_cast<int>(x) - static_cast<int>(y);
    return static_cast<T>(std::clamp<int>(r, std::numeric_limits<T>::min(), std::numeric_limits<T>::max()));
  });
}
inline V q15mulr_sat(V a, V b) {
  return map2<s16x8>(a, b, [](std::int16_t x, std::int16_t y) {
    const int r = (static_cast<int>(x) * y + 0x4000) >> 15;
    return static_cast<std::int16_t>(std::clamp(r, -32768, 32767));
  });
}
inline V popcnt(V a) {
  return map1<u8x16>(a, [](std::uint8_t x) { return static_cast<std::uint8_t>(std::popcount(x)); });
}

// Shifts take the count modulo the lane width.
template <class L>
inline V shl(V a, std::uint32_t n) {
  return v(as<L>(a) << static_cast<Elem<L>>(n & (sizeof(Elem<L>) * 8 - 1)));
}
template <class L>
inline V shr(V a, std::uint32_t n) {  // arithmetic for signed L, logical for unsigned
  return v(as<L>(a) >> static_cast<Elem<L>>(n & (sizeof(Elem<L>) * 8 - 1)));
}

template <class L>
inline std::uint32_t all_true(V a) {
  const L x = as<L>(a);
  for (int i = 0; i < kLanes<L>; ++i)
    if (x[i] == 0) return 0;
  return 1;
}
template <class S>
inline std::uint32_t bitmask(V a) {
  const S x = as<S>(a);
  std::uint32_t r = 0;
  for (int i = 0; i < kLanes<S>; ++i) r |= static_cast<std::uint32_t>(x[i] < 0) << i;
  return r;
}
inline std::uint32_t any_true(V a) { return (a[0] | a[1]) != 0; }

// Narrowing: the lanes of a then b, each saturated into the narrow lane type N (from wide signed W).
template <class N, class W>
inline V narrow(V a, V b) {
  using T = Elem<N>;
  const W x = as<W>(a), y = as<W>(b);
  N r{};
  constexpr int half = kLanes<W>;
  auto sat = [](auto w) {
    return static_cast<T>(
        std::clamp<std::int64_t>(w, std::numeric_limits<T>::min(), std::numeric_limits<T>::max()));
  };
  for (int i = 0; i < half; ++i) {
    r[i] = sat(x[i]);
    r[i + half] = sat(y[i]);
  }
  return v(r);
}
// Widening: lanes [first, first + n) of the narrow shape N into the wide shape W.
template <class W, class N>
inline V extend(V a, int first) {
  const N x = as<N>(a);
  W r{};
  for (int i = 0; i < kLanes<W>; ++i) r[i] = static_cast<Elem<W>>(x[first + i]);
  return v(r);
}
template <class W, class N>
inline V extmul(V a, V b, int first) {
  const N x = as<N>(a), y = as<N>(b);
  W r{};
  for (int i = 0; i < kLanes<W>; ++i)
    r[i] = static_cast<Elem<W>>(static_cast<Elem<W>>(x[first + i]) * static_cast<Elem<W>>(y[first + i]));
  return v(r);
}
template <class W, class N>
inline V extadd_pairwise(V a) {
  const N x = as<N>(a);
  W r{};
  for (int i = 0; i < kLanes<W>; ++i)
    r[i] = static_cast<Elem<W>>(static_cast<Elem<W>>(x[2 * i]) + static_cast<Elem<W>>(x[2 * i + 1]));
  return v(r);
}
inline V dot_i16x8(V a, V b) {
  const s16x8 x = as<s16x8>(a), y = as<s16x8>(b);
  u32x4 r{};
  for (int i = 0; i < 4; ++i)
    r[i] = static_cast<std::uint32_t>(std::int64_t{x[2 * i]} * y[2 * i] +
                                      std::int64_t{x[2 * i + 1]} * y[2 * i + 1]);
  return v(r);
}

// Floats: sign operations on the bits, so NaNs keep their payload as wasm requires.
template <class F>
inline V fabs(V a) {
  if constexpr (std::is_same_v<F, f32x4>)
    return v(as<u32x4>(a) & 0x7fffffffu);
  else
    return v(as<u64x2>(a) & 0x7fffffffffffffffull);
}
template <class F>
inline V fneg(V a) {
  if constexpr (std::is_same_v<F, f32x4>)
    return v(as<u32x4>(a) ^ 0x80000000u);
  else
    return v(as<u64x2>(a) ^ 0x8000000000000000ull);
}
template <class F>
inline V fadd(V a, V b) {
  return v(as<F>(a) + as<F>(b));
}
template <class F>
inline V fsub(V a, V b) {
  return v(as<F>(a) - as<F>(b));
}
template <class F>
inline V fmul(V a, V b) {
  return v(as<F>(a) * as<F>(b));
}
template <class F>
inline V fdiv(V a, V b) {
  return v(as<F>(a) / as<F>(b));
}
template <class F>
inline V fsqrt(V a) {
  return map1<F>(a, [](auto x) { return std::sqrt(x); });
}
template <class F>
inline V fmin(V a, V b) {
  return map2<F>(a, b, [](auto x, auto y) { return num::fmin(x, y); });
}
template <class F>
inline V fmax(V a, V b) {
  return map2<F>(a, b, [](auto x, auto y) { return num::fmax(x, y); });
}
// pmin/pmax are C's `b < a ? b : a` and `a < b ? b : a`: an operand unchanged, NaN or not.
template <class F>
inline V pmin(V a, V b) {
  return map2<F>(a, b, [](auto x, auto y) { return y < x ? y : x; });
}
template <class F>
inline V pmax(V a, V b) {
  return map2<F>(a, b, [](auto x, auto y) { return x < y ? y : x; });
}
template <class F>
inline V fceil(V a) {
  return map1<F>(a, [](auto x) { return num::ceil(x); });
}
template <class F>
inline V ffloor(V a) {
  return map1<F>(a, [](auto x) { return num::floor(x); });
}
template <class F>
inline V ftrunc(V a) {
  return map1<F>(a, [](auto x) { return num::trunc(x); });
}
template <class F>
inline V fnearest(V a) {
  return map1<F>(a, [](auto x) { return num::nearest(x); });
}

// Conversions. Lanes beyond the source's are zero (the `_zero` forms).
template <class To, class From>
inline V convert(V a) {
  const From x = as<From>(a);
  To r{};
  constexpr int n = std::min(kLanes<To>, kLanes<From>);
  for (int i = 0; i < n; ++i) r[i] = static_cast<Elem<To>>(x[i]);
  return v(r);
}
template <class I, class F>
inline V trunc_sat(V a) {
  const F x = as<F>(a);
  u32x4 r{};
  for (int i = 0; i < kLanes<F>; ++i) r[i] = static_cast<std::uint32_t>(num::trunc_sat<I>(x[i]));
  return v(r);
}

// Lanes.
template <class L>
inline V splat(Elem<L> x) {
  L r{};
  for (int i = 0; i < kLanes<L>; ++i) r[i] = x;
  return v(r);
}
template <class L>
inline Elem<L> lane(V a, std::uint32_t i) {
  return as<L>(a)[i];
}
template <class L>
inline V replace(V a, std::uint32_t i, Elem<L> x) {
  L r = as<L>(a);
  r[i] = x;
  return v(r);
}
inline V swizzle(V a, V s) {
  const u8x16 x = as<u8x16>(a), idx = as<u8x16>(s);
  u8x16 r{};
  for (int i = 0; i < 16; ++i) r[i] = idx[i] < 16 ? x[idx[i]] : 0;
  return v(r);
}
// Lanes picked from a ++ b by 16 indices below 32.
inline V shuffle(V a, V b, V lanes) {
  const u8x16 x = as<u8x16>(a), y = as<u8x16>(b), idx = as<u8x16>(lanes);
  u8x16 r{};
  for (int i = 0; i < 16; ++i) r[i] = idx[i] < 16 ? x[idx[i]] : y[idx[i] & 15];
  return v(r);
}
inline V bitselect(V a, V b, V c) { return (a & c) | (b & ~c); }

// Loads of fewer than 16 bytes: p points to the bytes read.
template <class W, class N>
inline V load_extend(const std::uint8_t* p) {
  N x{};
  std::memcpy(&x, p, 8);
  return extend<W, N>(v(x), 0);
}
template <class L>
inline V load_splat(const std::uint8_t* p) {
  Elem<L> x;
  std::memcpy(&x, p, sizeof x);
  return splat<L>(x);
}
template <class L>
inline V load_zero(const std::uint8_t* p) {
  L r{};
  std::memcpy(&r, p, sizeof(Elem<L>));
  return v(r);
}

}  // namespace spectrum::wasm::simd
