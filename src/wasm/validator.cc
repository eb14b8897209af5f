// Validation: the typing rules of the spec (section 3), with the algorithm of its appendix: an
// operand stack of value types where "unknown" stands for the polymorphic stack after an
// unconditional branch, and a stack of control frames.
#include <algorithm>
#include <unordered_set>

#include "wasm/module.h"
#include "wasm/opcodes.h"
#include "wasm/reader.h"
#include "wasm/simd_opcodes.h"

namespace spectrum::wasm {
namespace {

// Reads a u32 immediate inside an expression that already propagates errors.
#define SPECTRUM_TRY_U32(reader)                                              \
  ({                                                                          \
    auto u32_result_ = (reader).u32();                                        \
    if (!u32_result_) return std::unexpected(std::move(u32_result_).error()); \
    *u32_result_;                                                             \
  })

constexpr ValType kUnknown = static_cast<ValType>(0);

struct Ctrl {
  std::uint8_t opcode;
  std::vector<ValType> params;
  std::vector<ValType> results;
  std::size_t height;
  bool unreachable;
  const std::vector<ValType>& labels() const { return opcode == 0x03 ? params : results; }
};

// Numeric or vector: what an untyped select accepts.
bool is_num(ValType t) {
  return t == ValType::i32 || t == ValType::i64 || t == ValType::f32 || t == ValType::f64 ||
         t == ValType::v128 || t == kUnknown;
}

class FunctionValidator {
 public:
  FunctionValidator(const ModuleData& m, const std::unordered_set<std::uint32_t>& refs,
                    std::uint32_t func_index, std::vector<std::uint32_t>* v128_sites = nullptr)
      : m_(m), refs_(refs), func_index_(func_index), v128_sites_(v128_sites) {}

  Result<void> run(const FunctionBody& body) {
    const FuncType& type = m_.func_type(func_index_);
    locals_ = type.params;
    for (auto [n, t] : body.local_groups) locals_.insert(locals_.end(), n, t);
    Reader r(m_.bytes, body.code_begin, body.code_end);
    ctrls_.push_back(Ctrl{0x02, {}, type.results, 0, false});
    while (!ctrls_.empty()) {
      if (r.at_end()) return fail_at(r.pos(), "unexpected end of section or function: END opcode expected");
      at_ = r.pos();
      SPECTRUM_TRY(instruction(r));
    }
    if (!r.at_end()) return fail_at(r.pos(), "section size mismatch: operators after the function's end");
    return {};
  }

 private:
  std::unexpected<Error> error(std::string_view reason) const { return fail_at(at_, reason); }
  std::unexpected<Error> mismatch(ValType expected, ValType got) const {
    return error(std::string("type mismatch: expected ") + std::string(to_string(expected)) + ", got " +
                 std::string(got == kUnknown ? "nothing" : to_string(got)));
  }

  void push(ValType t) { vals_.push_back(t); }
  Result<ValType> pop() {
    Ctrl& c = ctrls_.back();
    if (vals_.size() == c.height) {
      if (c.unreachable) return kUnknown;
      return error("type mismatch: operand stack underflow");
    }
    ValType t = vals_.back();
    vals_.pop_back();
    return t;
  }
  Result<ValType> pop(ValType expected) {
    ValType got = SPECTRUM_TRY(pop());
    if (got != expected && got != kUnknown && expected != kUnknown) return mismatch(expected, got);
    return got == kUnknown ? expected : got;
  }
  Result<void> pop_all(const std::vector<ValType>& types) {
    for (auto it = types.rbegin(); it != types.rend(); ++it) SPECTRUM_TRY(pop(*it));
    return {};
  }
  void push_all(const std::vector<ValType>& types) { vals_.insert(vals_.end(), types.begin(), types.end()); }

