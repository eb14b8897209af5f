// The wasm handler: a WASI module of the bundle's root filesystem run by the wasm tier's engine
// inside a container (container/handler.h). Linked into `spectrum` only, not spectrum-oci.
#pragma once

#include "container/handler.h"

namespace spectrum::container {
const InPlaceRun& wasm_in_place();
}  // namespace spectrum::container
