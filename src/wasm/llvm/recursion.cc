// Self-recursion unrolled by inlining, as GCC's -O2 does and LLVM's inliner never does: a small
// function that calls itself gets a copy of its own body inlined at those calls, so that a
// call-bound recursion (fib, tree walks) makes a fraction of its calls. Each remaining call still
// recurses, so a runaway recursion exhausts the stack and traps as before.
#include <llvm/IR/Constants.h>
#include <llvm/IR/Instructions.h>
#include <llvm/IR/IntrinsicInst.h>
#include <llvm/IR/Module.h>
#include <llvm/Transforms/Utils/Cloning.h>

#include <vector>

#include "wasm/llvm/compiler.h"

namespace spectrum::wasm {

namespace {

// The limits: bodies of at most this many instructions are unrolled, kLevels deep while the
// function stays under the cap (each level multiplies the self-calls). Measured on bench/wasm's
// fib (40) and binary-trees (16), task-clock ms: none 320 / 243, one level 238 / 225, three 206 /
// 216; four was slower on fib again (243).
constexpr std::size_t kMaxBodyInstructions = 80;
constexpr std::size_t kMaxUnrolledInstructions = 1000;
constexpr int kLevels = 3;

std::size_t instruction_count(const llvm::Function& f) {
  std::size_t n = 0;
  for (const llvm::BasicBlock& block : f) n += block.size();
  return n;
}

std::vector<llvm::CallInst*> self_calls(llvm::Function& f) {
  std::vector<llvm::CallInst*> calls;
  for (llvm::BasicBlock& block : f)
    for (llvm::Instruction& inst : block)
      if (auto* call = llvm::dyn_cast<llvm::CallInst>(&inst); call && call->getCalledFunction() == &f)
        calls.push_back(call);
  return calls;
}

// The copy's depth check (translate.cc: the stack pointer against the thread's limit) would only
// repeat the caller's: inlined, the copy runs on the caller's frame, which was checked at its entry.
void drop_stack_check(llvm::Function& copy) {
  for (llvm::BasicBlock& block : copy)
    for (llvm::Instruction& inst : block)
      if (auto* read = llvm::dyn_cast<llvm::IntrinsicInst>(&inst);
          read && read->getIntrinsicID() == llvm::Intrinsic::read_register)
        for (llvm::User* user : read->users())
          if (auto* compare = llvm::dyn_cast<llvm::ICmpInst>(user))
            compare->replaceAllUsesWith(llvm::ConstantInt::getFalse(copy.getContext()));
}

void unroll(llvm::Function& f) {
  const std::size_t size = instruction_count(f);
  if (size > kMaxBodyInstructions) return;
  std::vector<llvm::CallInst*> calls = self_calls(f);
  if (calls.empty()) return;
  // The copy keeps calling the original, so each round of inlining adds one level of recursion.
  llvm::ValueToValueMapTy map;
  llvm::Function* copy = llvm::CloneFunction(&f, map);
  copy->setLinkage(llvm::GlobalValue::InternalLinkage);
  drop_stack_check(*copy);
  for (int level = 0; level < kLevels && !calls.empty(); ++level) {
    if (instruction_count(f) + calls.size() * size > kMaxUnrolledInstructions) break;
    for (llvm::CallInst* call : calls) {
      call->setCalledFunction(copy);
      llvm::InlineFunctionInfo info;
      if (!llvm::InlineFunction(*call, info).isSuccess()) call->setCalledFunction(&f);
    }
    calls = self_calls(f);
  }
  copy->eraseFromParent();
}

}  // namespace

void unroll_self_recursion(llvm::Module& module) {
  std::vector<llvm::Function*> functions;
  for (llvm::Function& f : module)
    if (!f.isDeclaration()) functions.push_back(&f);
  for (llvm::Function* f : functions) unroll(*f);
}

}  // namespace spectrum::wasm