  void push_ctrl(std::uint8_t opcode, std::vector<ValType> params, std::vector<ValType> results) {
    ctrls_.push_back(Ctrl{opcode, params, std::move(results), vals_.size(), false});
    push_all(params);
  }
  Result<Ctrl> pop_ctrl() {
    if (ctrls_.empty()) return error("unexpected end");
    Ctrl& c = ctrls_.back();
    SPECTRUM_TRY(pop_all(c.results));
    if (vals_.size() != c.height)
      return error("type mismatch: values remaining on the stack at the end of a block");
    Ctrl out = std::move(c);
    ctrls_.pop_back();
    return out;
  }
  void set_unreachable() {
    vals_.resize(ctrls_.back().height);
    ctrls_.back().unreachable = true;
  }

  Result<ValType> read_valtype(Reader& r) {
    const std::size_t at = r.pos();
    const std::uint8_t b = SPECTRUM_TRY(r.u8());
    switch (b) {
      case 0x7F:
      case 0x7E:
      case 0x7D:
      case 0x7C:
      case 0x70:
      case 0x6F:
      case 0x7B:
        return static_cast<ValType>(b);
      default:
        return fail_at(at, "malformed value type");
    }
  }

  Result<std::pair<std::vector<ValType>, std::vector<ValType>>> block_type(Reader& r) {
    const std::size_t at = r.pos();
    const std::uint8_t first = SPECTRUM_TRY(r.u8());
    if (first == 0x40) return std::pair<std::vector<ValType>, std::vector<ValType>>{};
    if (first == 0x7F || first == 0x7E || first == 0x7D || first == 0x7C || first == 0x70 || first == 0x6F ||
        first == 0x7B)
      return std::pair<std::vector<ValType>, std::vector<ValType>>{{}, {static_cast<ValType>(first)}};
    r.seek(at);
    const std::int64_t index = SPECTRUM_TRY(r.s33());
    if (index < 0) return fail_at(at, "malformed block type");
    if (static_cast<std::uint64_t>(index) >= m_.types.size()) return fail_at(at, "unknown type");
    const FuncType& t = m_.types[index];
    return std::pair{t.params, t.results};
  }

  Result<const Ctrl*> label(Reader& r) {
    const std::uint32_t depth = SPECTRUM_TRY(r.u32());
    if (depth >= ctrls_.size()) return error("unknown label");
    return &ctrls_[ctrls_.size() - 1 - depth];
  }

  Result<void> memarg(Reader& r, unsigned natural_align_log2) {
    const std::size_t at = r.pos();
    const std::uint32_t align = SPECTRUM_TRY(r.u32());
    SPECTRUM_TRY(r.u32());  // offset
    // Bit 6 and above are not alignment: flags that 2.0 does not define (multi-memory's index bit).
    if (align >= 64) return fail_at(at, "malformed memop flags");
    if (m_.memories.empty()) return fail_at(at, "unknown memory 0");
    if (align > natural_align_log2) return fail_at(at, "alignment must not be larger than natural");
    return {};
  }
  Result<void> need_memory(std::uint32_t index) {
    if (index >= m_.memories.size()) return error("unknown memory " + std::to_string(index));
    return {};
  }
  Result<ValType> table_elem(std::uint32_t index) {
    if (index >= m_.tables.size()) return error("unknown table " + std::to_string(index));
    return m_.tables[index].element;
  }
  Result<void> zero_byte(Reader& r) {
    const std::size_t at = r.pos();
    if (SPECTRUM_TRY(r.u8()) != 0) return fail_at(at, "zero byte expected");
    return {};
  }
  Result<void> need_data_count(std::uint32_t index) {
    if (!m_.data_count) return error("data count section required");
    if (index >= *m_.data_count) return error("unknown data segment " + std::to_string(index));
    return {};
  }

