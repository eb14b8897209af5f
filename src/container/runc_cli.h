#pragma once
#include "container/handler.h"
namespace spectrum::container {
// Verbs a runc-compatible client (containerd's shim, podman) may call, and the global flags it
// may put before them. The CLI hands the whole argv here when it sees one.
bool is_runc_verb(const char* word);
bool is_runc_global_flag(const char* word);
// The runc-compatible command line: argv as given to spectrum (argv[0] is the binary; named
// spectrum-wasm, spectrum-vm or spectrum-sandbox it selects that handler). `handlers`: the tiers
// besides the container that this binary carries.
int runc_main(int argc, char** argv, const HandlerSet& handlers = {});
}  // namespace spectrum::container
