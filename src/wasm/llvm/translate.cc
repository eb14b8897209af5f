// Wasm -> LLVM IR: structured control, variables, memory and tables (calls.cc has the calls,
// numeric.cc the numeric instructions, translate_simd.cc the SIMD ones). See translate.h for the value
// representation.
#include "wasm/llvm/translate.h"

#include <llvm/IR/MDBuilder.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Support/raw_ostream.h>

#include <algorithm>

#include "wasm/runtime.h"

namespace spectrum::wasm {

using llvm::BasicBlock;
using llvm::Type;
using llvm::Value;

Type* FunctionTranslator::ir_type(llvm::LLVMContext& C, ValType t) {
  switch (t) {
    case ValType::i32:
      return Type::getInt32Ty(C);
    case ValType::f32:
      return Type::getFloatTy(C);
    case ValType::f64:
      return Type::getDoubleTy(C);
    case ValType::v128:
      return v128_type(C);
    default:
      return Type::getInt64Ty(C);  // i64 and references
  }
}

Type* FunctionTranslator::ir_type(ValType t) const { return ir_type(C, t); }

llvm::FunctionType* FunctionTranslator::function_type(llvm::LLVMContext& C, const FuncType& type) {
  std::vector<Type*> params{llvm::PointerType::getUnqual(C)};
  for (ValType t : type.params) params.push_back(ir_type(C, t));
  Type* result = Type::getVoidTy(C);
  if (type.results.size() == 1) {
    result = ir_type(C, type.results[0]);
  } else if (type.results.size() > 1) {
    std::vector<Type*> fields;
    for (ValType t : type.results) fields.push_back(ir_type(C, t));
    result = llvm::StructType::get(C, fields);
  }
  return llvm::FunctionType::get(result, params, false);
}

Value* FunctionTranslator::ctx_field(unsigned offset, Type* type, const char* name) {
  Value* p = B.CreateConstInBoundsGEP1_64(B.getInt8Ty(), ctx_, offset);
  auto* load = B.CreateLoad(type, p, name);
  load->setMetadata(llvm::LLVMContext::MD_invariant_load, llvm::MDNode::get(C, {}));
  return load;
}

Value* FunctionTranslator::site() const {
  return llvm::ConstantInt::get(Type::getInt64Ty(C), trap_site(func_index_, offset_));
}

void FunctionTranslator::helper(llvm::FunctionCallee callee, std::vector<Value*> args) {
  B.CreateCall(callee, args);
}

void FunctionTranslator::trap(TrapKind kind) {
  B.CreateCall(h_.trap, {ctx_, B.getInt32(static_cast<std::uint32_t>(kind)), site()});
  B.CreateUnreachable();
}

void FunctionTranslator::trap_if(Value* condition, TrapKind kind) {
  BasicBlock* trap_bb = BasicBlock::Create(C, "trap", F);
  BasicBlock* cont = BasicBlock::Create(C, "cont", F);
  llvm::MDBuilder md(C);
  B.CreateCondBr(condition, trap_bb, cont, md.createBranchWeights(1, 1 << 20));
  B.SetInsertPoint(trap_bb);
  trap(kind);
  B.SetInsertPoint(cont);
}

FunctionTranslator::CallSites FunctionTranslator::call_sites(const FunctionBody& body) const {
  CallSites out;
  BodyReader r{m_.bytes.data() + body.code_begin, m_.bytes.data()};
  const std::uint8_t* end = m_.bytes.data() + body.code_end;
  struct Open {
    bool loop;
    std::uint32_t offset;
    bool calls;  // anything in it leaves compiled code
  };
  std::vector<Open> open;  // the enclosing blocks, innermost last
  std::size_t loops = 0;
  while (r.p < end) {
    const std::uint32_t at = r.offset();
    const std::uint8_t op = r.u8();
    bool leaves = false;  // a wasm call or a helper of the runtime
    if (op == 0x10 || op == 0x11) {
      out.any = true;
      if (loops == 0) out.outside_loops = true;
      leaves = true;
    } else if (op == 0x25 || op == 0x26 || op == 0x40) {
      leaves = true;  // table.get/set, memory.grow
    } else if (op == 0xFC) {
      BodyReader peek = r;
      leaves = peek.u32() >= 8;  // bulk memory and tables (0..7 are the saturating truncations)
    } else if (op == 0x02 || op == 0x03 || op == 0x04) {
      open.push_back({op == 0x03, at, false});
      loops += op == 0x03;
    } else if (op == 0x0B && !open.empty()) {
      const Open closed = open.back();
      open.pop_back();
      loops -= closed.loop;
      if (closed.loop && closed.calls) out.loops_with_calls.push_back(closed.offset);
      if (closed.calls && !open.empty()) open.back().calls = true;
    }
    if (leaves && !open.empty()) open.back().calls = true;
    skip_instruction(op, r);
  }
  std::sort(out.loops_with_calls.begin(), out.loops_with_calls.end());
  return out;
}

void FunctionTranslator::interrupt_check() {
  auto* flag = B.CreateAlignedLoad(B.getInt32Ty(), interrupt_, llvm::Align(4), "interrupt");
  flag->setAtomic(llvm::AtomicOrdering::Monotonic);
  BasicBlock* stop = BasicBlock::Create(C, "interrupted", F);
  BasicBlock* cont = BasicBlock::Create(C, "cont", F);
  llvm::MDBuilder md(C);
  B.CreateCondBr(B.CreateICmpNE(flag, B.getInt32(0)), stop, cont, md.createBranchWeights(1, 1 << 20));
  B.SetInsertPoint(stop);
  B.CreateCall(h_.interrupt, {ctx_, site()});
  B.CreateUnreachable();
  B.SetInsertPoint(cont);
}

Value* FunctionTranslator::to_slot(Value* v) {
  Type* t = v->getType();
  if (t->isIntegerTy(64) || t->isVectorTy()) return v;  // a v128 fills two slots as it is
  if (t->isIntegerTy(32)) return B.CreateZExt(v, B.getInt64Ty());
  if (t->isFloatTy()) return B.CreateZExt(B.CreateBitCast(v, B.getInt32Ty()), B.getInt64Ty());
  return B.CreateBitCast(v, B.getInt64Ty());
}

Value* FunctionTranslator::from_slot(Value* slot, Type* t) {
  if (t->isIntegerTy(64) || t->isVectorTy()) return slot;
  if (t->isIntegerTy(32)) return B.CreateTrunc(slot, B.getInt32Ty());
  if (t->isFloatTy()) return B.CreateBitCast(B.CreateTrunc(slot, B.getInt32Ty()), t);
  return B.CreateBitCast(slot, t);
}

std::vector<llvm::AllocaInst*> FunctionTranslator::slots_for(const std::vector<Type*>& types,
                                                             const char* name) {
  std::vector<llvm::AllocaInst*> out;
  llvm::IRBuilder<> A(entry_, entry_->begin());
  for (Type* t : types) out.push_back(A.CreateAlloca(t, nullptr, name));
  return out;
}

std::vector<Value*> FunctionTranslator::pop_n(std::size_t n) {
  std::vector<Value*> out(stack_.end() - static_cast<std::ptrdiff_t>(n), stack_.end());
  stack_.resize(stack_.size() - n);
  return out;
}

void FunctionTranslator::store_top(const std::vector<llvm::AllocaInst*>& slots, bool do_pop) {
  const std::size_t n = slots.size();
  for (std::size_t i = 0; i < n; ++i) B.CreateStore(stack_[stack_.size() - n + i], slots[i]);
  if (do_pop) stack_.resize(stack_.size() - n);
}

void FunctionTranslator::block_type(BodyReader& r, std::vector<Type*>& params, std::vector<Type*>& results) {
  const std::int64_t bt = r.sleb();
  if (bt >= 0) {
    const FuncType& t = m_.types[static_cast<std::size_t>(bt)];
    for (ValType v : t.params) params.push_back(ir_type(v));
    for (ValType v : t.results) results.push_back(ir_type(v));
    return;
  }
  const auto byte = static_cast<std::uint8_t>(bt & 0x7F);
  if (byte == 0x40) return;
  results.push_back(ir_type(static_cast<ValType>(byte)));
}

void FunctionTranslator::branch(std::uint32_t depth) {
  Frame& target = frames_[frames_.size() - 1 - depth];
  store_top(target.branch_slots, false);
  B.CreateBr(target.target);
}

void FunctionTranslator::end_frame() {
  Frame f = std::move(frames_.back());
  frames_.pop_back();
  if (!f.unreachable) {
    store_top(f.result_slots, true);
    B.CreateBr(f.end);
  }
  if (f.kind == Frame::Kind::if_ && !f.has_else) {
    // The missing else passes the parameters through (validation: params == results).
    B.SetInsertPoint(f.else_bb);
    for (std::size_t i = 0; i < f.if_params.size(); ++i) B.CreateStore(f.if_params[i], f.result_slots[i]);
    B.CreateBr(f.end);
  }
  stack_.resize(f.height);
  B.SetInsertPoint(f.end);
  if (f.kind == Frame::Kind::function) return;
  for (std::size_t i = 0; i < f.results.size(); ++i) push(B.CreateLoad(f.results[i], f.result_slots[i]));
}

void FunctionTranslator::else_frame() {
  Frame& f = frames_.back();
  if (!f.unreachable) {
    store_top(f.result_slots, true);
    B.CreateBr(f.end);
  }
  f.unreachable = false;
  f.has_else = true;
  stack_.resize(f.height);
  for (Value* v : f.if_params) push(v);
  B.SetInsertPoint(f.else_bb);
}

Value* FunctionTranslator::address(Value* index, std::uint64_t offset, unsigned size) {
  Value* ea = B.CreateZExt(index, B.getInt64Ty());
  if (offset) ea = B.CreateAdd(ea, B.getInt64(offset));
  if (checked_) {
    Value* size_now = B.CreateLoad(B.getInt64Ty(), mem_size_ptr_, "mem_size");
    trap_if(B.CreateICmpUGT(B.CreateAdd(ea, B.getInt64(size)), size_now), TrapKind::memory_out_of_bounds);
  }
  return B.CreateInBoundsGEP(B.getInt8Ty(), mem_base_, ea);
}

void FunctionTranslator::load(Type* type, unsigned size, bool sign_extend, Type* result, BodyReader& r) {
  r.uleb();  // alignment: a hint
  const std::uint64_t offset = r.uleb();
  Value* p = address(pop(), offset, size);
  auto* v = B.CreateAlignedLoad(type, p, llvm::Align(1), true);
  Value* out = v;
  if (type != result) out = sign_extend ? B.CreateSExt(v, result) : B.CreateZExt(v, result);
  push(out);
}

void FunctionTranslator::store(Type* type, unsigned size, BodyReader& r) {
  r.uleb();
  const std::uint64_t offset = r.uleb();
  Value* v = pop();
  Value* p = address(pop(), offset, size);
  if (v->getType() != type) v = B.CreateTrunc(v, type);
  B.CreateAlignedStore(v, p, llvm::Align(1), true);
}

bool FunctionTranslator::translate(std::uint32_t index, std::string* error) {
  func_index_ = index;
  const FunctionBody& body = m_.bodies[index - m_.imported_funcs];
  const FuncType& type = m_.func_type(index);
  F = functions_[index - m_.imported_funcs];
  entry_ = BasicBlock::Create(C, "entry", F);
  BasicBlock* start = BasicBlock::Create(C, "start", F);
  B.SetInsertPoint(entry_);
  ctx_ = F->getArg(0);
  offset_ = body.position;
  mem_base_ = ctx_field(0, B.getPtrTy(), "mem_base");
  mem_size_ptr_ = ctx_field(8, B.getPtrTy(), "mem_size_ptr");
  globals_ = ctx_field(16, B.getPtrTy(), "globals");
  funcs_ = ctx_field(24, B.getPtrTy(), "funcs");
  interrupt_ = ctx_field(32, B.getPtrTy(), "interrupt");

  // Slots for calls through the runtime: enough for any call this body makes.
  std::uint32_t slots = 1;
  for (const FuncType& t : m_.types) slots = std::max({slots, slot_count(t.params), slot_count(t.results)});
  slots_ = B.CreateAlloca(B.getInt64Ty(), B.getInt32(slots), "slots");
  out_code_ = B.CreateAlloca(B.getPtrTy(), nullptr, "callee_code");
  out_ctx_ = B.CreateAlloca(B.getPtrTy(), nullptr, "callee_ctx");

  locals_.clear();
  local_types_.clear();
  for (std::size_t i = 0; i < type.params.size(); ++i) {
    Type* t = ir_type(type.params[i]);
    local_types_.push_back(t);
    locals_.push_back(B.CreateAlloca(t, nullptr, "param"));
    B.CreateStore(F->getArg(static_cast<unsigned>(i + 1)), locals_.back());
  }
  for (const auto& [count, vt] : body.local_groups) {
    Type* t = ir_type(vt);
    for (std::uint32_t i = 0; i < count; ++i) {
      local_types_.push_back(t);
      locals_.push_back(B.CreateAlloca(t, nullptr, "local"));
      B.CreateStore(llvm::Constant::getNullValue(t), locals_.back());
    }
  }
  B.CreateBr(start);
  B.SetInsertPoint(start);

  // Only a function that calls can recurse, so only such a function checks its depth. A function
  // without calls is bounded by its loops, which check for interruption at their headers; so is a
  // function whose calls are all inside loops: each call follows a header's check, so a recursion
  // through it passes one on every level. Only a call outside every loop needs the check at entry.
  calls_ = call_sites(body);
  const CallSites& calls = calls_;
  if (calls.any) {
    // Depth: the stack pointer against the thread's limit. Nothing is stored: a depth counter's
    // increment and restore were a dependent load and store on every call (fib ran at 3.0x native
    // with them, 2.0x without).
    Value* limit =
        B.CreateLoad(B.getInt64Ty(), ctx_field(40, B.getPtrTy(), "stack_limit_ptr"), "stack_limit");
    llvm::Function* read_register =
        llvm::Intrinsic::getDeclaration(&M, llvm::Intrinsic::read_register, {B.getInt64Ty()});
    Value* rsp = llvm::MetadataAsValue::get(C, llvm::MDNode::get(C, {llvm::MDString::get(C, "rsp")}));
    trap_if(B.CreateICmpULT(B.CreateCall(read_register, {rsp}, "sp"), limit), TrapKind::stack_exhausted);
  }
  if (calls.outside_loops) interrupt_check();

  std::vector<Type*> results;
  for (ValType t : type.results) results.push_back(ir_type(t));
  BasicBlock* ret = BasicBlock::Create(C, "return", F);
  stack_.clear();
  frames_.clear();
  Frame fn_frame;
  fn_frame.kind = Frame::Kind::function;
  fn_frame.target = ret;
  fn_frame.end = ret;
  fn_frame.results = results;
  fn_frame.result_slots = slots_for(results, "result");
  fn_frame.branch_slots = fn_frame.result_slots;
  frames_.push_back(std::move(fn_frame));
  std::vector<llvm::AllocaInst*> ret_slots = frames_[0].result_slots;

  BodyReader r{m_.bytes.data() + body.code_begin, m_.bytes.data()};
  const std::uint8_t* end = m_.bytes.data() + body.code_end;
  std::uint32_t skip_depth = 0;  // nesting inside unreachable code
  while (r.p < end && !frames_.empty()) {
    offset_ = r.offset();
    const std::uint8_t op = r.u8();
    if (frames_.back().unreachable) {
      if (op == 0x02 || op == 0x03 || op == 0x04) {
        ++skip_depth;
        r.sleb();
        continue;
      }
      if (op == 0x0B && skip_depth > 0) {
        --skip_depth;
        continue;
      }
      if (op == 0x05 && skip_depth > 0) continue;
      if (op != 0x0B && op != 0x05) {
        skip_instruction(op, r);
        continue;
      }
    }
    switch (op) {
      case 0x00:  // unreachable
        trap(TrapKind::unreachable);
        frames_.back().unreachable = true;
        break;
      case 0x01:
        break;
      case 0x02:
      case 0x03:
      case 0x04: {
        Frame f;
        f.kind = op == 0x02 ? Frame::Kind::block : op == 0x03 ? Frame::Kind::loop : Frame::Kind::if_;
        block_type(r, f.params, f.results);
        Value* condition = op == 0x04 ? B.CreateICmpNE(pop(), B.getInt32(0)) : nullptr;
        f.height = stack_.size() - f.params.size();
        f.end = BasicBlock::Create(C, "end", F);
        f.result_slots = slots_for(f.results, "block_result");
        if (op == 0x03) {
          // A loop that never leaves compiled code is stopped by Store::interrupt's signal (any pc
          // in it is a safe point): the flag is read once before it starts, for an interrupt whose
          // signal came while the thread was elsewhere; inside another such loop not even that. A
          // loop with calls can spend its time outside compiled code, where the signal is ignored,
          // so it reads the flag on every iteration.
          f.call_free =
              !std::binary_search(calls_.loops_with_calls.begin(), calls_.loops_with_calls.end(), offset_);
          const bool nested =
              std::any_of(frames_.begin(), frames_.end(), [](const Frame& g) { return g.call_free; });
          if (f.call_free && !nested) interrupt_check();
          f.branch_slots = slots_for(f.params, "loop_param");
          f.target = BasicBlock::Create(C, "loop", F);
          store_top(f.branch_slots, true);
          B.CreateBr(f.target);
          B.SetInsertPoint(f.target);
          if (!f.call_free) interrupt_check();
          for (std::size_t i = 0; i < f.params.size(); ++i)
            push(B.CreateLoad(f.params[i], f.branch_slots[i]));
        } else {
          f.branch_slots = f.result_slots;
          f.target = f.end;
        }
        if (op == 0x04) {
          f.if_params.assign(stack_.end() - static_cast<std::ptrdiff_t>(f.params.size()), stack_.end());
          BasicBlock* then_bb = BasicBlock::Create(C, "then", F);
          f.else_bb = BasicBlock::Create(C, "else", F);
          B.CreateCondBr(condition, then_bb, f.else_bb);
          B.SetInsertPoint(then_bb);
        }
        frames_.push_back(std::move(f));
        break;
      }
      case 0x05:
        else_frame();
        break;
      case 0x0B:
        end_frame();
        break;
      case 0x0C:
        branch(r.u32());
        frames_.back().unreachable = true;
        break;
      case 0x0D: {
        const std::uint32_t depth_index = r.u32();
        Value* condition = B.CreateICmpNE(pop(), B.getInt32(0));
        BasicBlock* taken = BasicBlock::Create(C, "br_if", F);
        BasicBlock* cont = BasicBlock::Create(C, "cont", F);
        B.CreateCondBr(condition, taken, cont);
        B.SetInsertPoint(taken);
        branch(depth_index);
        B.SetInsertPoint(cont);
        break;
      }
      case 0x0E: {
        const std::uint32_t n = r.u32();
        std::vector<std::uint32_t> targets(n);
        for (auto& t : targets) t = r.u32();
        const std::uint32_t fallback = r.u32();
        Value* selector = pop();
        // One edge block per distinct label: it stores the branch values and jumps.
        std::vector<std::pair<std::uint32_t, BasicBlock*>> edges;
        auto edge = [&](std::uint32_t depth_index) {
          for (auto& [d, bb] : edges)
            if (d == depth_index) return bb;
          BasicBlock* bb = BasicBlock::Create(C, "br_table", F);
          edges.emplace_back(depth_index, bb);
          return bb;
        };
        llvm::SwitchInst* sw = B.CreateSwitch(selector, edge(fallback), n);
        for (std::uint32_t i = 0; i < n; ++i) sw->addCase(B.getInt32(i), edge(targets[i]));
        for (auto& [d, bb] : edges) {
          B.SetInsertPoint(bb);
          branch(d);
        }
        frames_.back().unreachable = true;
        break;
      }
      case 0x0F:
        store_top(ret_slots, false);
        B.CreateBr(ret);
        frames_.back().unreachable = true;
        break;
      case 0x10:
        call_direct(r.u32());
        break;
      case 0x11: {
        const std::uint32_t type_index = r.u32();
        call_indirect(type_index, r.u32());
        break;
      }
      case 0x1A:
        pop();
        break;
      case 0x1B:
      case 0x1C: {
        if (op == 0x1C) {
          const std::uint32_t n = r.u32();
          for (std::uint32_t i = 0; i < n; ++i) r.u8();
        }
        Value* condition = B.CreateICmpNE(pop(), B.getInt32(0));
        Value* b = pop();
        Value* a = pop();
        push(B.CreateSelect(condition, a, b));
        break;
      }
      case 0x20: {
        const std::uint32_t i = r.u32();
        push(B.CreateLoad(local_types_[i], locals_[i]));
        break;
      }
      case 0x21:
        B.CreateStore(pop(), locals_[r.u32()]);
        break;
      case 0x22:
        B.CreateStore(stack_.back(), locals_[r.u32()]);
        break;
      case 0x23: {
        const std::uint32_t g = r.u32();
        Value* global = B.CreateLoad(B.getPtrTy(), B.CreateConstInBoundsGEP1_64(B.getPtrTy(), globals_, g));
        Type* t = ir_type(m_.globals[g].type);
        push(from_slot(B.CreateAlignedLoad(t->isVectorTy() ? t : B.getInt64Ty(), global, llvm::Align(8)), t));
        break;
      }
      case 0x24: {
        const std::uint32_t g = r.u32();
        Value* global = B.CreateLoad(B.getPtrTy(), B.CreateConstInBoundsGEP1_64(B.getPtrTy(), globals_, g));
        B.CreateAlignedStore(to_slot(pop()), global, llvm::Align(8));  // a Global: 8-aligned
        break;
      }
      case 0x25: {
        const std::uint32_t t = r.u32();
        Value* i = pop();
        push(B.CreateCall(h_.table_get, {ctx_, u32(t), i, site()}));
        break;
      }
      case 0x26: {
        const std::uint32_t t = r.u32();
        Value* v = pop();
        Value* i = pop();
        helper(h_.table_set, {ctx_, u32(t), i, v, site()});
        break;
      }
      case 0x28:
        load(B.getInt32Ty(), 4, false, B.getInt32Ty(), r);
        break;
      case 0x29:
        load(B.getInt64Ty(), 8, false, B.getInt64Ty(), r);
        break;
      case 0x2A:
        load(B.getFloatTy(), 4, false, B.getFloatTy(), r);
        break;
      case 0x2B:
        load(B.getDoubleTy(), 8, false, B.getDoubleTy(), r);
        break;
      case 0x2C:
      case 0x2D:
        load(B.getInt8Ty(), 1, op == 0x2C, B.getInt32Ty(), r);
        break;
      case 0x2E:
      case 0x2F:
        load(B.getInt16Ty(), 2, op == 0x2E, B.getInt32Ty(), r);
        break;
      case 0x30:
      case 0x31:
        load(B.getInt8Ty(), 1, op == 0x30, B.getInt64Ty(), r);
        break;
      case 0x32:
      case 0x33:
        load(B.getInt16Ty(), 2, op == 0x32, B.getInt64Ty(), r);
        break;
      case 0x34:
      case 0x35:
        load(B.getInt32Ty(), 4, op == 0x34, B.getInt64Ty(), r);
        break;
      case 0x36:
        store(B.getInt32Ty(), 4, r);
        break;
      case 0x37:
        store(B.getInt64Ty(), 8, r);
        break;
      case 0x38:
        store(B.getFloatTy(), 4, r);
        break;
      case 0x39:
        store(B.getDoubleTy(), 8, r);
        break;
      case 0x3A:
      case 0x3C:
        store(B.getInt8Ty(), 1, r);
        break;
      case 0x3B:
      case 0x3D:
        store(B.getInt16Ty(), 2, r);
        break;
      case 0x3E:
        store(B.getInt32Ty(), 4, r);
        break;
      case 0x3F:
        r.u8();
        push(B.CreateTrunc(B.CreateLShr(B.CreateLoad(B.getInt64Ty(), mem_size_ptr_), 16), B.getInt32Ty()));
        break;
      case 0x40:
        r.u8();
        push(B.CreateCall(h_.memory_grow, {ctx_, pop()}));
        break;
      case 0x41:
        push(B.getInt32(static_cast<std::uint32_t>(r.sleb())));
        break;
      case 0x42:
        push(B.getInt64(static_cast<std::uint64_t>(r.sleb())));
        break;
      case 0x43: {
        std::uint32_t bits;
        std::memcpy(&bits, r.p, 4);
        r.p += 4;
        push(B.CreateBitCast(B.getInt32(bits), B.getFloatTy()));
        break;
      }
      case 0x44: {
        std::uint64_t bits;
        std::memcpy(&bits, r.p, 8);
        r.p += 8;
        push(B.CreateBitCast(B.getInt64(bits), B.getDoubleTy()));
        break;
      }
      case 0xD0:
        r.u8();
        push(B.getInt64(0));
        break;
      case 0xD1:
        push(B.CreateZExt(B.CreateICmpEQ(pop(), B.getInt64(0)), B.getInt32Ty()));
        break;
      case 0xD2: {
        const std::uint32_t f = r.u32();
        Value* fn = B.CreateLoad(B.getPtrTy(), B.CreateConstInBoundsGEP1_64(B.getPtrTy(), funcs_, f));
        push(B.CreatePtrToInt(fn, B.getInt64Ty()));
        break;
      }
      case 0xFC: {
        const std::uint32_t sub = r.u32();
        if (sub <= 7) {
          numeric(0x100 + sub);
          break;
        }
        switch (sub) {
          case 8: {
            const std::uint32_t seg = r.u32();
            r.u8();
            Value* n = pop();
            Value* s = pop();
            Value* d = pop();
            helper(h_.memory_init, {ctx_, u32(seg), d, s, n, site()});
            break;
          }
          case 9:
            helper(h_.data_drop, {ctx_, u32(r.u32())});
            break;
          case 10: {
            r.u8();
            r.u8();
            Value* n = pop();
            Value* s = pop();
            Value* d = pop();
            helper(h_.memory_copy, {ctx_, d, s, n, site()});
            break;
          }
          case 11: {
            r.u8();
            Value* n = pop();
            Value* v = pop();
            Value* d = pop();
            helper(h_.memory_fill, {ctx_, d, v, n, site()});
            break;
          }
          case 12: {
            const std::uint32_t seg = r.u32();
            const std::uint32_t t = r.u32();
            Value* n = pop();
            Value* s = pop();
            Value* d = pop();
            helper(h_.table_init, {ctx_, u32(t), u32(seg), d, s, n, site()});
            break;
          }
          case 13:
            helper(h_.elem_drop, {ctx_, u32(r.u32())});
            break;
          case 14: {
            const std::uint32_t dt = r.u32();
            const std::uint32_t st = r.u32();
            Value* n = pop();
            Value* s = pop();
            Value* d = pop();
            helper(h_.table_copy, {ctx_, u32(dt), u32(st), d, s, n, site()});
            break;
          }
          case 15: {
            const std::uint32_t t = r.u32();
            Value* n = pop();
            Value* init = pop();
            push(B.CreateCall(h_.table_grow, {ctx_, u32(t), init, n}));
            break;
          }
          case 16:
            push(B.CreateCall(h_.table_size, {ctx_, u32(r.u32())}));
            break;
          case 17: {
            const std::uint32_t t = r.u32();
            Value* n = pop();
            Value* v = pop();
            Value* i = pop();
            helper(h_.table_fill, {ctx_, u32(t), i, v, n, site()});
            break;
          }
          default:
            *error = "unknown 0xFC instruction " + std::to_string(sub);
            return false;
        }
        break;
      }
      case 0xFD: {
        const std::uint32_t sub = r.u32();
        if (!simd(sub, r)) {
          *error = "unknown SIMD instruction " + std::to_string(sub);
          return false;
        }
        break;
      }
      default:
        if (!numeric(op)) {
          *error = "unknown instruction " + std::to_string(op);
          return false;
        }
        break;
    }
  }

  // The return block: results from their slots.
  B.SetInsertPoint(ret);
  if (results.empty()) {
    B.CreateRetVoid();
  } else if (results.size() == 1) {
    B.CreateRet(B.CreateLoad(results[0], ret_slots[0]));
  } else {
    Value* agg = llvm::UndefValue::get(F->getReturnType());
    for (unsigned i = 0; i < results.size(); ++i)
      agg = B.CreateInsertValue(agg, B.CreateLoad(results[i], ret_slots[i]), i);
    B.CreateRet(agg);
  }
  return true;
}

}  // namespace spectrum::wasm
