// Decoding of the binary format into ModuleData: sections in their order, every vector and
// immediate read with its limits. Function bodies are only delimited here (their locals are read);
// their instructions are read by the validator and the compiler.
#include <algorithm>
#include <cstdio>

#include "wasm/module.h"
#include "wasm/reader.h"

namespace spectrum::wasm {

std::unexpected<Error> fail_at(std::uint64_t offset, std::string_view reason) {
  char prefix[32];
  std::snprintf(prefix, sizeof prefix, "byte 0x%llx: ", static_cast<unsigned long long>(offset));
  return std::unexpected(Error(std::string(prefix) + std::string(reason)));
}

namespace {

bool valid_utf8(std::span<const std::uint8_t> s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const std::uint8_t c = s[i];
    int extra;
    std::uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;
    for (int k = 1; k <= extra; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    // Overlong forms, surrogates and values beyond U+10FFFF are not UTF-8.
    if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000)) return false;
    if (cp >= 0xD800 && cp <= 0xDFFF) return false;
    if (cp > 0x10FFFF) return false;
    i += extra + 1;
  }
  return true;
}

}  // namespace

Result<std::string> Reader::name() {
  const std::size_t start = pos_;
  const std::uint32_t len = SPECTRUM_TRY(u32());
  if (len > remaining()) return fail_at(start, "length out of bounds: unexpected end");
  std::span<const std::uint8_t> raw(data_ + pos_, len);
  if (!valid_utf8(raw)) return fail_at(pos_, "malformed UTF-8 encoding");
  pos_ += len;
  return std::string(reinterpret_cast<const char*>(raw.data()), raw.size());
}

namespace {

constexpr std::uint32_t kMaxLocals = 50000;  // per function; an implementation limit

const char* section_name(std::uint8_t id) {
  static constexpr const char* names[] = {"custom", "type",   "import",   "function", "table",
                                          "memory", "global", "export",   "start",    "element",
                                          "code",   "data",   "datacount"};
  return id < 13 ? names[id] : "unknown";
}

// The position of a section id in the required order (datacount sits between element and code).
int section_rank(std::uint8_t id) {
  static constexpr int rank[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 10};
  return rank[id];
}

class Decoder {
 public:
  explicit Decoder(ModuleData& m) : m_(m) {}

