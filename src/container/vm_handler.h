// The vm handler: the bundle's process run as the guest program of the vm tier's KVM monitor,
// with the container's root filesystem as the guest's (container/handler.h); and the sandbox
// handler, the same monitor on the sandbox tier's ptrace platform (no /dev/kvm). Linked into
// `spectrum` only, not spectrum-oci.
#pragma once

#include "container/handler.h"

namespace spectrum::container {
const InPlaceRun& vm_in_place();
const InPlaceRun& sandbox_in_place();
}  // namespace spectrum::container
