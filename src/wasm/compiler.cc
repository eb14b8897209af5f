// Translation of a validated function body into the interpreter's code form (code.h).
//
// Frame layout, in 64-bit slots from the frame pointer:
//   [ params | declared locals | constants | operand stack ... ]
// The operand stack's height at every instruction is known statically, so each stack position
// has a home slot and instructions name their operands' slots directly (a register machine whose
// registers are the frame's slots). The compiler keeps a virtual operand stack whose entries may
// still live elsewhere: `local.get` and constants push no code, their consumers read the local's
// or the constant's slot. Entries are copied to their home slot only where control flow merges
// (blocks, branches, calls, returns) or a local they borrow is about to be overwritten. Two
// peepholes: the instruction producing a value stored by local.set/tee (or returned) writes the
// local (or the result slot) directly, and a comparison consumed by br_if/if fuses with it.
//
// Calls pass arguments in place: the callee's frame starts at the caller's first argument slot
// and its results come back in the same slots.
#include <algorithm>
#include <cassert>
#include <unordered_map>

#include "wasm/code.h"
#include "wasm/reader.h"
#include "wasm/runtime.h"

namespace spectrum::wasm {

std::uint32_t CompiledCode::wasm_offset(const std::uint32_t* pc) const {
  const auto index = static_cast<std::uint32_t>(pc - code.data());
  auto it = std::upper_bound(offsets.begin(), offsets.end(), index,
                             [](std::uint32_t v, const auto& entry) { return v < entry.first; });
  if (it == offsets.begin()) return 0;
  return std::prev(it)->second;
}

namespace {

constexpr std::uint32_t kMaxConstants = 4096;

// Skips the immediates of `op` (whose opcode byte has been read). The body is valid, so reads
// cannot fail.
void skip_immediates(std::uint8_t op, Reader& r) {
  auto u32 = [&] { (void)r.u32(); };
  switch (op) {
    case 0x02:
    case 0x03:
    case 0x04:
      (void)r.s33();
      break;
    case 0x0C:
    case 0x0D:
    case 0x10:
    case 0x20:
    case 0x21:
    case 0x22:
    case 0x23:
    case 0x24:
    case 0x25:
    case 0x26:
    case 0xD2:
      u32();
      break;
    case 0x0E: {
      const std::uint32_t n = r.u32().value();
      for (std::uint32_t i = 0; i <= n; ++i) u32();
      break;
    }
    case 0x11:
      u32();
      u32();
      break;
    case 0x1C: {
      const std::uint32_t n = r.u32().value();
      for (std::uint32_t i = 0; i < n; ++i) (void)r.u8();
      break;
    }
    case 0x3F:
    case 0x40:
    case 0xD0:
      (void)r.u8();
      break;
    case 0x41:
      (void)r.s32();
      break;
    case 0x42:
      (void)r.s64();
      break;
    case 0x43:
      (void)r.f32_bits();
      break;
    case 0x44:
      (void)r.f64_bits();
      break;
    case 0xFD:
      switch (simd_immediates(r.u32().value())) {
        case SimdImmediates::memarg_lane:
          (void)r.u8();
          [[fallthrough]];
        case SimdImmediates::memarg:
          u32();
          u32();
          break;
        case SimdImmediates::lane:
          (void)r.u8();
          break;
        case SimdImmediates::bytes16:
          for (int i = 0; i < 16; ++i) (void)r.u8();
          break;
        default:
          break;
      }
      break;
    case 0xFC: {
      const std::uint32_t sub = r.u32().value();
      switch (sub) {
        case 8:
          u32();
          (void)r.u8();
          break;
        case 9:
        case 13:
        case 15:
        case 16:
        case 17:
          u32();
          break;
        case 10:
          (void)r.u8();
          (void)r.u8();
          break;
        case 11:
          (void)r.u8();
          break;
        case 12:
        case 14:
          u32();
          u32();
          break;
        default:
          break;
      }
      break;
    }
    default:
      if (op >= 0x28 && op <= 0x3E) {
        u32();
        u32();
      }
      break;
  }
}

Op negate(Op op) {
  if (const Op base = without_add(op); base != Op::count) return add_form(negate(base));
  if (const Op plain = plain_form(op); plain != Op::count) return immediate_form(negate(plain));
  switch (op) {
    case Op::br_i32_eq:
      return Op::br_i32_ne;
    case Op::br_i32_ne:
      return Op::br_i32_eq;
    case Op::br_i32_lt_s:
      return Op::br_i32_ge_s;
    case Op::br_i32_ge_s:
      return Op::br_i32_lt_s;
    case Op::br_i32_lt_u:
      return Op::br_i32_ge_u;
    case Op::br_i32_ge_u:
      return Op::br_i32_lt_u;
    case Op::br_i32_gt_s:
      return Op::br_i32_le_s;
    case Op::br_i32_le_s:
      return Op::br_i32_gt_s;
    case Op::br_i32_gt_u:
      return Op::br_i32_le_u;
    case Op::br_i32_le_u:
      return Op::br_i32_gt_u;
    case Op::br_i64_eq:
      return Op::br_i64_ne;
    case Op::br_i64_ne:
      return Op::br_i64_eq;
    case Op::br_i64_lt_s:
      return Op::br_i64_ge_s;
    case Op::br_i64_ge_s:
      return Op::br_i64_lt_s;
    case Op::br_i64_lt_u:
      return Op::br_i64_ge_u;
    case Op::br_i64_ge_u:
      return Op::br_i64_lt_u;
    case Op::br_i64_gt_s:
      return Op::br_i64_le_s;
    case Op::br_i64_le_s:
      return Op::br_i64_gt_s;
    case Op::br_i64_gt_u:
      return Op::br_i64_le_u;
    case Op::br_i64_le_u:
      return Op::br_i64_gt_u;
    case Op::br_if:
      return Op::br_unless;
    case Op::br_unless:
      return Op::br_if;
    default:
      return Op::count;
  }
}

// The i32 compare-and-branch that tests b ? a for a ? b, or Op::count.
Op mirror(Op op) {
  switch (op) {
    case Op::br_i32_eq:
      return Op::br_i32_eq;
    case Op::br_i32_ne:
      return Op::br_i32_ne;
    case Op::br_i32_lt_s:
      return Op::br_i32_gt_s;
    case Op::br_i32_gt_s:
      return Op::br_i32_lt_s;
    case Op::br_i32_lt_u:
      return Op::br_i32_gt_u;
    case Op::br_i32_gt_u:
      return Op::br_i32_lt_u;
    case Op::br_i32_le_s:
      return Op::br_i32_ge_s;
    case Op::br_i32_ge_s:
      return Op::br_i32_le_s;
    case Op::br_i32_le_u:
      return Op::br_i32_ge_u;
    case Op::br_i32_ge_u:
      return Op::br_i32_le_u;
    default:
      return Op::count;
  }
}

// The compare-and-branch form of a comparison instruction, or Op::count.
Op fused_form(Op op) {
  switch (op) {
#define FUSED(id, T, body) \
  case Op::id:             \
    return Op::br_##id;
    WASM_FOR_EACH_FUSED_COMPARE(FUSED)
#undef FUSED
    default:
      return Op::count;
  }
}

class Compiler {
 public:
  explicit Compiler(const Function& f)
      : f_(f),
        m_(f.instance->module().data()),
        inst_(f.instance->state()),
        handlers_(interpreter_handlers()) {}

