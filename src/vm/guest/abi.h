/* The contract between the monitor and our guest kernel: guest-physical layout of the kernel area,
 * the offsets of the kernel's entry points and the hypercall ports. Plain #defines because the
 * guest kernel (GNU as through cpp) includes it too.
 *
 * The kernel area is identity-mapped, supervisor-only, in the first 2 MiB of guest memory; user
 * memory (ELF, stack, heap, mmap) lives above it, mapped by the monitor at 4 KiB granularity. */
#ifndef SPECTRUM_VM_GUEST_ABI_H
#define SPECTRUM_VM_GUEST_ABI_H

#define GUEST_GDT_ADDR 0x1000
#define GUEST_IDT_ADDR 0x2000
#define GUEST_TSS_ADDR 0x3000
#define GUEST_KSTACK_BOTTOM 0x4000
#define GUEST_KSTACK_TOP 0x8000   /* TSS.RSP0: exception frames land just below */
#define GUEST_DF_STACK_TOP 0xA000 /* TSS.IST1: double faults get a stack of their own */
#define GUEST_KERNEL_ADDR 0x10000 /* the kernel image is linked and loaded here */
#define GUEST_KERNEL_MAX_SIZE 0x10000
#define GUEST_KERNEL_AREA_END 0x200000 /* first byte the monitor hands out to user memory */

/* Entry points, as offsets into the kernel image (pinned with .org in kernel.S). */
#define GUEST_VECTOR_STUB_SIZE 16     /* vectors 0..31, one stub each, at offset vector*16 */
#define GUEST_OFFSET_ENTER_USER 0x200 /* iretq through the frame the monitor prepared */
#define GUEST_OFFSET_SYSCALL 0x210    /* LSTAR */

/* Hypercall ports (out %al, $port). The request is the vCPU's registers plus, for exceptions, the
 * frame the CPU pushed on the kernel stack; the port number says which request it is. */
#define HC_PORT_SYSCALL 0x10        /* hardware KVM: syscall entered ring 0 at LSTAR */
#define HC_PORT_EXCEPTION_BASE 0x20 /* + vector (0..31); vector 14 also carries kvm_pvm syscalls */

/* Selectors of the GDT the monitor writes. The order suits STAR: syscall loads CS=0x08 SS=0x10,
 * sysretq loads SS=0x18+8 and CS=0x18+16 (both with RPL 3). */
#define GUEST_SEL_KERNEL_CODE 0x08
#define GUEST_SEL_KERNEL_DATA 0x10
#define GUEST_SEL_USER_CODE32 0x18
#define GUEST_SEL_USER_DATA 0x20
#define GUEST_SEL_USER_CODE 0x28
#define GUEST_SEL_TSS 0x30

#endif