  Result<void> instruction(Reader& r) {
    const std::uint8_t op = SPECTRUM_TRY(r.u8());
    switch (op) {
#define UNARY(code, id, name, A, R, body) \
  case code:                              \
    SPECTRUM_TRY(pop(valtype_of<A>()));   \
    push(valtype_of<R>());                \
    return {};
      WASM_FOR_EACH_UNARY(UNARY)
#undef UNARY
#define BINARY(code, id, name, A, R, body) \
  case code:                               \
    SPECTRUM_TRY(pop(valtype_of<A>()));    \
    SPECTRUM_TRY(pop(valtype_of<A>()));    \
    push(valtype_of<R>());                 \
    return {};
      WASM_FOR_EACH_BINARY(BINARY)
#undef BINARY
#define LOAD(code, id, name, V, M, align) \
  case code:                              \
    SPECTRUM_TRY(memarg(r, align));       \
    SPECTRUM_TRY(pop(ValType::i32));      \
    push(valtype_of<V>());                \
    return {};
      WASM_FOR_EACH_LOAD(LOAD)
#undef LOAD
#define STORE(code, id, name, V, M, align) \
  case code:                               \
    SPECTRUM_TRY(memarg(r, align));        \
    SPECTRUM_TRY(pop(valtype_of<V>()));    \
    SPECTRUM_TRY(pop(ValType::i32));       \
    return {};
      WASM_FOR_EACH_STORE(STORE)
#undef STORE
      case 0x00:
        set_unreachable();
        return {};
      case 0x01:
        return {};
      case 0x02:
      case 0x03: {
        auto [params, results] = SPECTRUM_TRY(block_type(r));
        SPECTRUM_TRY(pop_all(params));
        push_ctrl(op, std::move(params), std::move(results));
        return {};
      }
      case 0x04: {
        auto [params, results] = SPECTRUM_TRY(block_type(r));
        SPECTRUM_TRY(pop(ValType::i32));
        SPECTRUM_TRY(pop_all(params));
        push_ctrl(op, std::move(params), std::move(results));
        return {};
      }
      case 0x05: {
        if (ctrls_.back().opcode != 0x04) return error("else without if");
        Ctrl c = SPECTRUM_TRY(pop_ctrl());
        push_ctrl(0x05, std::move(c.params), std::move(c.results));
        return {};
      }
      case 0x0B: {
        Ctrl c = SPECTRUM_TRY(pop_ctrl());
        // An if without else must leave its parameters as its results.
        if (c.opcode == 0x04 && c.params != c.results) return error("type mismatch: if without else");
        push_all(c.results);
        return {};
      }
      case 0x0C: {
        const Ctrl* l = SPECTRUM_TRY(label(r));
        SPECTRUM_TRY(pop_all(l->labels()));
        set_unreachable();
        return {};
      }
      case 0x0D: {
        const Ctrl* l = SPECTRUM_TRY(label(r));
        SPECTRUM_TRY(pop(ValType::i32));
        const auto types = l->labels();
        SPECTRUM_TRY(pop_all(types));
        push_all(types);
        return {};
      }
      case 0x0E: {
        const std::uint32_t n = SPECTRUM_TRY(r.u32());
        if (n > r.remaining()) return error("unexpected end: br_table length");
        std::vector<const Ctrl*> targets;
        for (std::uint32_t i = 0; i <= n; ++i) targets.push_back(SPECTRUM_TRY(label(r)));
        SPECTRUM_TRY(pop(ValType::i32));
        const std::size_t arity = targets.back()->labels().size();
        for (const Ctrl* t : targets) {
          if (t->labels().size() != arity) return error("type mismatch: br_table targets of different arity");
          // Check each target against the operands without consuming them.
          std::vector<ValType> saved = vals_;
          SPECTRUM_TRY(pop_all(t->labels()));
          vals_ = std::move(saved);
        }
        SPECTRUM_TRY(pop_all(targets.back()->labels()));
        set_unreachable();
        return {};
      }
      case 0x0F:
        SPECTRUM_TRY(pop_all(ctrls_.front().results));
        set_unreachable();
        return {};
      case 0x10: {
        const std::uint32_t f = SPECTRUM_TRY(r.u32());
        if (f >= m_.func_types.size()) return error("unknown function " + std::to_string(f));
        const FuncType& t = m_.func_type(f);
        SPECTRUM_TRY(pop_all(t.params));
        push_all(t.results);
        return {};
      }
      case 0x11: {
        const std::uint32_t type_index = SPECTRUM_TRY(r.u32());
        const std::uint32_t table = SPECTRUM_TRY(r.u32());
        const ValType elem = SPECTRUM_TRY(table_elem(table));
        if (elem != ValType::funcref)
          return error("type mismatch: call_indirect through a table of externref");
        if (type_index >= m_.types.size()) return error("unknown type");
        SPECTRUM_TRY(pop(ValType::i32));
        const FuncType& t = m_.types[type_index];
        SPECTRUM_TRY(pop_all(t.params));
        push_all(t.results);
        return {};
      }
      case 0x1A:
        if (SPECTRUM_TRY(pop()) == ValType::v128) note_v128_site();
        return {};
      case 0x1B: {
        SPECTRUM_TRY(pop(ValType::i32));
        const ValType t1 = SPECTRUM_TRY(pop());
        const ValType t2 = SPECTRUM_TRY(pop());
        if (!is_num(t1) || !is_num(t2)) return error("type mismatch: select without type on references");
        if (t1 != t2 && t1 != kUnknown && t2 != kUnknown) return mismatch(t1, t2);
        if (t1 == ValType::v128 || t2 == ValType::v128) note_v128_site();
        push(t1 == kUnknown ? t2 : t1);
        return {};
      }
      case 0x1C: {
        const std::uint32_t n = SPECTRUM_TRY(r.u32());
        if (n != 1) return error("invalid result arity: select takes exactly one type");
        const ValType t = SPECTRUM_TRY(read_valtype(r));
        SPECTRUM_TRY(pop(ValType::i32));
        SPECTRUM_TRY(pop(t));
        SPECTRUM_TRY(pop(t));
        push(t);
        return {};
      }
      case 0x20:
      case 0x21:
      case 0x22: {
        const std::uint32_t x = SPECTRUM_TRY(r.u32());
        if (x >= locals_.size()) return error("unknown local " + std::to_string(x));
        const ValType t = locals_[x];
        if (op == 0x20) {
          push(t);
        } else {
          SPECTRUM_TRY(pop(t));
          if (op == 0x22) push(t);
        }
        return {};
      }
      case 0x23:
      case 0x24: {
        const std::uint32_t x = SPECTRUM_TRY(r.u32());
        if (x >= m_.globals.size()) return error("unknown global " + std::to_string(x));
        const GlobalType& g = m_.globals[x];
        if (op == 0x23) {
          push(g.type);
        } else {
          if (!g.mutable_) return error("global is immutable");
          SPECTRUM_TRY(pop(g.type));
        }
        return {};
      }
      case 0x25:
      case 0x26: {
        const std::uint32_t x = SPECTRUM_TRY(r.u32());
        const ValType t = SPECTRUM_TRY(table_elem(x));
        if (op == 0x25) {
          SPECTRUM_TRY(pop(ValType::i32));
          push(t);
        } else {
          SPECTRUM_TRY(pop(t));
          SPECTRUM_TRY(pop(ValType::i32));
        }
        return {};
      }
      case 0x3F:
        SPECTRUM_TRY(zero_byte(r));
        SPECTRUM_TRY(need_memory(0));
        push(ValType::i32);
        return {};
      case 0x40:
        SPECTRUM_TRY(zero_byte(r));
        SPECTRUM_TRY(need_memory(0));
        SPECTRUM_TRY(pop(ValType::i32));
        push(ValType::i32);
        return {};
      case 0x41:
        SPECTRUM_TRY(r.s32());
        push(ValType::i32);
        return {};
      case 0x42:
        SPECTRUM_TRY(r.s64());
        push(ValType::i64);
        return {};
      case 0x43:
        SPECTRUM_TRY(r.f32_bits());
        push(ValType::f32);
        return {};
      case 0x44:
        SPECTRUM_TRY(r.f64_bits());
        push(ValType::f64);
        return {};
      case 0xD0: {
        const std::size_t at = r.pos();
        const std::uint8_t t = SPECTRUM_TRY(r.u8());
        if (t != 0x70 && t != 0x6F) return fail_at(at, "malformed reference type");
        push(static_cast<ValType>(t));
        return {};
      }
      case 0xD1: {
        const ValType t = SPECTRUM_TRY(pop());
        if (t != kUnknown && !is_reference(t)) return error("type mismatch: ref.is_null of a number");
        push(ValType::i32);
        return {};
      }
      case 0xD2: {
        const std::uint32_t f = SPECTRUM_TRY(r.u32());
        if (f >= m_.func_types.size()) return error("unknown function " + std::to_string(f));
        if (!v128_sites_ && !refs_.contains(f)) return error("undeclared function reference");
        push(ValType::funcref);
        return {};
      }
      case 0xFC:
        return prefixed(r);
      case 0xFD:
        return simd(r);
      default: {
        char buf[64];
        std::snprintf(buf, sizeof buf, "illegal opcode 0x%02x", op);
        return error(buf);
      }
    }
  }

