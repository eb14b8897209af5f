/* The KVM ABI as the kernel's C sees it: compiled as C (not C++) into the vm unit tests, which
   compare every value with src/vm/kvm_abi.h. In C the empty struct inside __DECLARE_FLEX_ARRAY
   has size 0, so these are the numbers and offsets the kernel itself uses. */
#include <asm/sigcontext.h>
#include <linux/kvm.h>
#include <stddef.h>

#include "kvm_abi_c.h"

#define VALUE(x) {#x, (unsigned long)(x)}
#define SIZE(t) {"sizeof " #t, sizeof(t)}
#define OFFSET(t, f) {"offsetof " #t "." #f, offsetof(t, f)}

const struct kvm_abi_c_value kvm_abi_c_values[] = {
    VALUE(KVM_GET_SUPPORTED_CPUID),
    VALUE(KVM_GET_EMULATED_CPUID),
    VALUE(KVM_SET_CPUID),
    VALUE(KVM_SET_CPUID2),
    VALUE(KVM_GET_CPUID2),
    VALUE(KVM_GET_MSRS),
    VALUE(KVM_SET_MSRS),
    VALUE(KVM_GET_MSR_INDEX_LIST),
    VALUE(KVM_SET_GSI_ROUTING),
    VALUE(KVM_SET_SIGNAL_MASK),
    VALUE(KVM_GET_API_VERSION),
    VALUE(KVM_CREATE_VM),
    VALUE(KVM_CHECK_EXTENSION),
    VALUE(KVM_GET_VCPU_MMAP_SIZE),
    VALUE(KVM_CREATE_VCPU),
    VALUE(KVM_SET_USER_MEMORY_REGION),
    VALUE(KVM_RUN),
    VALUE(KVM_GET_REGS),
    VALUE(KVM_SET_REGS),
    VALUE(KVM_GET_SREGS),
    VALUE(KVM_SET_SREGS),
    VALUE(KVM_GET_XCRS),
    VALUE(KVM_SET_XCRS),
    VALUE(KVM_GET_XSAVE),
    VALUE(KVM_SET_XSAVE),
    SIZE(struct kvm_xsave),
    /* The signal frame's FP state (src/vm/arch/fp_state.h). */
    VALUE(FP_XSTATE_MAGIC1),
    VALUE(FP_XSTATE_MAGIC2),
    SIZE(struct _fpx_sw_bytes),
    OFFSET(struct _fpstate_64, sw_reserved),
    OFFSET(struct _fpstate_64, mxcsr),
    OFFSET(struct _fpstate_64, xmm_space),
    OFFSET(struct _fpx_sw_bytes, extended_size),
    OFFSET(struct _fpx_sw_bytes, xfeatures),
    OFFSET(struct _fpx_sw_bytes, xstate_size),
    SIZE(struct kvm_cpuid2),
    SIZE(struct kvm_cpuid),
    SIZE(struct kvm_msrs),
    SIZE(struct kvm_msr_list),
    SIZE(struct kvm_irq_routing),
    SIZE(struct kvm_signal_mask),
    SIZE(struct kvm_coalesced_mmio_ring),
    SIZE(struct kvm_cpuid_entry2),
    SIZE(struct kvm_msr_entry),
    SIZE(struct kvm_regs),
    SIZE(struct kvm_sregs),
    SIZE(struct kvm_xcrs),
    SIZE(struct kvm_userspace_memory_region),
    SIZE(struct kvm_segment),
    SIZE(struct kvm_run),
    OFFSET(struct kvm_cpuid2, entries),
    OFFSET(struct kvm_msrs, entries),
    OFFSET(struct kvm_coalesced_mmio_ring, coalesced_mmio),
    OFFSET(struct kvm_run, immediate_exit),
    OFFSET(struct kvm_run, exit_reason),
    OFFSET(struct kvm_run, io),
    OFFSET(struct kvm_run, kvm_valid_regs),
    OFFSET(struct kvm_run, kvm_dirty_regs),
    OFFSET(struct kvm_run, s),
    OFFSET(struct kvm_run, s.regs.regs),
    OFFSET(struct kvm_run, s.regs.sregs),
    {0, 0},
};
