	.text
	out %al, $0x10
	int3
	sysretq