  std::unique_ptr<CompiledCode> run() {
    const FunctionBody& body = *f_.body;
    out_ = std::make_unique<CompiledCode>();
    nparams_ = f_.param_count;
    nlocals_ = nparams_ + body.local_count;
    prepare_v128(body);
    collect_constants(body);
    find_v128_sites();
    written_.assign(nlocals_, false);
    stack_base_ = nlocals_ + static_cast<std::uint32_t>(out_->constants.size());

    Reader r(m_.bytes, body.code_begin, body.code_end);
    labels_.push_back(make_label(Label::Kind::function, 0, 0, f_.result_count));
    while (!labels_.empty()) {
      at_ = static_cast<std::uint32_t>(r.pos());
      const std::uint8_t op = r.u8_unchecked();
      if (dead_) {
        skip_dead(op, r);
      } else {
        instruction(op, r);
      }
    }
    // Only the constants still read from slots are copied into each new frame: number them first.
    std::vector<std::uint32_t> renumbered(out_->constants.size(), kUnused);
    std::vector<std::uint64_t> used;
    for (std::uint32_t pos : const_patches_) {
      const std::uint32_t index = code_[pos] & ~kConstTag;
      if (renumbered[index] == kUnused) {
        renumbered[index] = static_cast<std::uint32_t>(used.size());
        used.push_back(out_->constants[index]);
      }
      code_[pos] = (nlocals_ + renumbered[index]) * 8;
    }
    out_->frame_init.assign(nlocals_ - nparams_, 0);
    out_->frame_init.insert(out_->frame_init.end(), used.begin(), used.end());
    // Small images are copied as one fixed-size block (see enter_frame): pad them to it; the
    // padding lands in the frame's own operand-stack slots, which are written before being read.
    if (out_->frame_init.size() < kSmallFrameInit) out_->frame_init.resize(kSmallFrameInit, 0);
    out_->constants = std::move(used);
    out_->param_slots = nparams_;
    out_->local_slots = nlocals_;
    out_->stack_slots = max_height_;
    out_->frame_slots = std::max<std::uint32_t>(
        stack_base_ + max_height_ + 1, nparams_ + static_cast<std::uint32_t>(out_->frame_init.size()));
    out_->code = std::move(code_);
    return std::move(out_);
  }

 private:
  // Virtual operand stack entries: a slot index (local, or home of a stack position) or a
  // constant index tagged with kConstTag.
  static constexpr std::uint32_t kConstTag = 0x80000000u;
  static constexpr std::uint32_t kUnused = ~0u;
  bool is_constant(std::uint32_t e) const { return (e & kConstTag) != 0; }
  std::uint64_t constant_value(std::uint32_t e) const { return out_->constants[e & ~kConstTag]; }
  void immediate(std::uint64_t value) {
    unit(static_cast<std::uint32_t>(value));
    unit(static_cast<std::uint32_t>(value >> 32));
  }

  struct Label {
    enum class Kind : std::uint8_t { function, block, loop, if_, else_ };
    Kind kind = Kind::block;
    std::uint32_t height = 0;
    std::uint32_t nparams = 0, nresults = 0;
    std::uint32_t loop_start = 0;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> fixups;  // (delta unit, instruction start)
    std::pair<std::uint32_t, std::uint32_t> else_fixup{0, 0};
    bool has_else_fixup = false;
    std::uint32_t arity() const { return kind == Kind::loop ? nparams : nresults; }
  };

  static Label make_label(Label::Kind kind, std::uint32_t h, std::uint32_t np, std::uint32_t nr) {
    Label l;
    l.kind = kind;
    l.height = h;
    l.nparams = np;
    l.nresults = nr;
    return l;
  }

