// Long mode without firmware: the monitor writes the GDT, IDT, TSS and kernel image into guest
// memory and computes the vCPU's initial state. Independent of KVM's structures (kvm.cc converts),
// so the layout is checked by tests on hosts without /dev/kvm.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/error.h"
#include "vm/memory.h"

namespace spectrum::vm {

// The guest kernel image linked into this binary (src/vm/guest/kernel.S).
std::span<const std::uint8_t> guest_kernel_image();

// Kernel-area ranges to identity-map (supervisor only).
std::vector<AddressSpace::KernelRange> kernel_area_ranges();

struct Segment {
  std::uint64_t base = 0;
  std::uint32_t limit = 0;
  std::uint16_t selector = 0;
  std::uint8_t type = 0, present = 0, dpl = 0, db = 0, s = 0, l = 0, g = 0;
};

struct VcpuState {
  std::uint64_t cr0 = 0, cr3 = 0, cr4 = 0, efer = 0;
  std::uint64_t gdt_base = 0, idt_base = 0;
  std::uint16_t gdt_limit = 0, idt_limit = 0;
  Segment cs, ds, es, fs, gs, ss, tr, ldt;
  std::uint64_t rip = 0, rsp = 0, rflags = 0;
  std::uint64_t star = 0, lstar = 0, fmask = 0;
  std::uint64_t xcr0 = 0;  // 0: leave XCR0 as it is
};

// Writes GDT, IDT, TSS and the kernel image; page tables must already be built (cr3).
Result<void> write_kernel_area(GuestMemory& memory);

// The state that starts the workload at `entry` with stack `user_rsp`: the vCPU begins in ring 0
// at the kernel's one-instruction `iretq` with an iret frame (prepared here on the kernel stack)
// that lands in ring 3.
Result<VcpuState> initial_vcpu_state(GuestMemory& memory, std::uint64_t cr3, std::uint64_t entry,
                                     std::uint64_t user_rsp);

}  // namespace spectrum::vm
