// The static spectrum's side of loading the compiler library: glibc cannot dlopen a library that
// needs libstdc++ and libLLVM into a static process (its constructors crash), so a static
// spectrum never loads it and has spectrum-llvm compile instead (compile_with_helper). Linked
// into the static executable ahead of the engine's archive, this definition keeps
// native_library.cc, and glibc's static dlopen with its link-time warning, out of it.
#include <string>

#include "wasm/native.h"

namespace spectrum::wasm {

const NativeApi* load_compiler_library(std::string* error) {
  *error = kStaticExecutableCannotLoad;
  return nullptr;
}

}  // namespace spectrum::wasm