  Result<void> prefixed(Reader& r) {
    const std::uint32_t sub = SPECTRUM_TRY(r.u32());
    switch (sub) {
#define SAT(code, id, name, A, R, body) \
  case code:                            \
    SPECTRUM_TRY(pop(valtype_of<A>())); \
    push(valtype_of<R>());              \
    return {};
      WASM_FOR_EACH_SAT_UNARY(SAT)
#undef SAT
      case 8: {  // memory.init
        const std::uint32_t seg = SPECTRUM_TRY(r.u32());
        SPECTRUM_TRY(zero_byte(r));
        SPECTRUM_TRY(need_memory(0));
        SPECTRUM_TRY(need_data_count(seg));
        for (int i = 0; i < 3; ++i) SPECTRUM_TRY(pop(ValType::i32));
        return {};
      }
      case 9:
        SPECTRUM_TRY(need_data_count(SPECTRUM_TRY_U32(r)));
        return {};
      case 10:  // memory.copy
        SPECTRUM_TRY(zero_byte(r));
        SPECTRUM_TRY(zero_byte(r));
        SPECTRUM_TRY(need_memory(0));
        for (int i = 0; i < 3; ++i) SPECTRUM_TRY(pop(ValType::i32));
        return {};
      case 11:  // memory.fill
        SPECTRUM_TRY(zero_byte(r));
        SPECTRUM_TRY(need_memory(0));
        for (int i = 0; i < 3; ++i) SPECTRUM_TRY(pop(ValType::i32));
        return {};
      case 12: {  // table.init seg table
        const std::uint32_t seg = SPECTRUM_TRY(r.u32());
        const std::uint32_t table = SPECTRUM_TRY(r.u32());
        const ValType t = SPECTRUM_TRY(table_elem(table));
        if (seg >= m_.elems.size()) return error("unknown elem segment " + std::to_string(seg));
        if (m_.elems[seg].type != t) return error("type mismatch: table.init element type");
        for (int i = 0; i < 3; ++i) SPECTRUM_TRY(pop(ValType::i32));
        return {};
      }
      case 13: {
        const std::uint32_t seg = SPECTRUM_TRY(r.u32());
        if (seg >= m_.elems.size()) return error("unknown elem segment " + std::to_string(seg));
        return {};
      }
      case 14: {  // table.copy dst src
        const ValType d = SPECTRUM_TRY(table_elem(SPECTRUM_TRY_U32(r)));
        const ValType s = SPECTRUM_TRY(table_elem(SPECTRUM_TRY_U32(r)));
        if (d != s) return error("type mismatch: table.copy between tables of different types");
        for (int i = 0; i < 3; ++i) SPECTRUM_TRY(pop(ValType::i32));
        return {};
      }
      case 15: {  // table.grow
        const ValType t = SPECTRUM_TRY(table_elem(SPECTRUM_TRY_U32(r)));
        SPECTRUM_TRY(pop(ValType::i32));
        SPECTRUM_TRY(pop(t));
        push(ValType::i32);
        return {};
      }
      case 16:
        SPECTRUM_TRY(table_elem(SPECTRUM_TRY_U32(r)));
        push(ValType::i32);
        return {};
      case 17: {  // table.fill
        const ValType t = SPECTRUM_TRY(table_elem(SPECTRUM_TRY_U32(r)));
        SPECTRUM_TRY(pop(ValType::i32));
        SPECTRUM_TRY(pop(t));
        SPECTRUM_TRY(pop(ValType::i32));
        return {};
      }
      default:
        return error("illegal opcode 0xfc " + std::to_string(sub));
    }
  }

#include "wasm/simd_validate.inc"

