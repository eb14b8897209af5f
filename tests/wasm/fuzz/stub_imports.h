// The fuzz targets' linker: every import of a generated module resolved to a stub (functions that
// return zeros, fresh tables, memories and globals of the imported type). False when an import
// cannot be made (a memory or table over the store's limits): the input is then skipped.
#pragma once

#include <cstddef>
#include <cstdint>

#include "wasm/engine.h"

namespace spectrum::wasm {

inline bool stub_imports(const Module& module, Store& store, Linker& linker) {
  for (const ImportInfo& imp : module.imports()) {
    Extern e;
    e.kind = imp.kind;
    switch (imp.kind) {
      case ExternKind::func: {
        std::size_t results = 0;  // slots: two per v128
        for (ValType t : imp.func.results) results += t == ValType::v128 ? 2 : 1;
        linker.define_function(store, imp.module, imp.name, imp.func,
                               [results](HostCall&, const std::uint64_t*, std::uint64_t* out) {
                                 for (std::size_t i = 0; i < results; ++i) out[i] = 0;
                                 return HostResult::ok();
                               });
        continue;
      }
      case ExternKind::table: {
        if (imp.table.limits.min > 1000) return false;
        auto table = store.create_table(imp.table);
        if (!table) return false;
        e.table = *table;
        break;
      }
      case ExternKind::memory: {
        auto memory = store.create_memory(imp.memory);
        if (!memory) return false;
        e.memory = *memory;
        break;
      }
      case ExternKind::global:
        e.global = store.create_global(imp.global, 0);
        break;
    }
    linker.define(imp.module, imp.name, e);
  }
  return true;
}

}  // namespace spectrum::wasm
