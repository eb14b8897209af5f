// Wasm -> LLVM IR: calls. Direct calls within the module are typed calls; imports go through the
// runtime's slot convention (spectrum_rt_call); call_indirect asks the runtime for the checked
// callee and calls its typed code directly when it is compiled.
#include "wasm/llvm/translate.h"
#include "wasm/runtime.h"

namespace spectrum::wasm {

using llvm::BasicBlock;
using llvm::Type;
using llvm::Value;

void FunctionTranslator::push_results(Value* call, const FuncType& type) {
  if (type.results.size() == 1) {
    push(call);
  } else {
    for (unsigned i = 0; i < type.results.size(); ++i) push(B.CreateExtractValue(call, i));
  }
}

void FunctionTranslator::call_through_slots(Value* function, const FuncType& type,
                                            std::vector<Value*>& results, const std::vector<Value*>& args) {
  // The runtime's slot convention: one 64-bit slot per value, two for a v128 (low half first).
  std::uint64_t slot = 0;
  for (Value* arg : args) {
    B.CreateAlignedStore(to_slot(arg), B.CreateConstInBoundsGEP1_64(B.getInt64Ty(), slots_, slot),
                         llvm::Align(8));
    slot += arg->getType()->isVectorTy() ? 2 : 1;
  }
  B.CreateCall(h_.call, {ctx_, function, slots_, site()});
  slot = 0;
  for (ValType t : type.results) {
    Type* ir = ir_type(t);
    Value* p = B.CreateConstInBoundsGEP1_64(B.getInt64Ty(), slots_, slot);
    results.push_back(
        from_slot(B.CreateAlignedLoad(ir->isVectorTy() ? ir : B.getInt64Ty(), p, llvm::Align(8)), ir));
    slot += ir->isVectorTy() ? 2 : 1;
  }
}

void FunctionTranslator::call_direct(std::uint32_t callee) {
  const FuncType& type = m_.func_type(callee);
  std::vector<Value*> args = pop_n(type.params.size());
  if (callee < m_.imported_funcs) {
    Value* fn = B.CreateLoad(B.getPtrTy(), B.CreateConstInBoundsGEP1_64(B.getPtrTy(), funcs_, callee));
    std::vector<Value*> results;
    call_through_slots(fn, type, results, args);
    for (Value* v : results) push(v);
    return;
  }
  args.insert(args.begin(), ctx_);
  llvm::CallInst* call = B.CreateCall(functions_[callee - m_.imported_funcs], args);
  if (!type.results.empty()) push_results(call, type);
}

void FunctionTranslator::call_indirect(std::uint32_t type_index, std::uint32_t table) {
  const FuncType& type = m_.types[type_index];
  Value* element = pop();
  std::vector<Value*> args = pop_n(type.params.size());
  Value* fn =
      B.CreateCall(h_.indirect, {ctx_, u32(table), element, u32(type_index), out_code_, out_ctx_, site()});
  Value* code = B.CreateLoad(B.getPtrTy(), out_code_);
  BasicBlock* fast = BasicBlock::Create(C, "direct", F);
  BasicBlock* slow = BasicBlock::Create(C, "via_runtime", F);
  BasicBlock* join = BasicBlock::Create(C, "called", F);
  B.CreateCondBr(B.CreateIsNotNull(code), fast, slow);

  B.SetInsertPoint(fast);
  std::vector<Value*> typed_args = args;
  typed_args.insert(typed_args.begin(), B.CreateLoad(B.getPtrTy(), out_ctx_));
  llvm::CallInst* call = B.CreateCall(function_type(C, type), code, typed_args);
  std::vector<Value*> fast_results;
  if (type.results.size() == 1) fast_results.push_back(call);
  for (unsigned i = 0; type.results.size() > 1 && i < type.results.size(); ++i)
    fast_results.push_back(B.CreateExtractValue(call, i));
  BasicBlock* fast_end = B.GetInsertBlock();
  B.CreateBr(join);

  B.SetInsertPoint(slow);
  std::vector<Value*> slow_results;
  call_through_slots(fn, type, slow_results, args);
  BasicBlock* slow_end = B.GetInsertBlock();
  B.CreateBr(join);

  B.SetInsertPoint(join);
  for (std::size_t i = 0; i < type.results.size(); ++i) {
    llvm::PHINode* phi = B.CreatePHI(fast_results[i]->getType(), 2);
    phi->addIncoming(fast_results[i], fast_end);
    phi->addIncoming(slow_results[i], slow_end);
    push(phi);
  }
}

}  // namespace spectrum::wasm
