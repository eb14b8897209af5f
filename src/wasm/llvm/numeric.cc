// Wasm -> LLVM IR: the numeric instructions (comparisons, arithmetic, conversions, sign extension,
// saturating truncation). Where LLVM's operation is undefined and wasm's is not (division by zero,
// shift counts, min/max of NaN and signed zeros, trapping truncation) the wasm rule is spelled out.
#include <llvm/IR/InlineAsm.h>
#include <llvm/IR/Intrinsics.h>

#include "wasm/llvm/translate.h"

namespace spectrum::wasm {

using llvm::Type;
using llvm::Value;

Value* FunctionTranslator::intrinsic(llvm::Intrinsic::ID id, std::vector<Type*> types,
                                     std::vector<Value*> args) {
  return B.CreateCall(llvm::Intrinsic::getDeclaration(&M, id, types), args);
}

// LLVM folds x-0, x*1, x/1, demote(promote(x)) to x, which leaves a signalling NaN unquieted where
// wasm wants an arithmetic NaN: such operands go through an empty asm that LLVM cannot see into
// (a register, no instruction).
Value* FunctionTranslator::opaque(Value* v) {
  Type* t = v->getType();
  auto* asm_fn = llvm::InlineAsm::get(llvm::FunctionType::get(t, {t}, false), "", "=x,0", false);
  return B.CreateCall(asm_fn, {v});
}

// Wasm's min/max: NaN if either operand is NaN, and -0 < +0.
Value* FunctionTranslator::fminmax(Value* a, Value* b, bool is_min) {
  Type* t = a->getType();
  Type* bits = t->isFloatTy() ? B.getInt32Ty() : B.getInt64Ty();
  Value* ordered = is_min ? B.CreateFCmpOLT(a, b) : B.CreateFCmpOGT(a, b);
  Value* pick = B.CreateSelect(ordered, a, b);
  // Equal (including -0 == +0): min ORs the sign bits, max ANDs them.
  Value *ab = B.CreateBitCast(a, bits), *bb = B.CreateBitCast(b, bits);
  Value* same = B.CreateBitCast(is_min ? B.CreateOr(ab, bb) : B.CreateAnd(ab, bb), t);
  Value* out = B.CreateSelect(B.CreateFCmpOEQ(a, b), same, pick);
  return B.CreateSelect(B.CreateFCmpUNO(a, b), B.CreateFAdd(a, b), out);
}

// Trapping float -> integer truncation: NaN is an invalid conversion, out of range an overflow.
Value* FunctionTranslator::trunc_checked(Value* x, Type* to, bool is_signed) {
  Value* d = x->getType()->isFloatTy() ? B.CreateFPExt(x, B.getDoubleTy()) : x;
  trap_if(B.CreateFCmpUNO(d, d), TrapKind::invalid_conversion);
  const unsigned bits = to->getIntegerBitWidth();
  llvm::Constant* lo;
  llvm::Constant* hi;
  Value* above_lo;
  if (is_signed) {
    hi = llvm::ConstantFP::get(B.getDoubleTy(), std::ldexp(1.0, static_cast<int>(bits) - 1));
    if (bits == 32) {
      lo = llvm::ConstantFP::get(B.getDoubleTy(), -2147483649.0);
      above_lo = B.CreateFCmpOGT(d, lo);
    } else {
      // -2^63 - 1 is not a double; no double lies between it and -2^63.
      lo = llvm::ConstantFP::get(B.getDoubleTy(), -std::ldexp(1.0, 63));
      above_lo = B.CreateFCmpOGE(d, lo);
    }
  } else {
    hi = llvm::ConstantFP::get(B.getDoubleTy(), std::ldexp(1.0, static_cast<int>(bits)));
    lo = llvm::ConstantFP::get(B.getDoubleTy(), -1.0);
    above_lo = B.CreateFCmpOGT(d, lo);
  }
  Value* in_range = B.CreateAnd(above_lo, B.CreateFCmpOLT(d, hi));
  trap_if(B.CreateNot(in_range), TrapKind::integer_overflow);
  return is_signed ? B.CreateFPToSI(x, to) : B.CreateFPToUI(x, to);
}

bool FunctionTranslator::numeric(std::uint32_t op) {
  Type* i32 = B.getInt32Ty();
  Type* i64 = B.getInt64Ty();
  Type* f32 = B.getFloatTy();
  Type* f64 = B.getDoubleTy();
  auto bool32 = [&](Value* v) { return B.CreateZExt(v, i32); };
  auto cmp = [&](llvm::CmpInst::Predicate p) {
    Value* b = pop();
    Value* a = pop();
    push(bool32(B.CreateCmp(p, a, b)));
  };
  auto un = [&](auto f) {
    Value* a = pop();
    push(f(a));
  };
  auto bin = [&](auto f) {
    Value* b = pop();
    Value* a = pop();
    push(f(a, b));
  };
  auto fbin = [&](auto f) {
    Value* b = pop();
    Value* a = pop();
    if (llvm::isa<llvm::Constant>(b)) b = opaque(b);
    if (llvm::isa<llvm::Constant>(a)) a = opaque(a);
    push(f(a, b));
  };
  auto shift_mask = [&](Value* b) {
    return B.CreateAnd(b, llvm::ConstantInt::get(b->getType(), b->getType()->getIntegerBitWidth() - 1));
  };
  auto div = [&](bool is_signed, bool rem) {
    Value* b = pop();
    Value* a = pop();
    Type* t = a->getType();
    trap_if(B.CreateICmpEQ(b, llvm::ConstantInt::get(t, 0)), TrapKind::integer_divide_by_zero);
    if (is_signed) {
      Value* minus_one = B.CreateICmpEQ(b, llvm::ConstantInt::getAllOnesValue(t));
      if (!rem) {
        Value* min = llvm::ConstantInt::get(t, llvm::APInt::getSignedMinValue(t->getIntegerBitWidth()));
        trap_if(B.CreateAnd(minus_one, B.CreateICmpEQ(a, min)), TrapKind::integer_overflow);
        push(B.CreateSDiv(a, b));
      } else {
        // x rem -1 is 0 (and INT_MIN rem -1 must not reach the hardware's idiv).
        Value* safe_b = B.CreateSelect(minus_one, llvm::ConstantInt::get(t, 1), b);
        push(B.CreateSRem(a, safe_b));
      }
    } else {
      push(rem ? B.CreateURem(a, b) : B.CreateUDiv(a, b));
    }
  };
  using P = llvm::CmpInst::Predicate;
  namespace I = llvm::Intrinsic;
  auto fun = [&](llvm::Intrinsic::ID id) {
    un([&](Value* a) { return intrinsic(id, {a->getType()}, {a}); });
  };
  auto sat = [&](llvm::Intrinsic::ID id, Type* to) {
    un([&](Value* a) { return intrinsic(id, {to, a->getType()}, {a}); });
  };

  switch (op) {
    case 0x45:
      un([&](Value* a) { return bool32(B.CreateICmpEQ(a, B.getInt32(0))); });
      break;
    case 0x46:
      cmp(P::ICMP_EQ);
      break;
    case 0x47:
      cmp(P::ICMP_NE);
      break;
    case 0x48:
      cmp(P::ICMP_SLT);
      break;
    case 0x49:
      cmp(P::ICMP_ULT);
      break;
    case 0x4A:
      cmp(P::ICMP_SGT);
      break;
    case 0x4B:
      cmp(P::ICMP_UGT);
      break;
    case 0x4C:
      cmp(P::ICMP_SLE);
      break;
    case 0x4D:
      cmp(P::ICMP_ULE);
      break;
    case 0x4E:
      cmp(P::ICMP_SGE);
      break;
    case 0x4F:
      cmp(P::ICMP_UGE);
      break;
    case 0x50:
      un([&](Value* a) { return bool32(B.CreateICmpEQ(a, B.getInt64(0))); });
      break;
    case 0x51:
      cmp(P::ICMP_EQ);
      break;
    case 0x52:
      cmp(P::ICMP_NE);
      break;
    case 0x53:
      cmp(P::ICMP_SLT);
      break;
    case 0x54:
      cmp(P::ICMP_ULT);
      break;
    case 0x55:
      cmp(P::ICMP_SGT);
      break;
    case 0x56:
      cmp(P::ICMP_UGT);
      break;
    case 0x57:
      cmp(P::ICMP_SLE);
      break;
    case 0x58:
      cmp(P::ICMP_ULE);
      break;
    case 0x59:
      cmp(P::ICMP_SGE);
      break;
    case 0x5A:
      cmp(P::ICMP_UGE);
      break;
    case 0x5B:
    case 0x61:
      cmp(P::FCMP_OEQ);
      break;
    case 0x5C:
    case 0x62:
      cmp(P::FCMP_UNE);
      break;
    case 0x5D:
    case 0x63:
      cmp(P::FCMP_OLT);
      break;
    case 0x5E:
    case 0x64:
      cmp(P::FCMP_OGT);
      break;
    case 0x5F:
    case 0x65:
      cmp(P::FCMP_OLE);
      break;
    case 0x60:
    case 0x66:
      cmp(P::FCMP_OGE);
      break;

    case 0x67:
    case 0x79:
      un([&](Value* a) { return intrinsic(I::ctlz, {a->getType()}, {a, B.getFalse()}); });
      break;
    case 0x68:
    case 0x7A:
      un([&](Value* a) { return intrinsic(I::cttz, {a->getType()}, {a, B.getFalse()}); });
      break;
    case 0x69:
    case 0x7B:
      fun(I::ctpop);
      break;
    case 0x6A:
    case 0x7C:
      bin([&](Value* a, Value* b) { return B.CreateAdd(a, b); });
      break;
    case 0x6B:
    case 0x7D:
      bin([&](Value* a, Value* b) { return B.CreateSub(a, b); });
      break;
    case 0x6C:
    case 0x7E:
      bin([&](Value* a, Value* b) { return B.CreateMul(a, b); });
      break;
    case 0x6D:
    case 0x7F:
      div(true, false);
      break;
    case 0x6E:
    case 0x80:
      div(false, false);
      break;
    case 0x6F:
    case 0x81:
      div(true, true);
      break;
    case 0x70:
    case 0x82:
      div(false, true);
      break;
    case 0x71:
    case 0x83:
      bin([&](Value* a, Value* b) { return B.CreateAnd(a, b); });
      break;
    case 0x72:
    case 0x84:
      bin([&](Value* a, Value* b) { return B.CreateOr(a, b); });
      break;
    case 0x73:
    case 0x85:
      bin([&](Value* a, Value* b) { return B.CreateXor(a, b); });
      break;
    case 0x74:
    case 0x86:
      bin([&](Value* a, Value* b) { return B.CreateShl(a, shift_mask(b)); });
      break;
    case 0x75:
    case 0x87:
      bin([&](Value* a, Value* b) { return B.CreateAShr(a, shift_mask(b)); });
      break;
    case 0x76:
    case 0x88:
      bin([&](Value* a, Value* b) { return B.CreateLShr(a, shift_mask(b)); });
      break;
    case 0x77:
    case 0x89:
      bin([&](Value* a, Value* b) { return intrinsic(I::fshl, {a->getType()}, {a, a, b}); });
      break;
    case 0x78:
    case 0x8A:
      bin([&](Value* a, Value* b) { return intrinsic(I::fshr, {a->getType()}, {a, a, b}); });
      break;

    case 0x8B:
    case 0x99:
      fun(I::fabs);
      break;
    case 0x8C:
    case 0x9A:
      un([&](Value* a) { return B.CreateFNeg(a); });
      break;
    case 0x8D:
    case 0x9B:
      fun(I::ceil);
      break;
    case 0x8E:
    case 0x9C:
      fun(I::floor);
      break;
    case 0x8F:
    case 0x9D:
      fun(I::trunc);
      break;
    case 0x90:
    case 0x9E:
      fun(I::roundeven);
      break;
    case 0x91:
    case 0x9F:
      fun(I::sqrt);
      break;
    case 0x92:
    case 0xA0:
      fbin([&](Value* a, Value* b) { return B.CreateFAdd(a, b); });
      break;
    case 0x93:
    case 0xA1:
      fbin([&](Value* a, Value* b) { return B.CreateFSub(a, b); });
      break;
    case 0x94:
    case 0xA2:
      fbin([&](Value* a, Value* b) { return B.CreateFMul(a, b); });
      break;
    case 0x95:
    case 0xA3:
      fbin([&](Value* a, Value* b) { return B.CreateFDiv(a, b); });
      break;
    case 0x96:
    case 0xA4:
      bin([&](Value* a, Value* b) { return fminmax(a, b, true); });
      break;
    case 0x97:
    case 0xA5:
      bin([&](Value* a, Value* b) { return fminmax(a, b, false); });
      break;
    case 0x98:
    case 0xA6:
      bin([&](Value* a, Value* b) { return intrinsic(I::copysign, {a->getType()}, {a, b}); });
      break;

    case 0xA7:
      un([&](Value* a) { return B.CreateTrunc(a, i32); });
      break;
    case 0xA8:
    case 0xAA:
      un([&](Value* a) { return trunc_checked(a, i32, true); });
      break;
    case 0xA9:
    case 0xAB:
      un([&](Value* a) { return trunc_checked(a, i32, false); });
      break;
    case 0xAC:
      un([&](Value* a) { return B.CreateSExt(a, i64); });
      break;
    case 0xAD:
      un([&](Value* a) { return B.CreateZExt(a, i64); });
      break;
    case 0xAE:
    case 0xB0:
      un([&](Value* a) { return trunc_checked(a, i64, true); });
      break;
    case 0xAF:
    case 0xB1:
      un([&](Value* a) { return trunc_checked(a, i64, false); });
      break;
    case 0xB2:
    case 0xB4:
      un([&](Value* a) { return B.CreateSIToFP(a, f32); });
      break;
    case 0xB3:
    case 0xB5:
      un([&](Value* a) { return B.CreateUIToFP(a, f32); });
      break;
    case 0xB6:
      un([&](Value* a) { return B.CreateFPTrunc(opaque(a), f32); });
      break;
    case 0xB7:
    case 0xB9:
      un([&](Value* a) { return B.CreateSIToFP(a, f64); });
      break;
    case 0xB8:
    case 0xBA:
      un([&](Value* a) { return B.CreateUIToFP(a, f64); });
      break;
    case 0xBB:
      un([&](Value* a) { return B.CreateFPExt(opaque(a), f64); });
      break;
    case 0xBC:
      un([&](Value* a) { return B.CreateBitCast(a, i32); });
      break;
    case 0xBD:
      un([&](Value* a) { return B.CreateBitCast(a, i64); });
      break;
    case 0xBE:
      un([&](Value* a) { return B.CreateBitCast(a, f32); });
      break;
    case 0xBF:
      un([&](Value* a) { return B.CreateBitCast(a, f64); });
      break;

    case 0xC0:
      un([&](Value* a) { return B.CreateSExt(B.CreateTrunc(a, B.getInt8Ty()), i32); });
      break;
    case 0xC1:
      un([&](Value* a) { return B.CreateSExt(B.CreateTrunc(a, B.getInt16Ty()), i32); });
      break;
    case 0xC2:
      un([&](Value* a) { return B.CreateSExt(B.CreateTrunc(a, B.getInt8Ty()), i64); });
      break;
    case 0xC3:
      un([&](Value* a) { return B.CreateSExt(B.CreateTrunc(a, B.getInt16Ty()), i64); });
      break;
    case 0xC4:
      un([&](Value* a) { return B.CreateSExt(B.CreateTrunc(a, i32), i64); });
      break;

    // 0xFC 0..7: saturating truncation.
    case 0x100:
    case 0x102:
      sat(I::fptosi_sat, i32);
      break;
    case 0x101:
    case 0x103:
      sat(I::fptoui_sat, i32);
      break;
    case 0x104:
    case 0x106:
      sat(I::fptosi_sat, i64);
      break;
    case 0x105:
    case 0x107:
      sat(I::fptoui_sat, i64);
      break;
    default:
      return false;
  }
  return true;
}

}  // namespace spectrum::wasm
