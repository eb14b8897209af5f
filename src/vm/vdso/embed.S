/* The guest's vDSO image (guest_vdso.c, linked by CMake), embedded into the monitor. */
	.section .rodata
	.balign 4096
	.globl spectrum_guest_vdso_start
spectrum_guest_vdso_start:
	.incbin SPECTRUM_GUEST_VDSO_SO
	.globl spectrum_guest_vdso_end
spectrum_guest_vdso_end:
	.section .note.GNU-stack,"",@progbits