  // ---- constants
  void collect_constants(const FunctionBody& body) {
    Reader r(m_.bytes, body.code_begin, body.code_end);
    while (!r.at_end()) {
      const std::uint8_t op = r.u8_unchecked();
      const std::size_t at = r.pos();
      switch (op) {
        case 0x41:
          add_constant(static_cast<std::uint32_t>(r.s32().value()));
          continue;
        case 0x42:
          add_constant(static_cast<std::uint64_t>(r.s64().value()));
          continue;
        case 0x43:
          add_constant(r.f32_bits().value());
          continue;
        case 0x44:
          add_constant(r.f64_bits().value());
          continue;
        case 0xD0:
          add_constant(0);
          break;
        case 0xFD:
          simd_seen_ = true;
          break;
        default:
          break;
      }
      r.seek(at);
      skip_immediates(op, r);
    }
  }
  void add_constant(std::uint64_t value) {
    if (out_->constants.size() >= kMaxConstants) return;
    if (const_index_.emplace(value, out_->constants.size()).second) out_->constants.push_back(value);
  }
  // The entry for a constant: its frame slot, or a freshly materialized home slot.
  void push_constant(std::uint64_t value) {
    auto it = const_index_.find(value);
    if (it != const_index_.end()) {
      stack_.push_back(kConstTag | it->second);
      note_height();
      return;
    }
    const std::uint32_t h = height();
    begin(Op::const64);
    dst(home(h));
    unit(static_cast<std::uint32_t>(value));
    unit(static_cast<std::uint32_t>(value >> 32));
    push_home();
  }

  // ---- emission
  std::uint32_t height() const { return static_cast<std::uint32_t>(stack_.size()); }
  std::uint32_t home(std::uint32_t position) const { return stack_base_ + position; }
  bool is_local(std::uint32_t e) const { return e < nlocals_; }
  void note_height() { max_height_ = std::max(max_height_, height()); }
  void push_home() {
    stack_.push_back(home(height()));
    note_height();
  }
  std::uint32_t pop() {
    const std::uint32_t e = stack_.back();
    stack_.pop_back();
    return e;
  }

  std::uint32_t begin(Op op) {
    const auto start = static_cast<std::uint32_t>(code_.size());
    const auto handler = reinterpret_cast<std::uintptr_t>(handlers_[static_cast<std::size_t>(op)]);
    code_.push_back(static_cast<std::uint32_t>(handler));
    code_.push_back(static_cast<std::uint32_t>(static_cast<std::uint64_t>(handler) >> 32));
    if (out_->offsets.empty() || out_->offsets.back().second != at_) out_->offsets.emplace_back(start, at_);
    prev_start_ = last_start_;
    prev_op_ = last_op_;
    last_start_ = start;
    last_op_ = op;
    last_dst_ = -1;
    return start;
  }
  // Starts an instruction whose result becomes the new top of the stack (push_home() once its
  // operands are emitted).
  void begin_value(Op op) {
    begin(op);
    dst(home(height()));
  }
  void unit(std::uint32_t v) { code_.push_back(v); }
  void src(std::uint32_t e) {
    if (e & kConstTag) {
      const_patches_.push_back(static_cast<std::uint32_t>(code_.size()));
      code_.push_back(e);
    } else {
      code_.push_back(e * 8);
    }
  }
  void dst(std::uint32_t slot) {
    last_dst_ = static_cast<std::int64_t>(code_.size());
    code_.push_back(slot * 8);
  }
  void pointer(const void* p) {
    const auto v = reinterpret_cast<std::uintptr_t>(p);
    unit(static_cast<std::uint32_t>(v));
    unit(static_cast<std::uint32_t>(static_cast<std::uint64_t>(v) >> 32));
  }
  void copy(std::uint32_t to_slot, std::uint32_t from) {
    if (is_constant(from)) {
      begin(Op::const64);
      dst(to_slot);
      immediate(constant_value(from));
      return;
    }
    // Copies come in runs (arguments, results, a loop's rotation of locals): up to four per
    // dispatch, the run growing in place while no jump target or other instruction intervenes.
    const std::uint32_t run = last_op_ == Op::copy    ? 1
                              : last_op_ == Op::copy2 ? 2
                              : last_op_ == Op::copy3 ? 3
                                                      : 0;
    if (run != 0 && last_start_ + 2 + 2 * run == code_.size()) {
      const Op grown = run == 1 ? Op::copy2 : run == 2 ? Op::copy3 : Op::copy4;
      const auto handler = reinterpret_cast<std::uintptr_t>(handlers_[static_cast<std::size_t>(grown)]);
      code_[last_start_] = static_cast<std::uint32_t>(handler);
      code_[last_start_ + 1] = static_cast<std::uint32_t>(static_cast<std::uint64_t>(handler) >> 32);
      last_op_ = grown;
      dst(to_slot);
      src(from);
      return;
    }
    begin(Op::copy);
    dst(to_slot);
    src(from);
  }
  // Marks a jump target: values may arrive from elsewhere, so no peephole may look back across it.
  std::uint32_t bind() {
    last_dst_ = -1;
    last_op_ = Op::count;
    return static_cast<std::uint32_t>(code_.size());
  }
  void patch(std::pair<std::uint32_t, std::uint32_t> fixup, std::uint32_t target) {
    code_[fixup.first] = static_cast<std::uint32_t>(static_cast<std::int32_t>(target) -
                                                    static_cast<std::int32_t>(fixup.second));
  }

  void materialize(std::uint32_t position) {
    const std::uint32_t e = stack_[position];
    if (e != home(position)) {
      copy(home(position), e);
      stack_[position] = home(position);
    }
  }
  void materialize_locals() {
    for (std::uint32_t i = 0; i < height(); ++i)
      if (is_local(stack_[i])) materialize(i);
  }
  void materialize_top(std::uint32_t n) {
    for (std::uint32_t i = height() - n; i < height(); ++i) materialize(i);
  }
  void materialize_borrowers(std::uint32_t local, std::uint32_t below) {
    for (std::uint32_t i = 0; i < below; ++i)
      if (stack_[i] == local) materialize(i);
  }
  bool has_borrowers(std::uint32_t local, std::uint32_t below) const {
    for (std::uint32_t i = 0; i < below; ++i)
      if (stack_[i] == local) return true;
    return false;
  }
  // The last instruction wrote the top of the stack into its home slot and nothing since.
  bool top_is_fresh() const {
    return last_dst_ >= 0 && !stack_.empty() && stack_.back() == home(height() - 1) &&
           code_[last_dst_] == home(height() - 1) * 8;
  }

