#pragma once
namespace spectrum::wasm {
// `spectrum wasm validate|inspect FILE`: argv starts at "wasm".
int cli_main(int argc, char** argv);
}  // namespace spectrum::wasm