  Result<void> decode() {
    const auto& bytes = m_.bytes;
    Reader r(bytes, 0, bytes.size());
    if (bytes.size() < 4) return fail_at(0, "unexpected end: no magic header");
    if (std::memcmp(bytes.data(), "\0asm", 4) != 0) return fail_at(0, "magic header not detected");
    if (bytes.size() < 8) return fail_at(4, "unexpected end: no version");
    if (std::memcmp(bytes.data() + 4, "\1\0\0\0", 4) != 0) return fail_at(4, "unknown binary version");
    r.seek(8);
    int last_rank = 0;
    std::uint32_t function_count = 0;
    bool have_function_section = false, have_code_section = false;
    while (!r.at_end()) {
      const std::size_t section_start = r.pos();
      const std::uint8_t id = SPECTRUM_TRY(r.u8());
      if (id > 12) return fail_at(section_start, "malformed section id");
      const std::uint32_t size = SPECTRUM_TRY(r.u32());
      const std::size_t begin = r.pos();
      if (size > r.remaining()) return fail_at(begin, "section size out of bounds: unexpected end");
      const std::size_t end = begin + size;
      if (id != 0) {
        const int rank = section_rank(id);
        if (rank <= last_rank)
          return fail_at(section_start, std::string("unexpected content after last section: ") +
                                            section_name(id) + " section out of order or duplicated");
        last_rank = rank;
      }
      Reader s(bytes, begin, end);
      SectionInfo info{id, section_name(id), static_cast<std::uint32_t>(begin), size};
      switch (id) {
        case 0: {
          info.name = SPECTRUM_TRY(s.name());
          if (info.name == "name") read_names(Reader(bytes, s.pos(), end));
          s.seek(end);
          break;
        }
        case 1:
          SPECTRUM_TRY(types(s));
          break;
        case 2:
          SPECTRUM_TRY(imports(s));
          break;
        case 3: {
          have_function_section = true;
          const std::uint32_t n = SPECTRUM_TRY(count(s, 1));
          function_count = n;
          for (std::uint32_t i = 0; i < n; ++i) {
            const std::size_t at = s.pos();
            const std::uint32_t t = SPECTRUM_TRY(s.u32());
            if (t >= m_.types.size()) return fail_at(at, "unknown type");
            m_.func_types.push_back(t);
          }
          break;
        }
        case 4: {
          const std::uint32_t n = SPECTRUM_TRY(count(s, 2));
          for (std::uint32_t i = 0; i < n; ++i) m_.tables.push_back(SPECTRUM_TRY(table_type(s)));
          break;
        }
        case 5: {
          const std::uint32_t n = SPECTRUM_TRY(count(s, 1));
          for (std::uint32_t i = 0; i < n; ++i) m_.memories.push_back(SPECTRUM_TRY(memory_type(s)));
          break;
        }
        case 6: {
          const std::uint32_t n = SPECTRUM_TRY(count(s, 3));
          for (std::uint32_t i = 0; i < n; ++i) {
            GlobalDef g;
            g.type = SPECTRUM_TRY(global_type(s));
            g.init = SPECTRUM_TRY(const_expr(s));
            m_.globals.push_back(g.type);
            m_.global_defs.push_back(g);
          }
          break;
        }
        case 7: {
          const std::uint32_t n = SPECTRUM_TRY(count(s, 2));
          for (std::uint32_t i = 0; i < n; ++i) {
            ExportInfo e;
            e.name = SPECTRUM_TRY(s.name());
            const std::size_t at = s.pos();
            const std::uint8_t kind = SPECTRUM_TRY(s.u8());
            if (kind > 3) return fail_at(at, "malformed export kind");
            e.kind = static_cast<ExternKind>(kind);
            e.index = SPECTRUM_TRY(s.u32());
            m_.exports.push_back(std::move(e));
          }
          break;
        }
        case 8:
          m_.start = SPECTRUM_TRY(s.u32());
          break;
        case 9:
          SPECTRUM_TRY(elements(s));
          break;
        case 10: {
          have_code_section = true;
          const std::size_t at = s.pos();
          const std::uint32_t n = SPECTRUM_TRY(count(s, 1));
          if (n != function_count) return fail_at(at, "function and code section have inconsistent lengths");
          for (std::uint32_t i = 0; i < n; ++i) SPECTRUM_TRY(body(s));
          break;
        }
        case 11: {
          const std::size_t at = s.pos();
          const std::uint32_t n = SPECTRUM_TRY(count(s, 1));
          if (m_.data_count && *m_.data_count != n)
            return fail_at(at, "data count and data section have inconsistent lengths");
          for (std::uint32_t i = 0; i < n; ++i) SPECTRUM_TRY(data(s));
          break;
        }
        case 12:
          m_.data_count = SPECTRUM_TRY(s.u32());
          break;
      }
      if (s.pos() != end) return fail_at(s.pos(), "section size mismatch");
      m_.sections.push_back(std::move(info));
      r.seek(end);
    }
    if (have_function_section != have_code_section && function_count != 0)
      return fail_at(r.pos(), "function and code section have inconsistent lengths");
    if (m_.data_count && *m_.data_count != 0 && m_.datas.size() != *m_.data_count)
      return fail_at(r.pos(), "data count and data section have inconsistent lengths");
    return {};
  }

 private:
  // A vector length, checked against the bytes left (each element takes at least min_size bytes)
  // so that a huge count fails as malformed instead of allocating.
  Result<std::uint32_t> count(Reader& s, std::size_t min_size) {
    const std::size_t at = s.pos();
    const std::uint32_t n = SPECTRUM_TRY(s.u32());
    if (static_cast<std::uint64_t>(n) * min_size > s.remaining())
      return fail_at(at, "length out of bounds: unexpected end of section or function");
    return n;
  }