  // ---- branches
  bool needs_copies(const Label& l) const {
    const std::uint32_t n = l.arity();
    for (std::uint32_t i = 0; i < n; ++i)
      if (stack_[height() - n + i] != home(l.height + i)) return true;
    return false;
  }
  void emit_copies(const Label& l) {
    const std::uint32_t n = l.arity();
    for (std::uint32_t i = 0; i < n; ++i) {
      const std::uint32_t e = stack_[height() - n + i];
      if (e != home(l.height + i)) copy(home(l.height + i), e);
    }
  }
  // Emits the delta operand of a branch (instruction started at `start`) to label l.
  void target(Label& l, std::uint32_t start) {
    if (l.kind == Label::Kind::loop) {
      unit(static_cast<std::uint32_t>(static_cast<std::int32_t>(l.loop_start) -
                                      static_cast<std::int32_t>(start)));
    } else {
      l.fixups.emplace_back(static_cast<std::uint32_t>(code_.size()), start);
      unit(0);
    }
  }
  void jump_to(Label& l) {
    const std::uint32_t start = begin(Op::jmp);
    target(l, start);
  }
  void emit_return() {
    const std::uint32_t n = f_.result_count;
    if (n == 1) {
      const std::uint32_t e = stack_.back();
      if (top_is_fresh()) {
        code_[last_dst_] = 0;
      } else if (e != 0) {
        copy(0, e);
      }
    } else if (n > 1) {
      materialize_top(n);
      for (std::uint32_t i = 0; i < n; ++i) copy(i, home(height() - n + i));
    }
    begin(Op::ret);
  }
  void branch(std::uint32_t depth) {
    Label& l = labels_[labels_.size() - 1 - depth];
    if (l.kind == Label::Kind::function) {
      emit_return();
      return;
    }
    emit_copies(l);
    jump_to(l);
  }

  // The condition of br_if / if: a fused comparison (operands in a, b) or a plain slot.
  struct Condition {
    Op op;
    std::uint32_t a, b;
    bool immediate = false;  // b and hi are the two units of a constant
    std::uint32_t hi = 0;
    bool add = false;  // op is an add form: a = y + c first
    std::uint32_t y = 0, c = 0;
  };
  Condition condition() {
    if (top_is_fresh() && last_start_ + 6 == code_.size() && plain_form(last_op_) != Op::count) {
      const Op fused = immediate_form(fused_form(plain_form(last_op_)));
      if (fused != Op::count) {
        Condition c{fused, code_[last_start_ + 3], code_[last_start_ + 4], true, code_[last_start_ + 5]};
        drop_last_instruction();
        stack_.pop_back();
        absorb_add(c);
        return c;
      }
    }
    if (top_is_fresh() && last_start_ + 5 == code_.size()) {
      const Op fused = fused_form(last_op_);
      if (fused != Op::count) {
        Condition c{fused, code_[last_start_ + 3], code_[last_start_ + 4]};
        drop_last_instruction();
        stack_.pop_back();
        absorb_add(c);
        return c;
      }
    }
    if (top_is_fresh() && last_start_ + 4 == code_.size() && (last_op_ == Op::i32_eqz)) {
      Condition c{Op::br_unless, code_[last_start_ + 3], 0};
      drop_last_instruction();
      stack_.pop_back();
      return c;
    }
    const std::uint32_t e = pop();
    Condition c{Op::br_if, 0, 0};
    // Store the operand unit as src() would emit it (const tags are resolved on emission).
    c.a = e;
    c.b = kConstTag;  // marks "a is an entry, not an emitted unit"
    return c;
  }
  // The comparison just fused into c (and dropped) read a local that the instruction before it,
  // an i32.add of a constant, wrote: the branch does the add too. Only when no operand-stack
  // entry borrows that local, since copies emitted before the branch would read its old value.
  void absorb_add(Condition& c) {
    if (prev_op_ != Op::i32_add_imm || prev_start_ + 6 != last_start_ || code_.size() != last_start_) return;
    const std::uint32_t x = code_[prev_start_ + 2];
    if (x / 8 >= nlocals_) return;
    if (!c.immediate && c.b == x && c.a != x && mirror(c.op) != Op::count) {
      // `n != ++i`: the add feeds the right operand; compare the other way round.
      std::swap(c.a, c.b);
      c.op = mirror(c.op);
    }
    const Op op = add_form(c.op);
    if (x != c.a || op == Op::count || (!c.immediate && c.b == x)) return;
    for (std::uint32_t e : stack_)
      if (e == x / 8) return;
    c.op = op;
    c.add = true;
    c.y = code_[prev_start_ + 3];
    c.c = code_[prev_start_ + 4];
    code_.resize(prev_start_);
    while (!const_patches_.empty() && const_patches_.back() >= prev_start_) const_patches_.pop_back();
    while (!out_->offsets.empty() && out_->offsets.back().first >= prev_start_) out_->offsets.pop_back();
    prev_op_ = Op::count;
  }
  void drop_last_instruction() {
    // Operand units of the dropped instruction that were constants must be re-registered when
    // reused: keep them as raw units (the tag is resolved at the end through const_patches_).
    code_.resize(last_start_);
    while (!const_patches_.empty() && const_patches_.back() >= last_start_) const_patches_.pop_back();
    if (!out_->offsets.empty() && out_->offsets.back().first >= last_start_) out_->offsets.pop_back();
    last_dst_ = -1;
    last_op_ = Op::count;
  }
  void emit_condition_unit(std::uint32_t raw) {
    // A raw unit copied from a dropped instruction: constants there are still tags.
    if (raw & kConstTag) {
      const_patches_.push_back(static_cast<std::uint32_t>(code_.size()));
    }
    code_.push_back(raw);
  }
  // Emits a conditional branch to label l taken when the condition holds (or fails, if negate).
  std::uint32_t emit_conditional(const Condition& c, bool negate_it) {
    Op op = negate_it ? negate(c.op) : c.op;
    const std::uint32_t start = begin(op);
    if (c.add) {
      // x (written and compared), y, c, then b as below.
      unit(c.a);
      unit(c.y);
      unit(c.c);
    }
    if (c.immediate) {
      if (!c.add) emit_condition_unit(c.a);
      unit(c.b);
      unit(c.hi);
    } else if (c.op == Op::br_if && c.b == kConstTag) {
      src(c.a);
    } else {
      if (!c.add) emit_condition_unit(c.a);
      if (c.op != Op::br_unless && c.op != Op::br_if) emit_condition_unit(c.b);
    }
    return start;
  }

