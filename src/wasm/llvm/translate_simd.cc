// Wasm -> LLVM IR: the fixed-width SIMD instructions (prefix 0xFD). A v128 is a <2 x i64> on the
// operand stack, in locals, globals and calls; each instruction bitcasts it to its lane shape.
// LLVM's vector operations and intrinsics are used where their semantics are wasm's exactly
// (wrapping arithmetic, saturating add/sub, smin/umin, ctpop, abs with INT_MIN kept, fptosi.sat,
// IEEE arithmetic and rounding); the rest is spelled out: float min/max (NaN and -0 rules),
// pmin/pmax (the operand order), narrowing saturation, swizzle's out-of-range lanes, shift counts
// modulo the lane width, and q15mulr's rounding.
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/IntrinsicsX86.h>

#include "wasm/llvm/translate.h"
#include "wasm/simd_opcodes.h"

namespace spectrum::wasm {

using llvm::Type;
using llvm::Value;

namespace {

llvm::FixedVectorType* vec(Type* lane, unsigned n) { return llvm::FixedVectorType::get(lane, n); }

// Lane index lists for shuffles.
std::vector<int> lanes_from(int first, int count, int step = 1) {
  std::vector<int> out;
  for (int i = 0; i < count; ++i) out.push_back(first + i * step);
  return out;
}

}  // namespace

Type* FunctionTranslator::v128_type(llvm::LLVMContext& C) { return vec(Type::getInt64Ty(C), 2); }

// Wasm's float min/max per lane: NaN if either operand is NaN, and -0 < +0.
Value* FunctionTranslator::vector_fminmax(Value* a, Value* b, bool is_min) {
  auto* t = llvm::cast<llvm::FixedVectorType>(a->getType());
  Type* bits = llvm::VectorType::getInteger(t);
  Value* ordered = is_min ? B.CreateFCmpOLT(a, b) : B.CreateFCmpOGT(a, b);
  Value* pick = B.CreateSelect(ordered, a, b);
  Value *ab = B.CreateBitCast(a, bits), *bb = B.CreateBitCast(b, bits);
  Value* same = B.CreateBitCast(is_min ? B.CreateOr(ab, bb) : B.CreateAnd(ab, bb), t);
  Value* out = B.CreateSelect(B.CreateFCmpOEQ(a, b), same, pick);
  return B.CreateSelect(B.CreateFCmpUNO(a, b), B.CreateFAdd(a, b), out);
}

bool FunctionTranslator::simd(std::uint32_t sub, BodyReader& r) {
  Type* i8 = B.getInt8Ty();
  Type* i16 = B.getInt16Ty();
  Type* i32 = B.getInt32Ty();
  Type* i64 = B.getInt64Ty();
  Type* v128 = v128_type(C);
  auto* i8x16 = vec(i8, 16);
  auto* i16x8 = vec(i16, 8);
  auto* i32x4 = vec(i32, 4);
  auto* i64x2 = vec(i64, 2);
  auto* f32x4 = vec(B.getFloatTy(), 4);
  auto* f64x2 = vec(B.getDoubleTy(), 2);
  // The integer shapes by lane width in bytes, and the float shape of a lane width.
  auto int_shape = [&](unsigned bytes) -> llvm::FixedVectorType* {
    return bytes == 1 ? i8x16 : bytes == 2 ? i16x8 : bytes == 4 ? i32x4 : i64x2;
  };
  auto as = [&](Value* v, Type* shape) { return B.CreateBitCast(v, shape); };
  auto out = [&](Value* v) { push(B.CreateBitCast(v, v128)); };
  auto pop_as = [&](Type* shape) { return as(pop(), shape); };
  auto un = [&](Type* shape, auto f) { out(f(pop_as(shape))); };
  auto bin = [&](Type* shape, auto f) {
    Value* b = pop_as(shape);
    Value* a = pop_as(shape);
    out(f(a, b));
  };
  // Float arithmetic: constant operands hidden from LLVM's folds (x*1 -> x leaves an sNaN unquieted).
  auto fbin = [&](Type* shape, auto f) {
    Value* b = pop_as(shape);
    Value* a = pop_as(shape);
    if (llvm::isa<llvm::Constant>(b)) b = opaque(b);
    if (llvm::isa<llvm::Constant>(a)) a = opaque(a);
    out(f(a, b));
  };
  auto cmp = [&](Type* shape, llvm::CmpInst::Predicate p) {
    bin(shape, [&](Value* a, Value* b) {
      return B.CreateSExt(B.CreateCmp(p, a, b),
                          llvm::VectorType::getInteger(llvm::cast<llvm::VectorType>(shape)));
    });
  };
  auto fn1 = [&](Type* shape, llvm::Intrinsic::ID id) {
    un(shape, [&](Value* a) { return intrinsic(id, {shape}, {a}); });
  };
  auto fn2 = [&](Type* shape, llvm::Intrinsic::ID id) {
    bin(shape, [&](Value* a, Value* b) { return intrinsic(id, {shape}, {a, b}); });
  };
  auto shuffle = [&](Value* a, Value* b, const std::vector<int>& mask) {
    return B.CreateShuffleVector(a, b, mask);
  };
  auto half = [&](Value* a, unsigned n, bool high) {  // the low or high half of n lanes
    return B.CreateShuffleVector(a, lanes_from(high ? static_cast<int>(n / 2) : 0, static_cast<int>(n / 2)));
  };
  // Widening: the low or high half, sign- or zero-extended to twice the width.
  auto extend = [&](Value* a, unsigned n, bool high, bool is_signed, Type* wide) {
    Value* h = half(a, n, high);
    return is_signed ? B.CreateSExt(h, wide) : B.CreateZExt(h, wide);
  };
  // Saturating narrowing of two vectors of signed lanes into one of half the width.
  auto narrow = [&](Type* from, unsigned n, Type* to, bool is_signed) {
    Value* b = pop_as(from);
    Value* a = pop_as(from);
    Value* both = shuffle(a, b, lanes_from(0, static_cast<int>(2 * n)));
    auto* wide = llvm::cast<llvm::FixedVectorType>(both->getType());
    const unsigned bits = to->getScalarSizeInBits();
    llvm::APInt lo = is_signed ? llvm::APInt::getSignedMinValue(bits) : llvm::APInt(bits, 0);
    llvm::APInt hi = is_signed ? llvm::APInt::getSignedMaxValue(bits) : llvm::APInt::getMaxValue(bits);
    const unsigned wide_bits = wide->getScalarSizeInBits();
    Value* lo_v = llvm::ConstantInt::get(wide, is_signed ? lo.sext(wide_bits) : lo.zext(wide_bits));
    Value* hi_v = llvm::ConstantInt::get(wide, is_signed ? hi.sext(wide_bits) : hi.zext(wide_bits));
    Value* clamped = intrinsic(llvm::Intrinsic::smin, {wide},
                               {intrinsic(llvm::Intrinsic::smax, {wide}, {both, lo_v}), hi_v});
    out(B.CreateTrunc(clamped, to));
  };
  auto shift = [&](Type* shape, llvm::Instruction::BinaryOps opcode) {
    Value* n = pop();
    Value* a = pop_as(shape);
    Type* lane = shape->getScalarType();
    const unsigned bits = lane->getIntegerBitWidth();
    Value* count = B.CreateAnd(n, B.getInt32(bits - 1));
    count = B.CreateZExtOrTrunc(count, lane);
    Value* splat = B.CreateVectorSplat(llvm::cast<llvm::FixedVectorType>(shape)->getNumElements(), count);
    out(B.CreateBinOp(opcode, a, splat));
  };
  auto all_true = [&](llvm::FixedVectorType* shape) {
    Value* a = pop_as(shape);
    Value* nonzero = B.CreateICmpNE(a, llvm::Constant::getNullValue(shape));
    Value* mask = B.CreateBitCast(nonzero, B.getIntNTy(shape->getNumElements()));
    push(B.CreateZExt(B.CreateICmpEQ(mask, llvm::Constant::getAllOnesValue(mask->getType())), i32));
  };
  auto bitmask = [&](llvm::FixedVectorType* shape) {
    Value* a = pop_as(shape);
    Value* negative = B.CreateICmpSLT(a, llvm::Constant::getNullValue(shape));
    push(B.CreateZExt(B.CreateBitCast(negative, B.getIntNTy(shape->getNumElements())), i32));
  };
  // extadd_pairwise: even lanes plus odd lanes, widened.
  auto extadd = [&](llvm::FixedVectorType* shape, Type* wide, bool is_signed) {
    Value* a = pop_as(shape);
    const int n = static_cast<int>(shape->getNumElements());
    Value* even = B.CreateShuffleVector(a, lanes_from(0, n / 2, 2));
    Value* odd = B.CreateShuffleVector(a, lanes_from(1, n / 2, 2));
    auto ext = [&](Value* v) { return is_signed ? B.CreateSExt(v, wide) : B.CreateZExt(v, wide); };
    out(B.CreateAdd(ext(even), ext(odd)));
  };
  auto extmul = [&](llvm::FixedVectorType* shape, Type* wide, bool high, bool is_signed) {
    Value* b = pop_as(shape);
    Value* a = pop_as(shape);
    const unsigned n = shape->getNumElements();
    out(B.CreateMul(extend(a, n, high, is_signed, wide), extend(b, n, high, is_signed, wide)));
  };
  // avgr_u: (a + b + 1) / 2 without widening, (a | b) - ((a ^ b) >> 1) (LLVM 16's legalizer
  // crashed on the widened form).
  auto avgr = [&](llvm::FixedVectorType* shape) {
    bin(shape, [&](Value* a, Value* b) {
      return B.CreateSub(B.CreateOr(a, b), B.CreateLShr(B.CreateXor(a, b), llvm::ConstantInt::get(shape, 1)));
    });
  };
  auto memarg = [&](unsigned size) {
    r.uleb();  // alignment: a hint
    const std::uint64_t offset = r.uleb();
    return address(pop(), offset, size);
  };
  auto volatile_load = [&](Type* t, Value* p) { return B.CreateAlignedLoad(t, p, llvm::Align(1), true); };
  auto lane_shape = [&](std::uint32_t op) {  // load/store lane: 84..87 and 88..91
    return int_shape(1u << ((op - 84) % 4));
  };
  using P = llvm::CmpInst::Predicate;
  namespace I = llvm::Intrinsic;

  switch (sub) {
    // ---- memory
    case 0:
      push(volatile_load(v128, memarg(16)));
      return true;
    case 1:
    case 2:
    case 3:
    case 4:
    case 5:
    case 6: {
      const unsigned lane_bytes = 1u << ((sub - 1) / 2);
      const unsigned n = 8 / lane_bytes;
      Type* narrow_t = vec(B.getIntNTy(lane_bytes * 8), n);
      Value* v = volatile_load(narrow_t, memarg(8));
      Type* wide = int_shape(lane_bytes * 2);
      out(sub % 2 == 1 ? B.CreateSExt(v, wide) : B.CreateZExt(v, wide));
      return true;
    }
    case 7:
    case 8:
    case 9:
    case 10: {
      const unsigned bytes = 1u << (sub - 7);
      Value* x = volatile_load(B.getIntNTy(bytes * 8), memarg(bytes));
      out(B.CreateVectorSplat(16 / bytes, x));
      return true;
    }
    case 92:
    case 93: {
      const unsigned bytes = sub == 92 ? 4 : 8;
      auto* shape = int_shape(bytes);
      Value* x = volatile_load(shape->getElementType(), memarg(bytes));
      out(B.CreateInsertElement(llvm::Constant::getNullValue(shape), x, std::uint64_t{0}));
      return true;
    }
    case 11: {
      r.uleb();
      const std::uint64_t offset = r.uleb();
      Value* v = pop();
      B.CreateAlignedStore(v, address(pop(), offset, 16), llvm::Align(1), true);
      return true;
    }
    case 84:
    case 85:
    case 86:
    case 87: {
      auto* shape = lane_shape(sub);
      r.uleb();
      const std::uint64_t offset = r.uleb();
      const std::uint64_t lane = r.u8();
      Value* a = pop_as(shape);
      Value* p = address(pop(), offset, shape->getScalarSizeInBits() / 8);
      out(B.CreateInsertElement(a, volatile_load(shape->getElementType(), p), lane));
      return true;
    }
    case 88:
    case 89:
    case 90:
    case 91: {
      auto* shape = lane_shape(sub);
      r.uleb();
      const std::uint64_t offset = r.uleb();
      const std::uint64_t lane = r.u8();
      Value* a = pop_as(shape);
      Value* p = address(pop(), offset, shape->getScalarSizeInBits() / 8);
      B.CreateAlignedStore(B.CreateExtractElement(a, lane), p, llvm::Align(1), true);
      return true;
    }
    // ---- constants, shuffles, lanes
    case 12: {
      std::uint64_t halves[2];
      std::memcpy(halves, r.p, 16);
      r.p += 16;
      push(llvm::ConstantVector::get({B.getInt64(halves[0]), B.getInt64(halves[1])}));
      return true;
    }
    case 13: {
      std::vector<int> mask(16);
      for (int& lane : mask) lane = r.u8();
      Value* b = pop_as(i8x16);
      Value* a = pop_as(i8x16);
      out(shuffle(a, b, mask));
      return true;
    }
    case 14: {  // swizzle: lanes indexed >= 16 are 0
      Value* s = pop_as(i8x16);
      Value* a = pop_as(i8x16);
      // The code runs on the CPU it is compiled on (artifacts are keyed by its cpuid). With SSSE3:
      // pshufb zeroes a lane whose index has its top bit set and otherwise uses the low 4 bits;
      // a saturating add of 0x70 maps 0..15 to 0x70..0x7F and 16..255 to 0x80..0xFF.
      if (__builtin_cpu_supports("ssse3")) {
        Value* index = intrinsic(I::uadd_sat, {i8x16}, {s, B.CreateVectorSplat(16, B.getInt8(0x70))});
        out(intrinsic(I::x86_ssse3_pshuf_b_128, {}, {a, index}));
        return true;
      }
      Value* result = llvm::Constant::getNullValue(i8x16);
      for (unsigned i = 0; i < 16; ++i) {
        Value* index = B.CreateExtractElement(s, std::uint64_t{i});
        Value* lane = B.CreateExtractElement(a, B.CreateAnd(index, B.getInt8(15)));
        lane = B.CreateSelect(B.CreateICmpULT(index, B.getInt8(16)), lane, B.getInt8(0));
        result = B.CreateInsertElement(result, lane, std::uint64_t{i});
      }
      out(result);
      return true;
    }
    case 15:
    case 16:
    case 17:
    case 18:
    case 19:
    case 20: {
      static constexpr unsigned kLanes[] = {16, 8, 4, 2, 4, 2};
      Value* x = pop();
      if (sub == 15) x = B.CreateTrunc(x, i8);
      if (sub == 16) x = B.CreateTrunc(x, i16);
      out(B.CreateVectorSplat(kLanes[sub - 15], x));
      return true;
    }
    case 21:
    case 22:
    case 24:
    case 25:
    case 27:
    case 29:
    case 31:
    case 33: {
      const std::uint64_t lane = r.u8();
      Type* shape = sub <= 22   ? i8x16
                    : sub <= 25 ? i16x8
                    : sub == 27 ? i32x4
                    : sub == 29 ? i64x2
                    : sub == 31 ? static_cast<Type*>(f32x4)
                                : f64x2;
      Value* x = B.CreateExtractElement(pop_as(shape), lane);
      if (sub == 21 || sub == 24) x = B.CreateSExt(x, i32);
      if (sub == 22 || sub == 25) x = B.CreateZExt(x, i32);
      push(x);
      return true;
    }
    case 23:
    case 26:
    case 28:
    case 30:
    case 32:
    case 34: {
      const std::uint64_t lane = r.u8();
      Type* shape = sub == 23   ? i8x16
                    : sub == 26 ? i16x8
                    : sub == 28 ? i32x4
                    : sub == 30 ? i64x2
                    : sub == 32 ? static_cast<Type*>(f32x4)
                                : f64x2;
      Value* x = pop();
      if (sub == 23 || sub == 26) x = B.CreateTrunc(x, shape->getScalarType());
      out(B.CreateInsertElement(pop_as(shape), x, lane));
      return true;
    }
    // ---- bitwise
    case 77:
      un(i64x2, [&](Value* a) { return B.CreateNot(a); });
      return true;
    case 78:
      bin(i64x2, [&](Value* a, Value* b) { return B.CreateAnd(a, b); });
      return true;
    case 79:
      bin(i64x2, [&](Value* a, Value* b) { return B.CreateAnd(a, B.CreateNot(b)); });
      return true;
    case 80:
      bin(i64x2, [&](Value* a, Value* b) { return B.CreateOr(a, b); });
      return true;
    case 81:
      bin(i64x2, [&](Value* a, Value* b) { return B.CreateXor(a, b); });
      return true;
    case 82: {
      Value* c = pop();
      Value* b = pop();
      Value* a = pop();
      out(B.CreateOr(B.CreateAnd(a, c), B.CreateAnd(b, B.CreateNot(c))));
      return true;
    }
    case 83:
      push(B.CreateZExt(
          B.CreateICmpNE(B.CreateBitCast(pop(), B.getInt128Ty()), llvm::ConstantInt::get(B.getInt128Ty(), 0)),
          i32));
      return true;
    // ---- conversions
    case 94:
      un(f64x2, [&](Value* a) {
        return shuffle(B.CreateFPTrunc(a, vec(B.getFloatTy(), 2)),
                       llvm::Constant::getNullValue(vec(B.getFloatTy(), 2)), {0, 1, 2, 3});
      });
      return true;
    case 95:
      un(f32x4, [&](Value* a) { return B.CreateFPExt(half(a, 4, false), f64x2); });
      return true;
    case 248:
      un(f32x4, [&](Value* a) { return intrinsic(I::fptosi_sat, {i32x4, f32x4}, {a}); });
      return true;
    case 249:
      un(f32x4, [&](Value* a) { return intrinsic(I::fptoui_sat, {i32x4, f32x4}, {a}); });
      return true;
    case 250:
      un(i32x4, [&](Value* a) { return B.CreateSIToFP(a, f32x4); });
      return true;
    case 251:
      un(i32x4, [&](Value* a) { return B.CreateUIToFP(a, f32x4); });
      return true;
    case 252:
    case 253:
      un(f64x2, [&](Value* a) {
        auto* two = vec(i32, 2);
        Value* t = intrinsic(sub == 252 ? I::fptosi_sat : I::fptoui_sat, {two, f64x2}, {a});
        return shuffle(t, llvm::Constant::getNullValue(two), {0, 1, 2, 3});
      });
      return true;
    case 254:
      un(i32x4, [&](Value* a) { return B.CreateSIToFP(half(a, 4, false), f64x2); });
      return true;
    case 255:
      un(i32x4, [&](Value* a) { return B.CreateUIToFP(half(a, 4, false), f64x2); });
      return true;
    // ---- lane-wise operations outside the regular families below
    case 98:
      fn1(i8x16, I::ctpop);
      return true;
    case 101:
      narrow(i16x8, 8, i8x16, true);
      return true;
    case 102:
      narrow(i16x8, 8, i8x16, false);
      return true;
    case 133:
      narrow(i32x4, 4, i16x8, true);
      return true;
    case 134:
      narrow(i32x4, 4, i16x8, false);
      return true;
    case 124:
    case 125:
    case 126:
    case 127:
      extadd(sub < 126 ? i8x16 : i16x8, sub < 126 ? i16x8 : i32x4, sub % 2 == 0);
      return true;
    case 130:  // q15mulr_sat_s: (a*b + 2^14) >> 15, saturated (only -32768 * -32768 overflows)
      bin(i16x8, [&](Value* a, Value* b) {
        auto* wide = vec(i32, 8);
        Value* p = B.CreateMul(B.CreateSExt(a, wide), B.CreateSExt(b, wide));
        p = B.CreateAShr(B.CreateAdd(p, llvm::ConstantInt::get(wide, 0x4000)),
                         llvm::ConstantInt::get(wide, 15));
        p = intrinsic(I::smin, {wide}, {p, llvm::ConstantInt::get(wide, 0x7FFF)});
        return B.CreateTrunc(p, i16x8);
      });
      return true;
    case 186:  // dot: products of signed 16-bit pairs, each pair summed (wrapping at -2^31 * 2)
      bin(i16x8, [&](Value* a, Value* b) {
        auto* wide = vec(i32, 8);
        Value* p = B.CreateMul(B.CreateSExt(a, wide), B.CreateSExt(b, wide));
        return B.CreateAdd(B.CreateShuffleVector(p, lanes_from(0, 4, 2)),
                           B.CreateShuffleVector(p, lanes_from(1, 4, 2)));
      });
      return true;
    case 103:
    case 104:
    case 105:
    case 106:
    case 116:
    case 117:
    case 122:
    case 148: {  // rounding: ceil, floor, trunc, nearest (ties to even)
      Type* shape = sub <= 106 ? static_cast<Type*>(f32x4) : f64x2;
      const int kind = sub <= 106   ? static_cast<int>(sub - 103)
                       : sub == 116 ? 0
                       : sub == 117 ? 1
                       : sub == 122 ? 2
                                    : 3;
      static constexpr llvm::Intrinsic::ID kRound[] = {I::ceil, I::floor, I::trunc, I::roundeven};
      fn1(shape, kRound[kind]);
      return true;
    }
    case 214:
    case 215:
    case 216:
    case 217:
    case 218:
    case 219: {
      static constexpr P kPred[] = {P::ICMP_EQ,  P::ICMP_NE,  P::ICMP_SLT,
                                    P::ICMP_SGT, P::ICMP_SLE, P::ICMP_SGE};
      cmp(i64x2, kPred[sub - 214]);
      return true;
    }
    default:
      break;
  }
  if (sub >= 35 && sub <= 64) {  // i8x16, i16x8, i32x4 comparisons: ten per shape
    static constexpr P kPred[] = {P::ICMP_EQ,  P::ICMP_NE,  P::ICMP_SLT, P::ICMP_ULT, P::ICMP_SGT,
                                  P::ICMP_UGT, P::ICMP_SLE, P::ICMP_ULE, P::ICMP_SGE, P::ICMP_UGE};
    cmp(int_shape(1u << ((sub - 35) / 10)), kPred[(sub - 35) % 10]);
    return true;
  }
  if (sub >= 65 && sub <= 76) {  // f32x4, f64x2 comparisons: six per shape (ne is true on NaN)
    static constexpr P kPred[] = {P::FCMP_OEQ, P::FCMP_UNE, P::FCMP_OLT,
                                  P::FCMP_OGT, P::FCMP_OLE, P::FCMP_OGE};
    cmp(sub <= 70 ? static_cast<Type*>(f32x4) : f64x2, kPred[(sub - 65) % 6]);
    return true;
  }
  if (sub >= 96 && sub < 224) {  // integer lanes: i8x16, i16x8, i32x4, i64x2 at a stride of 32
    auto* shape = int_shape(1u << ((sub - 96) / 32));
    auto op2 = [&](auto f) { bin(shape, f); };
    switch ((sub - 96) % 32) {
      case 0:
        un(shape, [&](Value* a) { return intrinsic(I::abs, {shape}, {a, B.getFalse()}); });
        return true;
      case 1:
        un(shape, [&](Value* a) { return B.CreateNeg(a); });
        return true;
      case 3:
        all_true(shape);
        return true;
      case 4:
        bitmask(shape);
        return true;
      case 7:
      case 8:
      case 9:
      case 10: {  // extend from the half-width shape: low_s, high_s, low_u, high_u
        const unsigned k = (sub - 96) % 32 - 7;
        auto* from = int_shape(1u << ((sub - 96) / 32 - 1));
        un(from, [&](Value* a) { return extend(a, from->getNumElements(), k % 2 == 1, k < 2, shape); });
        return true;
      }
      case 11:
        shift(shape, llvm::Instruction::Shl);
        return true;
      case 12:
        shift(shape, llvm::Instruction::AShr);
        return true;
      case 13:
        shift(shape, llvm::Instruction::LShr);
        return true;
      case 14:
        op2([&](Value* a, Value* b) { return B.CreateAdd(a, b); });
        return true;
      case 17:
        op2([&](Value* a, Value* b) { return B.CreateSub(a, b); });
        return true;
      case 21:
        op2([&](Value* a, Value* b) { return B.CreateMul(a, b); });
        return true;
      case 15:
      case 16:
      case 18:
      case 19:
      case 22:
      case 23:
      case 24:
      case 25: {  // add_sat_s/u, sub_sat_s/u, min_s/u, max_s/u
        static constexpr llvm::Intrinsic::ID kOp[] = {
            I::sadd_sat,      I::uadd_sat, I::not_intrinsic, I::ssub_sat, I::usub_sat, I::not_intrinsic,
            I::not_intrinsic, I::smin,     I::umin,          I::smax,     I::umax};
        fn2(shape, kOp[(sub - 96) % 32 - 15]);
        return true;
      }
      case 27:
        avgr(shape);
        return true;
      case 28:
      case 29:
      case 30:
      case 31: {  // extmul of the half-width shape: low_s, high_s, low_u, high_u
        const unsigned k = (sub - 96) % 32 - 28;
        auto* from = int_shape(1u << ((sub - 96) / 32 - 1));
        extmul(from, shape, k % 2 == 1, k < 2);
        return true;
      }
      default:
        return false;
    }
  }
  if (sub >= 224 && sub <= 247) {  // f32x4 then f64x2, twelve each
    Type* shape = sub < 236 ? static_cast<Type*>(f32x4) : f64x2;
    switch ((sub - 224) % 12) {
      case 0:
        fn1(shape, I::fabs);
        return true;
      case 1:
        un(shape, [&](Value* a) { return B.CreateFNeg(a); });
        return true;
      case 3:
        fn1(shape, I::sqrt);
        return true;
      case 4:
        fbin(shape, [&](Value* a, Value* b) { return B.CreateFAdd(a, b); });
        return true;
      case 5:
        fbin(shape, [&](Value* a, Value* b) { return B.CreateFSub(a, b); });
        return true;
      case 6:
        fbin(shape, [&](Value* a, Value* b) { return B.CreateFMul(a, b); });
        return true;
      case 7:
        fbin(shape, [&](Value* a, Value* b) { return B.CreateFDiv(a, b); });
        return true;
      case 8:
      case 9:
        fbin(shape, [&](Value* a, Value* b) { return vector_fminmax(a, b, (sub - 224) % 12 == 8); });
        return true;
      case 10:  // pmin: b < a ? b : a (a NaN comparison keeps a)
        bin(shape, [&](Value* a, Value* b) { return B.CreateSelect(B.CreateFCmpOLT(b, a), b, a); });
        return true;
      case 11:  // pmax: a < b ? b : a
        bin(shape, [&](Value* a, Value* b) { return B.CreateSelect(B.CreateFCmpOLT(a, b), b, a); });
        return true;
      default:
        return false;
    }
  }
  return false;
}

}  // namespace spectrum::wasm
