// Loading the compiler library (libspectrum-wasm-llvm.so) with dlopen, for dynamically linked
// executables: spectrum-llvm, the engine's tools and tests. The static spectrum links
// native_library_static.cc instead, so that glibc's static dlopen is never linked into it.
#include <dlfcn.h>
#include <elf.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <string>
#include <vector>

#include "wasm/native.h"

extern "C" __attribute__((weak)) Elf64_Dyn _DYNAMIC[];

namespace spectrum::wasm {

namespace {

// The library sits beside the executable (build tree: build/src/wasm/llvm/, installed: next to
// spectrum or in ../lib); SPECTRUM_WASM_LLVM names it explicitly.
std::vector<std::string> candidates() {
  std::vector<std::string> out;
  if (const char* env = std::getenv("SPECTRUM_WASM_LLVM"); env && *env) {
    out.emplace_back(env);
    return out;
  }
  char exe[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  std::string dir = ".";
  if (n > 0) {
    exe[n] = '\0';
    dir = exe;
    dir.resize(dir.rfind('/'));
  }
  const char* name = "libspectrum-wasm-llvm.so";
  out.push_back(dir + "/" + name);
  out.push_back(dir + "/../lib/" + name);
  // Test and tool executables live in build/tests/..., build/src/... next to the build's src/.
  for (std::string up = dir; up.size() > 1; up.resize(up.rfind('/'))) {
    out.push_back(up + "/src/wasm/llvm/" + name);
    if (up.rfind('/') == std::string::npos || up.rfind('/') == 0) break;
  }
  return out;
}

}  // namespace

const NativeApi* load_compiler_library(std::string* error) {
  if (_DYNAMIC == nullptr) {
    *error = kStaticExecutableCannotLoad;
    return nullptr;
  }
  void* handle = nullptr;
  std::string tried;
  for (const std::string& path : candidates()) {
    if (::access(path.c_str(), R_OK) != 0) {
      tried += (tried.empty() ? "" : ", ") + path;
      continue;
    }
    handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      *error = std::string("cannot load the wasm compiler: ") + ::dlerror();
      return nullptr;
    }
    break;
  }
  if (!handle) {
    *error = "the wasm compiler library libspectrum-wasm-llvm.so is not installed (looked for " + tried + ")";
    return nullptr;
  }
  using GetApi = const NativeApi* (*)();
  auto get = reinterpret_cast<GetApi>(::dlsym(handle, "spectrum_wasm_native_api"));
  const NativeApi* api = get ? get() : nullptr;
  if (!api || api->version != kNativeApiVersion) {
    *error = "the wasm compiler library does not match this spectrum (API version)";
    return nullptr;
  }
  return api;
}

}  // namespace spectrum::wasm