  // ---- block types
  std::pair<std::uint32_t, std::uint32_t> block_arity(Reader& r) {
    const std::size_t at = r.pos();
    const std::uint8_t first = r.u8_unchecked();
    if (first == 0x40) return {0, 0};
    if (first == 0x7F || first == 0x7E || first == 0x7D || first == 0x7C || first == 0x70 || first == 0x6F)
      return {0, 1};
    if (first == 0x7B) return {0, 2};
    r.seek(at);
    const auto index = static_cast<std::uint32_t>(r.s33().value());
    const FuncType& t = m_.types[index];
    return {slot_count(t.params), slot_count(t.results)};
  }

  void skip_dead(std::uint8_t op, Reader& r) {
    if (op == 0x02 || op == 0x03 || op == 0x04) {
      skip_immediates(op, r);
      ++dead_depth_;
      return;
    }
    if (op == 0x0B && dead_depth_ > 0) {
      --dead_depth_;
      return;
    }
    if (op == 0x05 && dead_depth_ > 0) return;
    if (op == 0x05 || op == 0x0B) {
      instruction(op, r);
      return;
    }
    skip_immediates(op, r);
  }

  void enter_block(Label::Kind kind, std::uint32_t np, std::uint32_t nr) {
    materialize_locals();
    materialize_top(np);
    Label l = make_label(kind, height() - np, np, nr);
    if (kind == Label::Kind::loop) {
      l.loop_start = bind();
      loop_seen_ = true;
    }
    labels_.push_back(std::move(l));
  }

  void reset_stack(std::uint32_t h, std::uint32_t n) {
    stack_.resize(h);
    for (std::uint32_t i = 0; i < n; ++i) stack_.push_back(home(h + i));
    note_height();
  }