  Result<ValType> val_type(Reader& s) {
    const std::size_t at = s.pos();
    const std::uint8_t b = SPECTRUM_TRY(s.u8());
    switch (b) {
      case 0x7F:
      case 0x7E:
      case 0x7D:
      case 0x7C:
      case 0x70:
      case 0x6F:
        return static_cast<ValType>(b);
      case 0x7B:
        m_.uses_v128 = true;
        return ValType::v128;
      default:
        return fail_at(at, "malformed value type");
    }
  }
  Result<ValType> ref_type(Reader& s) {
    const std::size_t at = s.pos();
    const std::uint8_t b = SPECTRUM_TRY(s.u8());
    if (b != 0x70 && b != 0x6F) return fail_at(at, "malformed reference type");
    return static_cast<ValType>(b);
  }

  Result<void> types(Reader& s) {
    const std::uint32_t n = SPECTRUM_TRY(count(s, 3));
    for (std::uint32_t i = 0; i < n; ++i) {
      const std::size_t at = s.pos();
      if (SPECTRUM_TRY(s.u8()) != 0x60) return fail_at(at, "malformed function type (expected 0x60)");
      FuncType t;
      const std::uint32_t np = SPECTRUM_TRY(count(s, 1));
      for (std::uint32_t k = 0; k < np; ++k) t.params.push_back(SPECTRUM_TRY(val_type(s)));
      const std::uint32_t nr = SPECTRUM_TRY(count(s, 1));
      for (std::uint32_t k = 0; k < nr; ++k) t.results.push_back(SPECTRUM_TRY(val_type(s)));
      m_.types.push_back(std::move(t));
    }
    return {};
  }

  Result<Limits> limits(Reader& s, std::uint64_t bound, const char* what) {
    const std::size_t at = s.pos();
    const std::uint8_t flag = SPECTRUM_TRY(s.u8());
    // The flags are a one-bit LEB128 to the reference decoder: a continuation bit makes it too long.
    if (flag & 0x80) return fail_at(at, "integer representation too long: malformed limits flags");
    if (flag > 1) return fail_at(at, "integer too large: malformed limits flags");
    Limits l;
    const std::size_t min_at = s.pos();
    l.min = SPECTRUM_TRY(s.u32());
    if (flag == 1) l.max = SPECTRUM_TRY(s.u32());
    (void)bound;
    (void)what;
    (void)min_at;
    return l;
  }
  Result<TableType> table_type(Reader& s) {
    TableType t;
    t.element = SPECTRUM_TRY(ref_type(s));
    t.limits = SPECTRUM_TRY(limits(s, 0xFFFFFFFFull, "table"));
    return t;
  }
  Result<MemoryType> memory_type(Reader& s) {
    MemoryType t;
    t.limits = SPECTRUM_TRY(limits(s, kMaxPages, "memory"));
    return t;
  }
  Result<GlobalType> global_type(Reader& s) {
    GlobalType g;
    g.type = SPECTRUM_TRY(val_type(s));
    const std::size_t at = s.pos();
    const std::uint8_t mut = SPECTRUM_TRY(s.u8());
    if (mut > 1) return fail_at(at, "malformed mutability");
    g.mutable_ = mut == 1;
    return g;
  }

  Result<void> imports(Reader& s) {
    const std::uint32_t n = SPECTRUM_TRY(count(s, 4));
    for (std::uint32_t i = 0; i < n; ++i) {
      ImportInfo imp;
      imp.module = SPECTRUM_TRY(s.name());
      imp.name = SPECTRUM_TRY(s.name());
      const std::size_t at = s.pos();
      const std::uint8_t kind = SPECTRUM_TRY(s.u8());
      std::uint32_t type_index = 0;
      switch (kind) {
        case 0: {
          const std::size_t tat = s.pos();
          type_index = SPECTRUM_TRY(s.u32());
          if (type_index >= m_.types.size()) return fail_at(tat, "unknown type");
          imp.func = m_.types[type_index];
          m_.func_types.push_back(type_index);
          ++m_.imported_funcs;
          break;
        }
        case 1:
          imp.table = SPECTRUM_TRY(table_type(s));
          m_.tables.push_back(imp.table);
          ++m_.imported_tables;
          break;
        case 2:
          imp.memory = SPECTRUM_TRY(memory_type(s));
          m_.memories.push_back(imp.memory);
          ++m_.imported_memories;
          break;
        case 3:
          imp.global = SPECTRUM_TRY(global_type(s));
          m_.globals.push_back(imp.global);
          ++m_.imported_globals;
          break;
        default:
          return fail_at(at, "malformed import kind");
      }
      imp.kind = static_cast<ExternKind>(kind);
      m_.imports.push_back(std::move(imp));
      m_.import_type_index.push_back(type_index);
    }
    return {};
  }

