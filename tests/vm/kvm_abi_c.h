/* The table kvm_abi_c.c (compiled as C) fills with the kernel's KVM numbers, sizes and offsets. */
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

struct kvm_abi_c_value {
  const char* name;
  unsigned long value;
};
/* Ends with a NULL name. */
extern const struct kvm_abi_c_value kvm_abi_c_values[];

#ifdef __cplusplus
}
#endif
