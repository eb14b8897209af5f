// The vm handler: the bundle's process run as the guest program of the vm tier's KVM monitor,
// with the container's root filesystem as the guest's (container/handler.h). Linked into
// `spectrum` only, not spectrum-oci.
#pragma once

#include "container/handler.h"

namespace spectrum::container {
const InPlaceRun& vm_in_place();
}  // namespace spectrum::container