  Result<ConstExpr> const_expr(Reader& s) {
    ConstExpr e;
    e.offset = static_cast<std::uint32_t>(s.pos());
    const std::size_t at = s.pos();
    const std::uint8_t op = SPECTRUM_TRY(s.u8());
    switch (op) {
      case 0x41:
        e.kind = ConstExpr::Kind::i32_const;
        e.type = ValType::i32;
        e.bits = static_cast<std::uint32_t>(SPECTRUM_TRY(s.s32()));
        break;
      case 0x42:
        e.kind = ConstExpr::Kind::i64_const;
        e.type = ValType::i64;
        e.bits = static_cast<std::uint64_t>(SPECTRUM_TRY(s.s64()));
        break;
      case 0x43:
        e.kind = ConstExpr::Kind::f32_const;
        e.type = ValType::f32;
        e.bits = SPECTRUM_TRY(s.f32_bits());
        break;
      case 0x44:
        e.kind = ConstExpr::Kind::f64_const;
        e.type = ValType::f64;
        e.bits = SPECTRUM_TRY(s.f64_bits());
        break;
      case 0xD0:
        e.kind = ConstExpr::Kind::ref_null;
        e.type = SPECTRUM_TRY(ref_type(s));
        break;
      case 0xD2:
        e.kind = ConstExpr::Kind::ref_func;
        e.type = ValType::funcref;
        e.index = SPECTRUM_TRY(s.u32());
        break;
      case 0x23:
        e.kind = ConstExpr::Kind::global_get;
        e.index = SPECTRUM_TRY(s.u32());
        break;
      case 0x0B:
        return fail_at(at, "type mismatch: empty constant expression");
      case 0xFD: {
        if (SPECTRUM_TRY(s.u32()) != 12) return fail_at(at, "constant expression required");
        e.kind = ConstExpr::Kind::v128_const;
        e.type = ValType::v128;
        for (int i = 0; i < 16; ++i) {
          const std::uint64_t byte = SPECTRUM_TRY(s.u8());
          (i < 8 ? e.bits : e.bits_hi) |= byte << (8 * (i % 8));
        }
        break;
      }
      default:
        return fail_at(at, "constant expression required");
    }
    const std::size_t end_at = s.pos();
    const std::uint8_t end = SPECTRUM_TRY(s.u8());
    if (end != 0x0B) {
      if (end == 0x41 || end == 0x42 || end == 0x43 || end == 0x44 || end == 0x23 || end == 0xD0 ||
          end == 0xD2 || end == 0xFD)
        return fail_at(end_at, "type mismatch: constant expression has more than one value");
      return fail_at(end_at, "constant expression required");
    }
    return e;
  }

  Result<std::uint32_t> func_index_vector_item(Reader& s) { return s.u32(); }

  Result<void> elements(Reader& s) {
    const std::uint32_t n = SPECTRUM_TRY(count(s, 1));
    for (std::uint32_t i = 0; i < n; ++i) {
      ElemSegment seg;
      seg.position = static_cast<std::uint32_t>(s.pos());
      const std::size_t at = s.pos();
      const std::uint32_t flags = SPECTRUM_TRY(s.u32());
      if (flags > 7) return fail_at(at, "malformed elements segment kind");
      const bool passive_or_declarative = flags & 1;
      const bool explicit_table = flags & 2;
      const bool expressions = flags & 4;
      if (!passive_or_declarative) {
        seg.mode = SegmentMode::active;
        if (explicit_table) seg.table = SPECTRUM_TRY(s.u32());
        seg.offset = SPECTRUM_TRY(const_expr(s));
      } else {
        seg.mode = explicit_table ? SegmentMode::declarative : SegmentMode::passive;
      }
      // Flags 0 and 4 imply funcref; the others spell out elemkind (0x00) or a reference type.
      if (flags & 3) {
        if (expressions) {
          seg.type = SPECTRUM_TRY(ref_type(s));
        } else {
          const std::size_t kat = s.pos();
          if (SPECTRUM_TRY(s.u8()) != 0x00) return fail_at(kat, "malformed element kind");
          seg.type = ValType::funcref;
        }
      }
      const std::uint32_t items = SPECTRUM_TRY(count(s, 1));
      for (std::uint32_t k = 0; k < items; ++k) {
        if (expressions) {
          seg.items.push_back(SPECTRUM_TRY(const_expr(s)));
        } else {
          ConstExpr e;
          e.offset = static_cast<std::uint32_t>(s.pos());
          e.kind = ConstExpr::Kind::ref_func;
          e.type = ValType::funcref;
          e.index = SPECTRUM_TRY(s.u32());
          seg.items.push_back(e);
        }
      }
      m_.elems.push_back(std::move(seg));
    }
    return {};
  }

