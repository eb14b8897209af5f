// Wasm -> LLVM IR at module level: the
// helper declarations, one translated function per body and the uniform entries.
#include "wasm/llvm/translate.h"

namespace spectrum::wasm {

using llvm::BasicBlock;
using llvm::Type;
using llvm::Value;

}  // namespace spectrum::wasm

namespace spectrum::wasm {

std::unique_ptr<llvm::Module> translate_module(llvm::LLVMContext& C, const ModuleData& m, bool checked,
                                               std::string* error) {
  if (std::string why = unsupported_reason(m); !why.empty()) {
    *error = why;
    return nullptr;
  }
  auto M = std::make_unique<llvm::Module>("wasm", C);
  Type* ptr = llvm::PointerType::getUnqual(C);
  Type* i32 = Type::getInt32Ty(C);
  Type* i64 = Type::getInt64Ty(C);
  Type* void_ty = Type::getVoidTy(C);
  auto declare = [&](const char* name, Type* result, std::vector<Type*> params, bool noreturn = false) {
    llvm::FunctionCallee callee =
        M->getOrInsertFunction(name, llvm::FunctionType::get(result, params, false));
    if (noreturn) {
      auto* f = llvm::cast<llvm::Function>(callee.getCallee());
      f->setDoesNotReturn();
      f->addFnAttr(llvm::Attribute::Cold);
    }
    return callee;
  };
  Helpers h;
  h.trap = declare("spectrum_rt_trap", void_ty, {ptr, i32, i64}, true);
  h.interrupt = declare("spectrum_rt_interrupt", void_ty, {ptr, i64}, true);
  h.memory_grow = declare("spectrum_rt_memory_grow", i32, {ptr, i32});
  h.memory_fill = declare("spectrum_rt_memory_fill", void_ty, {ptr, i32, i32, i32, i64});
  h.memory_copy = declare("spectrum_rt_memory_copy", void_ty, {ptr, i32, i32, i32, i64});
  h.memory_init = declare("spectrum_rt_memory_init", void_ty, {ptr, i32, i32, i32, i32, i64});
  h.data_drop = declare("spectrum_rt_data_drop", void_ty, {ptr, i32});
  h.table_get = declare("spectrum_rt_table_get", i64, {ptr, i32, i32, i64});
  h.table_set = declare("spectrum_rt_table_set", void_ty, {ptr, i32, i32, i64, i64});
  h.table_size = declare("spectrum_rt_table_size", i32, {ptr, i32});
  h.table_grow = declare("spectrum_rt_table_grow", i32, {ptr, i32, i64, i32});
  h.table_fill = declare("spectrum_rt_table_fill", void_ty, {ptr, i32, i32, i64, i32, i64});
  h.table_copy = declare("spectrum_rt_table_copy", void_ty, {ptr, i32, i32, i32, i32, i32, i64});
  h.table_init = declare("spectrum_rt_table_init", void_ty, {ptr, i32, i32, i32, i32, i32, i64});
  h.elem_drop = declare("spectrum_rt_elem_drop", void_ty, {ptr, i32});
  h.call = declare("spectrum_rt_call", void_ty, {ptr, ptr, ptr, i64});
  h.indirect = declare("spectrum_rt_indirect", ptr, {ptr, i32, i32, i32, ptr, ptr, i64});

  std::vector<llvm::Function*> functions;
  for (std::size_t i = 0; i < m.bodies.size(); ++i) {
    const std::uint32_t index = m.imported_funcs + static_cast<std::uint32_t>(i);
    functions.push_back(llvm::Function::Create(FunctionTranslator::function_type(C, m.func_type(index)),
                                               llvm::Function::ExternalLinkage, "f" + std::to_string(index),
                                               *M));
    // A frame over a page touches each page as it grows: a huge one meets the stack's guard page
    // (a trap in compiled code) instead of jumping past it onto other memory.
    functions.back()->addFnAttr("probe-stack", "inline-asm");
    // A recursion must exhaust the stack as the interpreter's does (fac.wast's fac-rec of 2^30,
    // call.wast's runaways): no tail-recursion elimination and no sibling calls as jumps.
    functions.back()->addFnAttr("disable-tail-calls", "true");
  }
  for (std::size_t i = 0; i < m.bodies.size(); ++i) {
    FunctionTranslator t(*M, m, h, functions, checked);
    if (!t.translate(m.imported_funcs + static_cast<std::uint32_t>(i), error)) return nullptr;
  }
  // The uniform entries: arguments from slots, results back into them.
  llvm::IRBuilder<> B(C);
  for (std::size_t i = 0; i < m.bodies.size(); ++i) {
    const std::uint32_t index = m.imported_funcs + static_cast<std::uint32_t>(i);
    const FuncType& type = m.func_type(index);
    auto* e = llvm::Function::Create(llvm::FunctionType::get(void_ty, {ptr, ptr}, false),
                                     llvm::Function::ExternalLinkage, "e" + std::to_string(index), *M);
    B.SetInsertPoint(BasicBlock::Create(C, "entry", e));
    std::vector<Value*> args{e->getArg(0)};
    llvm::FunctionType* fty = functions[i]->getFunctionType();
    // The runtime's slots: one 64-bit slot per value, two for a v128 (low half first).
    std::uint64_t slot_index = 0;
    for (std::size_t p = 0; p < type.params.size(); ++p) {
      Type* t = fty->getParamType(static_cast<unsigned>(p + 1));
      Value* at = B.CreateConstInBoundsGEP1_64(i64, e->getArg(1), slot_index);
      slot_index += t->isVectorTy() ? 2 : 1;
      Value* slot = B.CreateAlignedLoad(t->isVectorTy() ? t : i64, at, llvm::Align(8));  // slots: 8-aligned
      if (t->isIntegerTy(32))
        slot = B.CreateTrunc(slot, i32);
      else if (t->isFloatTy())
        slot = B.CreateBitCast(B.CreateTrunc(slot, i32), t);
      else if (t->isDoubleTy())
        slot = B.CreateBitCast(slot, t);
      args.push_back(slot);
    }
    Value* call = B.CreateCall(functions[i], args);
    slot_index = 0;
    for (std::size_t r = 0; r < type.results.size(); ++r) {
      Value* v = type.results.size() == 1 ? call : B.CreateExtractValue(call, static_cast<unsigned>(r));
      Type* t = v->getType();
      if (t->isFloatTy())
        v = B.CreateZExt(B.CreateBitCast(v, i32), i64);
      else if (t->isIntegerTy(32))
        v = B.CreateZExt(v, i64);
      else if (t->isDoubleTy())
        v = B.CreateBitCast(v, i64);
      B.CreateAlignedStore(v, B.CreateConstInBoundsGEP1_64(i64, e->getArg(1), slot_index), llvm::Align(8));
      slot_index += t->isVectorTy() ? 2 : 1;
    }
    B.CreateRetVoid();
  }
  // Marks the end of the code (the fault handler's range): emitted last.
  auto* end = llvm::Function::Create(llvm::FunctionType::get(void_ty, {}, false),
                                     llvm::Function::ExternalLinkage, "spectrum_code_end", *M);
  B.SetInsertPoint(BasicBlock::Create(C, "entry", end));
  B.CreateRetVoid();
  return M;
}

}  // namespace spectrum::wasm