  // The translator's view of drop and untyped select, whose operand type the body does not spell.
  void note_v128_site() {
    if (v128_sites_) v128_sites_->push_back(static_cast<std::uint32_t>(at_));
  }

  const ModuleData& m_;
  const std::unordered_set<std::uint32_t>& refs_;
  std::uint32_t func_index_;
  std::vector<std::uint32_t>* v128_sites_;
  std::vector<ValType> locals_;
  std::vector<ValType> vals_;
  std::vector<Ctrl> ctrls_;
  std::size_t at_ = 0;
};

Result<ValType> const_expr_type(const ModuleData& m, const ConstExpr& e, std::size_t globals_visible) {
  switch (e.kind) {
    case ConstExpr::Kind::i32_const:
      return ValType::i32;
    case ConstExpr::Kind::i64_const:
      return ValType::i64;
    case ConstExpr::Kind::f32_const:
      return ValType::f32;
    case ConstExpr::Kind::f64_const:
      return ValType::f64;
    case ConstExpr::Kind::v128_const:
      return ValType::v128;
    case ConstExpr::Kind::ref_null:
      return e.type;
    case ConstExpr::Kind::ref_func:
      if (e.index >= m.func_types.size())
        return fail_at(e.offset, "unknown function " + std::to_string(e.index));
      return ValType::funcref;
    case ConstExpr::Kind::global_get:
      // Constant expressions may read imported globals only (Wasm 2.0), and only immutable ones.
      if (e.index >= globals_visible || e.index >= m.globals.size())
        return fail_at(e.offset, "unknown global " + std::to_string(e.index));
      if (m.globals[e.index].mutable_)
        return fail_at(e.offset, "constant expression required: global is mutable");
      return m.globals[e.index].type;
  }
  return fail_at(e.offset, "constant expression required");
}

Result<void> expect_const(const ModuleData& m, const ConstExpr& e, ValType want,
                          std::size_t globals_visible) {
  const ValType got = SPECTRUM_TRY(const_expr_type(m, e, globals_visible));
  if (got != want)
    return fail_at(e.offset, std::string("type mismatch: constant expression of type ") +
                                 std::string(to_string(got)) + ", expected " + std::string(to_string(want)));
  return {};
}

Result<void> check_limits(const Limits& l, std::uint64_t bound, std::uint32_t at, const char* what) {
  // The spec's wording, the 4 GiB spelled out for memories.
  const std::string too_large = std::string(what) + " size must be at most " + std::to_string(bound) +
                                " pages" + (std::string_view(what) == "memory" ? " (4GiB)" : "");
  if (l.min > bound) return fail_at(at, too_large);
  if (l.max) {
    if (*l.max > bound) return fail_at(at, too_large);
    if (*l.max < l.min) return fail_at(at, "size minimum must not be greater than maximum");
  }
  return {};
}

std::uint32_t section_offset(const ModuleData& m, std::uint8_t id) {
  for (const auto& s : m.sections)
    if (s.id == id) return s.offset;
  return 0;
}

}  // namespace

std::vector<std::uint32_t> v128_operand_sites(const ModuleData& m, std::uint32_t func_index) {
  std::vector<std::uint32_t> sites;
  const std::unordered_set<std::uint32_t> all_refs;  // the body is valid: references need no check
  FunctionValidator v(m, all_refs, func_index, &sites);
  (void)v.run(m.bodies[func_index - m.imported_funcs]);
  return sites;
}

Result<void> validate_module(const ModuleData& m) {
  // Tables' and memories' limits.
  for (const auto& t : m.tables)
    SPECTRUM_TRY(check_limits(t.limits, 0xFFFFFFFFull, section_offset(m, 4), "table"));
  for (const auto& mem : m.memories)
    SPECTRUM_TRY(check_limits(mem.limits, kMaxPages, section_offset(m, 5), "memory"));
  if (m.memories.size() > 1) return fail_at(section_offset(m, 5), "multiple memories");

  // Globals: initialisers may refer to imported globals only.
  for (std::size_t i = 0; i < m.global_defs.size(); ++i)
    SPECTRUM_TRY(expect_const(m, m.global_defs[i].init, m.global_defs[i].type.type, m.imported_globals));

  // The functions a body may take a reference of: those named outside function bodies.
  std::unordered_set<std::uint32_t> refs;
  for (const auto& g : m.global_defs)
    if (g.init.kind == ConstExpr::Kind::ref_func) refs.insert(g.init.index);
  for (const auto& e : m.exports)
    if (e.kind == ExternKind::func) refs.insert(e.index);
  for (const auto& seg : m.elems)
    for (const auto& item : seg.items)
      if (item.kind == ConstExpr::Kind::ref_func) refs.insert(item.index);

  for (const auto& seg : m.elems) {
    for (const auto& item : seg.items) SPECTRUM_TRY(expect_const(m, item, seg.type, m.imported_globals));
    if (seg.mode == SegmentMode::active) {
      if (seg.table >= m.tables.size())
        return fail_at(seg.position, "unknown table " + std::to_string(seg.table));
      if (m.tables[seg.table].element != seg.type)
        return fail_at(seg.position, "type mismatch: element segment type");
      SPECTRUM_TRY(expect_const(m, seg.offset, ValType::i32, m.imported_globals));
    }
  }
  for (const auto& seg : m.datas) {
    if (seg.mode == SegmentMode::active) {
      if (seg.memory >= m.memories.size())
        return fail_at(seg.position, "unknown memory " + std::to_string(seg.memory));
      SPECTRUM_TRY(expect_const(m, seg.offset, ValType::i32, m.imported_globals));
    }
  }

  std::unordered_set<std::string_view> names;
  const std::uint32_t export_at = section_offset(m, 7);
  for (const auto& e : m.exports) {
    if (!names.insert(e.name).second) return fail_at(export_at, "duplicate export name '" + e.name + "'");
    const std::size_t limit = e.kind == ExternKind::func     ? m.func_types.size()
                              : e.kind == ExternKind::table  ? m.tables.size()
                              : e.kind == ExternKind::memory ? m.memories.size()
                                                             : m.globals.size();
    if (e.index >= limit)
      return fail_at(export_at, "unknown " + std::string(to_string(e.kind)) + " " + std::to_string(e.index));
  }
  if (m.start) {
    if (*m.start >= m.func_types.size()) return fail_at(section_offset(m, 8), "unknown function");
    const FuncType& t = m.func_type(*m.start);
    if (!t.params.empty() || !t.results.empty())
      return fail_at(section_offset(m, 8), "start function must have type [] -> []");
  }

  for (std::size_t i = 0; i < m.bodies.size(); ++i) {
    const std::uint32_t func_index = m.imported_funcs + static_cast<std::uint32_t>(i);
    FunctionValidator v(m, refs, func_index);
    SPECTRUM_TRY(v.run(m.bodies[i]));
  }
  return {};
}

}  // namespace spectrum::wasm