  Result<void> data(Reader& s) {
    DataSegment seg;
    seg.position = static_cast<std::uint32_t>(s.pos());
    const std::size_t at = s.pos();
    const std::uint32_t flags = SPECTRUM_TRY(s.u32());
    if (flags > 2) return fail_at(at, "malformed data segment kind");
    if (flags == 1) {
      seg.mode = SegmentMode::passive;
    } else {
      if (flags == 2) seg.memory = SPECTRUM_TRY(s.u32());
      seg.offset = SPECTRUM_TRY(const_expr(s));
    }
    const std::size_t lat = s.pos();
    const std::uint32_t len = SPECTRUM_TRY(s.u32());
    if (len > s.remaining())
      return fail_at(lat, "unexpected end of section or function: data segment length out of bounds");
    seg.begin = static_cast<std::uint32_t>(s.pos());
    seg.end = seg.begin + len;
    s.seek(seg.end);
    m_.datas.push_back(seg);
    return {};
  }

  Result<void> body(Reader& s) {
    FunctionBody b;
    b.position = static_cast<std::uint32_t>(s.pos());
    const std::uint32_t size = SPECTRUM_TRY(s.u32());
    if (size > s.remaining())
      return fail_at(b.position, "unexpected end of section or function: body size out of bounds");
    const std::size_t end = s.pos() + size;
    Reader r(m_.bytes, s.pos(), end);
    const std::uint32_t groups = SPECTRUM_TRY(count(r, 2));
    std::uint64_t total = 0;
    for (std::uint32_t g = 0; g < groups; ++g) {
      const std::size_t at = r.pos();
      const std::uint32_t n = SPECTRUM_TRY(r.u32());
      total += n;
      if (total > kMaxLocals) return fail_at(at, "too many locals");
      const ValType t = SPECTRUM_TRY(val_type(r));
      if (n) b.local_groups.emplace_back(n, t);
    }
    b.local_count = static_cast<std::uint32_t>(total);
    b.code_begin = static_cast<std::uint32_t>(r.pos());
    b.code_end = static_cast<std::uint32_t>(end);
    if (b.code_begin >= b.code_end || m_.bytes[end - 1] != 0x0B)
      return fail_at(end > 0 ? end - 1 : 0, "END opcode expected: unexpected end of section or function");
    m_.bodies.push_back(std::move(b));
    s.seek(end);
    return {};
  }

  // The name section is advisory: a malformed one is ignored, never an error.
  void read_names(Reader r) {
    while (!r.at_end()) {
      auto id = r.u8();
      auto size = r.u32();
      if (!id || !size || *size > r.remaining()) return;
      const std::size_t end = r.pos() + *size;
      if (*id == 1) {
        Reader f(std::span<const std::uint8_t>(r.data(), end), r.pos(), end);
        auto n = f.u32();
        if (!n) return;
        for (std::uint32_t i = 0; i < *n; ++i) {
          auto index = f.u32();
          if (!index) return;
          auto name = f.name();
          if (!name) return;
          m_.function_names[*index] = std::move(*name);
        }
      }
      r.seek(end);
    }
  }

  ModuleData& m_;
};

}  // namespace

Result<ModuleData> decode_module(std::span<const std::uint8_t> bytes) {
  ModuleData m;
  m.bytes.assign(bytes.begin(), bytes.end());
  Decoder d(m);
  SPECTRUM_TRY(d.decode());
  return m;
}

}  // namespace spectrum::wasm
