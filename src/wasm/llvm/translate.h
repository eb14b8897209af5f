// The translator of one function body to LLVM IR (shared by translate.cc: control flow, variables,
// memory and calls, and numeric.cc: the numeric instructions).
//
// Values live in SSA form on a virtual operand stack (i32 -> i32, i64 and references -> i64, f32 ->
// float, f64 -> double). Locals, block results and loop parameters are allocas that mem2reg turns
// into registers and phis; this keeps merges simple and costs nothing after optimization.
// Memory accesses are volatile: a wasm load whose result is unused must still trap when it is out of
// bounds, and LLVM would delete (or move) an ordinary one.
#pragma once

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Module.h>

#include <cstdint>
#include <string>
#include <vector>

#include "wasm/body_reader.h"
#include "wasm/llvm/compiler.h"

namespace spectrum::wasm {

// The runtime helpers as the IR sees them (declared once per module).
struct Helpers {
  llvm::FunctionCallee trap, interrupt, memory_grow, memory_fill, memory_copy, memory_init, data_drop;
  llvm::FunctionCallee table_get, table_set, table_size, table_grow, table_fill, table_copy, table_init;
  llvm::FunctionCallee elem_drop, call, indirect;
};

class FunctionTranslator {
 public:
  FunctionTranslator(llvm::Module& module, const ModuleData& m, const Helpers& helpers,
                     const std::vector<llvm::Function*>& functions, bool checked)
      : M(module),
        C(module.getContext()),
        B(C),
        m_(m),
        h_(helpers),
        functions_(functions),
        checked_(checked) {}
  // Translates defined function `index` into functions_[index]. False with *error on an unknown
  // instruction.
  bool translate(std::uint32_t index, std::string* error);

  // Types of the IR.
  llvm::Type* ir_type(ValType t) const;
  static llvm::FunctionType* function_type(llvm::LLVMContext& C, const FuncType& type);
  static llvm::Type* ir_type(llvm::LLVMContext& C, ValType t);
  // A v128 in IR: <2 x i64> (the runtime's two slots, low half first).
  static llvm::Type* v128_type(llvm::LLVMContext& C);

 private:
  struct Frame {
    enum class Kind : std::uint8_t { block, loop, if_, function } kind = Kind::block;
    llvm::BasicBlock* target = nullptr;  // where a branch to this label goes
    llvm::BasicBlock* end = nullptr;
    llvm::BasicBlock* else_bb = nullptr;
    std::vector<llvm::Type*> params, results;
    std::vector<llvm::AllocaInst*> branch_slots;  // loop: its parameters; else its results
    std::vector<llvm::AllocaInst*> result_slots;
    std::vector<llvm::Value*> if_params;
    std::size_t height = 0;  // operand stack below the frame's parameters
    bool unreachable = false;
    bool has_else = false;
    bool call_free = false;  // a loop that never leaves compiled code
  };

  // numeric.cc: a numeric instruction (opcode 0x45..0xC4, or 0xFC 0..7 as 0x100 + sub-opcode).
  bool numeric(std::uint32_t op);
  // Conditional traps.
  void trap_if(llvm::Value* condition, TrapKind kind);
  void trap(TrapKind kind);
  llvm::Value* site() const;
  llvm::Value* trunc_checked(llvm::Value* x, llvm::Type* to, bool is_signed);
  llvm::Value* opaque(llvm::Value* v);
  llvm::Value* fminmax(llvm::Value* a, llvm::Value* b, bool is_min);
  // translate_simd.cc: a SIMD instruction (0xFD sub-opcode); false if unknown.
  bool simd(std::uint32_t sub, BodyReader& r);
  llvm::Value* vector_fminmax(llvm::Value* a, llvm::Value* b, bool is_min);
  llvm::Value* intrinsic(llvm::Intrinsic::ID id, std::vector<llvm::Type*> types,
                         std::vector<llvm::Value*> args);

  // translate.cc
  void block_type(BodyReader& r, std::vector<llvm::Type*>& params, std::vector<llvm::Type*>& results);
  std::vector<llvm::AllocaInst*> slots_for(const std::vector<llvm::Type*>& types, const char* name);
  void store_top(const std::vector<llvm::AllocaInst*>& slots, bool pop);
  void branch(std::uint32_t depth);
  void end_frame();
  void else_frame();
  void interrupt_check();
  // The body's call and call_indirect instructions: whether it has any, and any outside every loop;
  // and the loops (offsets of their `loop` instructions, ascending) with anything that leaves
  // compiled code: a call or a helper of the runtime.
  struct CallSites {
    bool any = false, outside_loops = false;
    std::vector<std::uint32_t> loops_with_calls;
  };
  CallSites call_sites(const FunctionBody& body) const;
  llvm::Value* address(llvm::Value* index, std::uint64_t offset, unsigned size);
  void load(llvm::Type* type, unsigned size, bool sign_extend, llvm::Type* result, BodyReader& r);
  void store(llvm::Type* type, unsigned size, BodyReader& r);
  llvm::Value* to_slot(llvm::Value* v);
  llvm::Value* from_slot(llvm::Value* slot, llvm::Type* type);
  void call_direct(std::uint32_t callee);
  void call_through_slots(llvm::Value* function, const FuncType& type, std::vector<llvm::Value*>& results_out,
                          const std::vector<llvm::Value*>& args);
  void call_indirect(std::uint32_t type_index, std::uint32_t table);
  std::vector<llvm::Value*> pop_n(std::size_t n);
  void push_results(llvm::Value* call, const FuncType& type);
  llvm::Value* pop() {
    llvm::Value* v = stack_.back();
    stack_.pop_back();
    return v;
  }
  void push(llvm::Value* v) { stack_.push_back(v); }
  llvm::Value* u32(std::uint64_t v) { return B.getInt32(static_cast<std::uint32_t>(v)); }
  llvm::Value* ctx_field(unsigned offset, llvm::Type* type, const char* name);
  void helper(llvm::FunctionCallee callee, std::vector<llvm::Value*> args);

  llvm::Module& M;
  llvm::LLVMContext& C;
  llvm::IRBuilder<> B;
  const ModuleData& m_;
  const Helpers& h_;
  const std::vector<llvm::Function*>& functions_;
  bool checked_;

  std::uint32_t func_index_ = 0;
  std::uint32_t offset_ = 0;  // the current instruction's byte offset in the file
  llvm::Function* F = nullptr;
  llvm::BasicBlock* entry_ = nullptr;  // allocas
  llvm::Value* ctx_ = nullptr;
  llvm::Value* mem_base_ = nullptr;
  llvm::Value* mem_size_ptr_ = nullptr;
  llvm::Value* globals_ = nullptr;
  llvm::Value* funcs_ = nullptr;
  llvm::Value* interrupt_ = nullptr;
  llvm::AllocaInst* slots_ = nullptr;  // argument/result slots of calls through the runtime
  std::uint32_t slots_count_ = 0;
  llvm::AllocaInst* out_code_ = nullptr;
  llvm::AllocaInst* out_ctx_ = nullptr;
  std::vector<llvm::AllocaInst*> locals_;
  std::vector<llvm::Type*> local_types_;
  std::vector<llvm::Value*> stack_;
  std::vector<Frame> frames_;
  CallSites calls_;
};

}  // namespace spectrum::wasm
