// Code generation and loading (jit.cc), shared with the artifact code (artifact.cc).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "wasm/llvm/compiler.h"

namespace spectrum::wasm {

// Changes whenever the translation or the helpers' contract changes: artifacts of another version
// are recompiled.
inline constexpr const char* kEngineVersion = "spectrum-wasmc/1";

// The engine's identity: version, LLVM, target triple, CPU and its features (artifacts are keyed by it).
const std::string& engine_id();
// Translates, optimizes and compiles a module to an ELF object.
bool compile_object(const ModuleData& module, bool checked, std::vector<std::uint8_t>* object,
                    std::string* error);
// Links an object made by compile_object for this module into the process.
std::shared_ptr<NativeModule> load_object(const ModuleData& module, const std::vector<std::uint8_t>& object,
                                          std::string* error);

}  // namespace spectrum::wasm
