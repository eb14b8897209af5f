/* The guest kernel's raw image, embedded into the monitor. */
	.section .rodata
	.balign 4096
	.globl spectrum_guest_kernel_start
spectrum_guest_kernel_start:
	.incbin SPECTRUM_GUEST_KERNEL_BIN
	.globl spectrum_guest_kernel_end
spectrum_guest_kernel_end:
	.section .note.GNU-stack,"",@progbits
