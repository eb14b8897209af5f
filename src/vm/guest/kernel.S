/* Spectrum's guest kernel: what is left for ring 0 once the monitor has done everything it can.
 *
 * The monitor builds the GDT, IDT, TSS and page tables, sets every register and MSR, and executes
 * the workload's system calls itself. Ring 0 is only entered by the CPU (exceptions, `syscall` on
 * hardware KVM) and leaves again at once: every instruction here costs ~2 us on kvm_pvm, where the
 * ring-0 instruction emulator runs it, so each path is as short as it can be:
 *   syscall, hardware KVM: out, sysretq                       (2 instructions)
 *   syscall, kvm_pvm (#PF at LSTAR in ring 3): out, iretq    (2 instructions; the monitor pops
 *                                                             the error code and rewrites the frame)
 *   start of the workload: iretq                             (1 instruction)
 * Allowed instructions only: no int3, xrstor, popcnt, clac/stac, cmpxchg16b (tests/vm checks). */
#include "abi.h"

	.code64
	.text
	.globl guest_kernel_start
guest_kernel_start:

/* Vectors 0..31: report the exception to the monitor. A fault the monitor cannot resolve ends the
 * run there; the hlt loop only guards against a monitor that resumes anyway. */
	.irp vector, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.org \vector * GUEST_VECTOR_STUB_SIZE, 0xf4 /* pad with hlt */
	out %al, $(HC_PORT_EXCEPTION_BASE + \vector)
	.if \vector == 14
	iretq   /* a kvm_pvm syscall: the monitor has already made the frame return to the caller */
	.else
1:	hlt
	jmp 1b
	.endif
	.endr

	.org GUEST_OFFSET_ENTER_USER, 0xf4
	iretq

	.org GUEST_OFFSET_SYSCALL, 0xf4
	out %al, $HC_PORT_SYSCALL
	sysretq
	.globl guest_kernel_end
guest_kernel_end:
