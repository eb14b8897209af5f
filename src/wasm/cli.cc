#include "wasm/cli.h"

#include <cstdio>

namespace spectrum::wasm {
int cli_main(int, char**) {
  std::fputs("spectrum: error: the WebAssembly engine is not built yet\n", stderr);
  return 125;
}
}  // namespace spectrum::wasm
