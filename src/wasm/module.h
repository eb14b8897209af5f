// The decoded form of a module: what the decoder produces, the validator checks and the runtime
// instantiates. Function bodies stay as byte ranges of the module's own copy of the file; the
// validator and the compiler each walk them once.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "wasm/engine.h"

namespace spectrum::wasm {

// A constant expression (global initialisers, segment offsets, element items). Wasm 2.0 allows
// exactly one instruction of these kinds before `end`.
struct ConstExpr {
  enum class Kind : std::uint8_t {
    i32_const,
    i64_const,
    f32_const,
    f64_const,
    v128_const,
    ref_null,
    ref_func,
    global_get
  };
  Kind kind = Kind::i32_const;
  std::uint64_t bits = 0;       // the constant (a v128's low half)
  std::uint64_t bits_hi = 0;    // a v128's high half
  std::uint32_t index = 0;      // function (ref_func) or global (global_get)
  ValType type = ValType::i32;  // ref_null's type
  std::uint32_t offset = 0;     // byte offset of the expression, for errors
};

enum class SegmentMode : std::uint8_t { active, passive, declarative };

struct ElemSegment {
  SegmentMode mode = SegmentMode::active;
  std::uint32_t table = 0;
  ConstExpr offset;
  ValType type = ValType::funcref;
  std::vector<ConstExpr> items;
  std::uint32_t position = 0;
};

struct DataSegment {
  SegmentMode mode = SegmentMode::active;
  std::uint32_t memory = 0;
  ConstExpr offset;
  std::uint32_t begin = 0, end = 0;  // the bytes, as a range of ModuleData::bytes
  std::uint32_t position = 0;
};

struct FunctionBody {
  std::vector<std::pair<std::uint32_t, ValType>> local_groups;  // as declared (count, type)
  std::uint32_t local_count = 0;                                // declared locals, params excluded
  std::uint32_t code_begin = 0, code_end = 0;                   // instructions incl. the final end
  std::uint32_t position = 0;                                   // the body's byte offset (its size)
};

struct GlobalDef {
  GlobalType type;
  ConstExpr init;
};

struct ModuleData {
  std::vector<std::uint8_t> bytes;  // the whole file; bodies and data refer into it

  std::vector<FuncType> types;
  std::vector<ImportInfo> imports;
  std::vector<std::uint32_t> import_type_index;  // for function imports, parallel to imports (else 0)

  // Index spaces, imports first.
  std::vector<std::uint32_t> func_types;  // type index of every function
  std::vector<TableType> tables;
  std::vector<MemoryType> memories;
  std::vector<GlobalType> globals;
  std::uint32_t imported_funcs = 0, imported_tables = 0, imported_memories = 0, imported_globals = 0;

  std::vector<GlobalDef> global_defs;  // defined globals, after the imported ones
  std::vector<ExportInfo> exports;
  std::optional<std::uint32_t> start;
  std::vector<ElemSegment> elems;
  std::vector<DataSegment> datas;
  std::optional<std::uint32_t> data_count;
  std::vector<FunctionBody> bodies;  // defined functions, after the imported ones

  // A v128 appears in a type, an import, a global or a local (the translator then asks the
  // validator for the types of drop and select, see v128_operand_sites).
  bool uses_v128 = false;

  std::vector<SectionInfo> sections;
  // The compiled engine's code for this module (guarded, checked), made on first instantiation.
  mutable std::shared_ptr<struct NativeModule> native_code[2];
  std::unordered_map<std::uint32_t, std::string> function_names;  // name section

  const FuncType& func_type(std::uint32_t func_index) const { return types[func_types[func_index]]; }
};

// Validates the whole module (types of every body, constant expressions, indices, exports).
Result<void> validate_module(const ModuleData& module);
Result<ModuleData> decode_module(std::span<const std::uint8_t> bytes);
// The byte offsets of the drop and untyped select instructions of a valid function (index in the
// module's function space) whose operands are v128, ascending.
std::vector<std::uint32_t> v128_operand_sites(const ModuleData& module, std::uint32_t func_index);

}  // namespace spectrum::wasm