  void instruction(std::uint8_t op, Reader& r) {
    switch (op) {
#define UNARY(code, id, name, A, R, body) \
  case code: {                            \
    const std::uint32_t a = pop();        \
    begin_value(Op::id);                  \
    src(a);                               \
    push_home();                          \
    return;                               \
  }
      WASM_FOR_EACH_UNARY(UNARY)
#undef UNARY
#define BINARY(code, id, name, A, R, body)                                 \
  case code: {                                                             \
    if (fuse_load_operand(Op::id) || fuse_shifted_operand(Op::id)) return; \
    const std::uint32_t b = pop();                                         \
    const std::uint32_t a = pop();                                         \
    if (is_constant(b) && !is_constant(a)) {                               \
      begin_value(Op::id##_imm);                                           \
      src(a);                                                              \
      immediate(constant_value(b));                                        \
      push_home();                                                         \
      return;                                                              \
    }                                                                      \
    begin_value(Op::id);                                                   \
    src(a);                                                                \
    src(b);                                                                \
    push_home();                                                           \
    return;                                                                \
  }
      WASM_FOR_EACH_BINARY(BINARY)
#undef BINARY
#define LOAD(code, id, name, V, M, align)                     \
  case code: {                                                \
    (void)r.u32();                                            \
    const std::uint32_t offset = r.u32().value();             \
    if (fuse_address_add(Op::id##_add, offset, true)) return; \
    const std::uint32_t a = pop();                            \
    begin_value(Op::id);                                      \
    src(a);                                                   \
    unit(offset);                                             \
    push_home();                                              \
    return;                                                   \
  }
      WASM_FOR_EACH_LOAD(LOAD)
#undef LOAD
#define STORE(code, id, name, V, M, align)                     \
  case code: {                                                 \
    (void)r.u32();                                             \
    const std::uint32_t offset = r.u32().value();              \
    if (fuse_address_add(Op::id##_add, offset, false)) return; \
    const std::uint32_t v = pop();                             \
    const std::uint32_t a = pop();                             \
    begin(Op::id);                                             \
    src(a);                                                    \
    src(v);                                                    \
    unit(offset);                                              \
    return;                                                    \
  }
      WASM_FOR_EACH_STORE(STORE)
#undef STORE
      case 0x00:
        begin(Op::unreachable);
        dead_ = true;
        return;
      case 0x01:
        return;
      case 0x02: {
        auto [np, nr] = block_arity(r);
        enter_block(Label::Kind::block, np, nr);
        return;
      }
      case 0x03: {
        auto [np, nr] = block_arity(r);
        enter_block(Label::Kind::loop, np, nr);
        return;
      }
      case 0x04: {
        auto [np, nr] = block_arity(r);
        Condition c = condition();
        // The condition's operands stay valid: materializing writes only below them.
        materialize_locals();
        materialize_top(np);
        const std::uint32_t start = emit_conditional(c, true);
        Label l = make_label(Label::Kind::if_, height() - np, np, nr);
        l.else_fixup = {static_cast<std::uint32_t>(code_.size()), start};
        l.has_else_fixup = true;
        unit(0);
        labels_.push_back(std::move(l));
        return;
      }
      case 0x05: {
        Label& l = labels_.back();
        if (!dead_) {
          materialize_top(l.nresults);
          jump_to(l);
        }
        patch(l.else_fixup, bind());
        l.has_else_fixup = false;
        l.kind = Label::Kind::else_;
        reset_stack(l.height, l.nparams);
        dead_ = false;
        dead_depth_ = 0;
        return;
      }
      case 0x0B: {
        Label& l = labels_.back();
        if (l.kind == Label::Kind::function) {
          if (!dead_) emit_return();
          const std::uint32_t end = bind();
          for (auto fx : l.fixups) patch(fx, end);
          labels_.pop_back();
          return;
        }
        if (!dead_) materialize_top(l.nresults);
        const std::uint32_t end = bind();
        for (auto fx : l.fixups) patch(fx, end);
        if (l.has_else_fixup) patch(l.else_fixup, end);
        const std::uint32_t h = l.height, n = l.nresults;
        labels_.pop_back();
        reset_stack(h, n);
        dead_ = false;
        dead_depth_ = 0;
        return;
      }
      case 0x0C: {
        branch(r.u32().value());
        dead_ = true;
        return;
      }
      case 0x0D: {
        const std::uint32_t depth = r.u32().value();
        Condition c = condition();
        Label& l = labels_[labels_.size() - 1 - depth];
        if (l.kind != Label::Kind::function && !needs_copies(l)) {
          const std::uint32_t start = emit_conditional(c, false);
          target(l, start);
        } else {
          const std::uint32_t start = emit_conditional(c, true);
          const std::pair<std::uint32_t, std::uint32_t> skip{static_cast<std::uint32_t>(code_.size()), start};
          unit(0);
          branch(depth);
          patch(skip, bind());
        }
        return;
      }
      case 0x0E: {
        const std::uint32_t n = r.u32().value();
        std::vector<std::uint32_t> depths(n + 1);
        for (auto& d : depths) d = r.u32().value();
        const std::uint32_t index = pop();
        const std::uint32_t start = begin(Op::br_table);
        src(index);
        unit(n);
        const auto first_delta = static_cast<std::uint32_t>(code_.size());
        for (std::uint32_t i = 0; i <= n; ++i) unit(0);
        // Targets needing copies (or the function's return, or a loop's check) get a trampoline.
        std::unordered_map<std::uint32_t, std::uint32_t> trampoline;
        // A trampoline's copies (a return materializes) must not leak into the next target's view.
        const std::vector<std::uint32_t> operands = stack_;
        for (std::uint32_t i = 0; i <= n; ++i) {
          stack_ = operands;
          Label& l = labels_[labels_.size() - 1 - depths[i]];
          const bool direct =
              l.kind != Label::Kind::function && l.kind != Label::Kind::loop && !needs_copies(l);
          if (direct) {
            l.fixups.emplace_back(first_delta + i, start);
            continue;
          }
          auto it = trampoline.find(depths[i]);
          if (it == trampoline.end()) {
            const std::uint32_t here = bind();
            it = trampoline.emplace(depths[i], here).first;
            if (l.kind == Label::Kind::loop) begin(Op::check);
            branch(depths[i]);
          }
          code_[first_delta + i] = it->second - start;
        }
        dead_ = true;
        return;
      }
      case 0x0F:
        emit_return();
        dead_ = true;
        return;
      case 0x10: {
        Function* callee = inst_.funcs[r.u32().value()];
        call(Op::call, callee->param_count, callee->result_count);
        begin_call_emitted(callee);
        return;
      }
      case 0x11: {
        const std::uint32_t type_index = r.u32().value();
        const std::uint32_t table_index = r.u32().value();
        const FuncType& type = m_.types[type_index];
        const std::uint32_t index = pop();
        const std::uint32_t np = slot_count(type.params), nr = slot_count(type.results);
        materialize_top(np);
        const std::uint32_t args = home(height() - np);
        begin(Op::call_indirect);
        pointer(inst_.tables[table_index]);
        unit(f_.instance->store().impl().type_id(type));
        src(index);
        unit(args * 8);
        finish_call(np, nr);
        return;
      }
      case 0x1A:
        if (is_v128_site()) pop();
        pop();
        return;
      case 0x1B:
      case 0x1C: {
        bool v128 = op == 0x1B && is_v128_site();
        if (op == 0x1C) {
          const std::uint32_t n = r.u32().value();
          for (std::uint32_t i = 0; i < n; ++i) v128 = r.u8_unchecked() == 0x7B;
        }
        if (v128) {
          v128_select();
          return;
        }
        const std::uint32_t c = pop();
        const std::uint32_t b = pop();
        const std::uint32_t a = pop();
        begin_value(Op::select);
        src(a);
        src(b);
        src(c);
        push_home();
        return;
      }
      case 0x20: {
        const std::uint32_t x = local_slot(r.u32().value());
        if (is_v128_local(x)) {
          v128_local_get(x);
          return;
        }
        stack_.push_back(x);
        note_height();
        return;
      }
      case 0x21: {
        const std::uint32_t x = local_slot(r.u32().value());
        if (is_v128_local(x)) {
          v128_local_set(x, false);
          return;
        }
        const std::uint32_t v = stack_.back();
        if (v == x) {
          stack_.pop_back();
          return;
        }
        // C compilers initialize locals explicitly; the frame did already.
        if (!loop_seen_ && x >= nparams_ && !written_[x] && is_constant(v) && constant_value(v) == 0) {
          stack_.pop_back();
          return;
        }
        written_[x] = true;
        if (top_is_fresh() && !has_borrowers(x, height() - 1)) {
          code_[last_dst_] = x * 8;
          last_dst_ = -1;
          stack_.pop_back();
          return;
        }
        materialize_borrowers(x, height() - 1);
        copy(x, stack_.back());
        last_dst_ = -1;
        stack_.pop_back();
        return;
      }
      case 0x22: {
        const std::uint32_t x = local_slot(r.u32().value());
        if (is_v128_local(x)) {
          v128_local_set(x, true);
          return;
        }
        const std::uint32_t v = stack_.back();
        written_[x] = true;
        if (v == x) return;
        if (top_is_fresh() && !has_borrowers(x, height() - 1)) {
          code_[last_dst_] = x * 8;
          last_dst_ = -1;
          stack_.back() = x;
          return;
        }
        materialize_borrowers(x, height() - 1);
        copy(x, stack_.back());
        last_dst_ = -1;
        return;
      }
      case 0x23: {
        Global* g = inst_.globals[r.u32().value()];
        if (g->type.type == ValType::v128) {
          v128_global_get(g);
          return;
        }
        begin_value(Op::global_get);
        pointer(g);
        push_home();
        return;
      }
      case 0x24: {
        Global* g = inst_.globals[r.u32().value()];
        if (g->type.type == ValType::v128) {
          v128_global_set(g);
          return;
        }
        const std::uint32_t v = pop();
        begin(Op::global_set);
        src(v);
        pointer(g);
        return;
      }
      case 0x25: {
        Table* t = inst_.tables[r.u32().value()];
        const std::uint32_t i = pop();
        begin_value(Op::table_get);
        src(i);
        pointer(t);
        push_home();
        return;
      }
      case 0x26: {
        Table* t = inst_.tables[r.u32().value()];
        const std::uint32_t v = pop();
        const std::uint32_t i = pop();
        begin(Op::table_set);
        src(i);
        src(v);
        pointer(t);
        return;
      }
      case 0x3F:
        r.u8_unchecked();
        begin_value(Op::memory_size);
        push_home();
        return;
      case 0x40: {
        r.u8_unchecked();
        const std::uint32_t d = pop();
        begin_value(Op::memory_grow);
        src(d);
        push_home();
        return;
      }
      case 0x41:
        push_constant(static_cast<std::uint32_t>(r.s32().value()));
        return;
      case 0x42:
        push_constant(static_cast<std::uint64_t>(r.s64().value()));
        return;
      case 0x43:
        push_constant(r.f32_bits().value());
        return;
      case 0x44:
        push_constant(r.f64_bits().value());
        return;
      case 0xD0:
        r.u8_unchecked();
        push_constant(0);
        return;
      case 0xD1: {
        const std::uint32_t a = pop();
        begin_value(Op::ref_is_null);
        src(a);
        push_home();
        return;
      }
      case 0xD2: {
        Function* fn = inst_.funcs[r.u32().value()];
        const std::uint32_t h = height();
        begin(Op::const64);
        dst(home(h));
        pointer(fn);
        push_home();
        return;
      }
      case 0xFC:
        prefixed(r);
        return;
      case 0xFD:
        simd(r);
        return;
      default:
        return;  // unreachable for validated code
    }
  }

  // The binary operation `op` whose right operand the instruction just emitted loaded: one
  // instruction loads and computes (the trap offset stays the load's).
  bool fuse_load_operand(Op op) {
    Op fused = Op::count, load = Op::count;
    switch (op) {
#define LOAD_OPERAND(id, load_op, T, body) \
  case Op::id:                             \
    fused = Op::id##_load;                 \
    load = Op::load_op;                    \
    break;
      WASM_FOR_EACH_LOAD_OPERAND(LOAD_OPERAND)
#undef LOAD_OPERAND
      default:
        return false;
    }
    if (last_op_ != load || !top_is_fresh() || last_start_ + 5 != code_.size() || height() < 2) return false;
    const std::uint32_t address = code_[last_start_ + 3];
    const std::uint32_t offset = code_[last_start_ + 4];
    const std::uint32_t load_at = out_->offsets.empty() ? at_ : out_->offsets.back().second;
    drop_last_instruction();
    stack_.pop_back();
    const std::uint32_t a = pop();
    begin(fused);
    if (!out_->offsets.empty() && out_->offsets.back().first == last_start_)
      out_->offsets.back().second = load_at;
    dst(home(height()));
    src(a);
    emit_condition_unit(address);
    unit(offset);
    push_home();
    return true;
  }

  // The binary operation `op` whose right operand the instruction just emitted shifted or
  // rotated by a constant: one instruction does both.
  bool fuse_shifted_operand(Op op) {
    Op fused = Op::count;
#define SHIFTED(id, shift, shift_body, body) \
  if (op == Op::id && last_op_ == Op::shift##_imm) fused = Op::id##_##shift;
    WASM_FOR_EACH_SHIFTED_OPERAND(SHIFTED)
#undef SHIFTED
    if (fused == Op::count || !top_is_fresh() || last_start_ + 6 != code_.size() || height() < 2)
      return false;
    const std::uint32_t x = code_[last_start_ + 3];
    const std::uint32_t k = code_[last_start_ + 4];
    drop_last_instruction();
    stack_.pop_back();
    const std::uint32_t a = pop();
    begin_value(fused);
    src(a);
    emit_condition_unit(x);
    unit(k);
    push_home();
    return true;
  }

  // A load whose address (or a store whose address, under a value that needed no instruction)
  // was computed by the instruction just emitted, an i32.add: one instruction does both.
  bool fuse_address_add(Op fused, std::uint32_t offset, bool is_load) {
    // The add may have taken its constant operand as an immediate: the fused access reads it from
    // its slot again.
    const bool immediate_add = last_op_ == Op::i32_add_imm;
    if ((last_op_ != Op::i32_add && !immediate_add) || last_dst_ < 0 ||
        last_start_ + (immediate_add ? 6 : 5) != code_.size())
      return false;
    const std::uint32_t address_pos = is_load ? height() - 1 : height() - 2;
    if (height() < (is_load ? 1u : 2u)) return false;
    if (stack_[address_pos] != home(address_pos) || code_[last_dst_] != home(address_pos) * 8) return false;
    std::uint32_t value = 0;
    if (!is_load) {
      value = stack_.back();
      if (value == home(height() - 1)) return false;  // the value came from an instruction after the add
    }
    const std::uint32_t a = code_[last_start_ + 3];
    std::uint32_t b = code_[last_start_ + 4];
    if (immediate_add)
      b = kConstTag |
          const_index_.at(static_cast<std::uint64_t>(b) | std::uint64_t{code_[last_start_ + 5]} << 32);
    drop_last_instruction();
    if (is_load) {
      stack_.pop_back();
      begin_value(fused);
      emit_condition_unit(a);
      emit_condition_unit(b);
      unit(offset);
      push_home();
    } else {
      stack_.pop_back();
      stack_.pop_back();
      begin(fused);
      src(value);
      emit_condition_unit(a);
      emit_condition_unit(b);
      unit(offset);
    }
    return true;
  }

  void call(Op, std::uint32_t np, std::uint32_t) { materialize_top(np); }
  void begin_call_emitted(Function* callee) {
    const std::uint32_t np = callee->param_count, nr = callee->result_count;
    const std::uint32_t args = home(height() - np);
    // Same instance: same memory, no host function; the interpreter's shorter call sequence.
    begin(!callee->is_host() && callee->instance == f_.instance ? Op::call_local : Op::call);
    pointer(callee);
    unit(args * 8);
    finish_call(np, nr);
  }
  void finish_call(std::uint32_t np, std::uint32_t nr) {
    stack_.resize(height() - np);
    for (std::uint32_t i = 0; i < nr; ++i) push_home();
    last_dst_ = -1;
  }

  void prefixed(Reader& r) {
    const std::uint32_t sub = r.u32().value();
    switch (sub) {
#define SAT(code, id, name, A, R, body) \
  case code: {                          \
    const std::uint32_t a = pop();      \
    begin_value(Op::id);                \
    src(a);                             \
    push_home();                        \
    return;                             \
  }
      WASM_FOR_EACH_SAT_UNARY(SAT)
#undef SAT
      case 8: {
        const std::uint32_t seg = r.u32().value();
        r.u8_unchecked();
        const std::uint32_t n = pop(), s = pop(), d = pop();
        begin(Op::memory_init);
        unit(seg);
        src(d);
        src(s);
        src(n);
        return;
      }
      case 9:
        begin(Op::data_drop);
        unit(r.u32().value());
        return;
      case 10:
      case 11: {
        r.u8_unchecked();
        if (sub == 10) r.u8_unchecked();
        const std::uint32_t n = pop(), s = pop(), d = pop();
        begin(sub == 10 ? Op::memory_copy : Op::memory_fill);
        src(d);
        src(s);
        src(n);
        return;
      }
      case 12: {
        const std::uint32_t seg = r.u32().value();
        Table* t = inst_.tables[r.u32().value()];
        const std::uint32_t n = pop(), s = pop(), d = pop();
        begin(Op::table_init);
        src(d);
        src(s);
        src(n);
        pointer(t);
        unit(seg);
        return;
      }
      case 13:
        begin(Op::elem_drop);
        unit(r.u32().value());
        return;
      case 14: {
        Table* td = inst_.tables[r.u32().value()];
        Table* ts = inst_.tables[r.u32().value()];
        const std::uint32_t n = pop(), s = pop(), d = pop();
        begin(Op::table_copy);
        src(d);
        src(s);
        src(n);
        pointer(td);
        pointer(ts);
        return;
      }
      case 15: {
        Table* t = inst_.tables[r.u32().value()];
        const std::uint32_t n = pop(), init = pop();
        begin_value(Op::table_grow);
        src(init);
        src(n);
        pointer(t);
        push_home();
        return;
      }
      case 16: {
        Table* t = inst_.tables[r.u32().value()];
        begin_value(Op::table_size);
        pointer(t);
        push_home();
        return;
      }
      case 17: {
        Table* t = inst_.tables[r.u32().value()];
        const std::uint32_t n = pop(), v = pop(), i = pop();
        begin(Op::table_fill);
        src(i);
        src(v);
        src(n);
        pointer(t);
        return;
      }
      default:
        return;
    }
  }

#include "wasm/simd_translate.inc"

  const Function& f_;
  const ModuleData& m_;
  const Instance::State& inst_;
  const void* const* handlers_;
  std::unique_ptr<CompiledCode> out_;
  std::vector<std::uint32_t> code_;
  std::vector<std::uint32_t> stack_;
  std::vector<Label> labels_;
  std::vector<std::uint32_t> const_patches_;
  std::unordered_map<std::uint64_t, std::uint32_t> const_index_;
  std::uint32_t nparams_ = 0, nlocals_ = 0, stack_base_ = 0, max_height_ = 0;
  std::uint32_t at_ = 0;
  bool dead_ = false;
  std::uint32_t dead_depth_ = 0;
  // Declared locals written so far in code order; before the first loop, a local not yet written
  // still holds the zero its frame started with (no back edge can bring a later write here).
  std::vector<bool> written_;
  bool loop_seen_ = false;
  std::int64_t last_dst_ = -1;
  std::uint32_t last_start_ = 0;
  Op last_op_ = Op::count;
  // The instruction before the last one, while no jump target lies between them.
  std::uint32_t prev_start_ = 0;
  Op prev_op_ = Op::count;
};

}  // namespace

std::unique_ptr<CompiledCode> compile_function(const Function& function) { return Compiler(function).run(); }

}  // namespace spectrum::wasm
