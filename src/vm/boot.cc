#include "vm/boot.h"

#include <cstring>

#include "vm/guest/abi.h"
#include "vm/x86.h"

extern "C" const std::uint8_t spectrum_guest_kernel_start[];
extern "C" const std::uint8_t spectrum_guest_kernel_end[];

namespace spectrum::vm {

using namespace x86;

std::span<const std::uint8_t> guest_kernel_image() {
  return {spectrum_guest_kernel_start,
          static_cast<std::size_t>(spectrum_guest_kernel_end - spectrum_guest_kernel_start)};
}

std::vector<AddressSpace::KernelRange> kernel_area_ranges() {
  return {
      {GUEST_GDT_ADDR, GUEST_TSS_ADDR + kPageSize, false, false},  // GDT, IDT, TSS: read-only
      {GUEST_KSTACK_BOTTOM, GUEST_DF_STACK_TOP, true, false},      // kernel stacks
      {GUEST_KERNEL_ADDR, GUEST_KERNEL_ADDR + GUEST_KERNEL_MAX_SIZE, false, true},
  };
}

namespace {
constexpr std::uint64_t kGdtEntries = 8;  // null, kcode, kdata, ucode32, udata, ucode, tss (2)

template <class T>
Result<T*> place(GuestMemory& memory, std::uint64_t gpa, std::size_t count = 1) {
  auto* p = memory.at(gpa, sizeof(T) * count);
  if (!p) return fail("guest memory too small for the kernel area at " + std::to_string(gpa));
  return reinterpret_cast<T*>(p);
}
}  // namespace

Result<void> write_kernel_area(GuestMemory& memory) {
  const auto image = guest_kernel_image();
  if (image.size() > GUEST_KERNEL_MAX_SIZE) return fail("guest kernel image larger than its slot");
  auto* kernel = SPECTRUM_TRY(place<std::uint8_t>(memory, GUEST_KERNEL_ADDR, image.size()));
  std::memcpy(kernel, image.data(), image.size());

  auto* gdt = SPECTRUM_TRY(place<std::uint64_t>(memory, GUEST_GDT_ADDR, kGdtEntries));
  gdt[0] = 0;
  gdt[GUEST_SEL_KERNEL_CODE / 8] = segment_descriptor(true, 0, true);
  gdt[GUEST_SEL_KERNEL_DATA / 8] = segment_descriptor(false, 0, false);
  gdt[GUEST_SEL_USER_CODE32 / 8] = segment_descriptor(true, 3, false);
  gdt[GUEST_SEL_USER_DATA / 8] = segment_descriptor(false, 3, false);
  gdt[GUEST_SEL_USER_CODE / 8] = segment_descriptor(true, 3, true);
  // 64-bit available TSS: a 16-byte system descriptor.
  const std::uint64_t tss_base = GUEST_TSS_ADDR, tss_limit = sizeof(Tss) - 1;
  gdt[GUEST_SEL_TSS / 8] = (tss_limit & 0xFFFF) | ((tss_base & 0xFFFFFF) << 16) | (0x89ull << 40) |
                           (((tss_limit >> 16) & 0xF) << 48) | (((tss_base >> 24) & 0xFF) << 56);
  gdt[GUEST_SEL_TSS / 8 + 1] = tss_base >> 32;

  auto* tss = SPECTRUM_TRY(place<Tss>(memory, GUEST_TSS_ADDR));
  std::memset(tss, 0, sizeof *tss);
  tss->rsp[0] = GUEST_KSTACK_TOP;
  tss->ist[0] = GUEST_DF_STACK_TOP;
  tss->iomap_base = sizeof(Tss);  // no I/O bitmap: ring 3 gets #GP on every port

  auto* idt = SPECTRUM_TRY(place<IdtGate>(memory, GUEST_IDT_ADDR, 256));
  std::memset(idt, 0, sizeof(IdtGate) * 256);
  for (unsigned vector = 0; vector < 32; ++vector) {
    const std::uint64_t handler = GUEST_KERNEL_ADDR + vector * GUEST_VECTOR_STUB_SIZE;
    IdtGate& g = idt[vector];
    g.offset_low = handler & 0xFFFF;
    g.offset_mid = (handler >> 16) & 0xFFFF;
    g.offset_high = static_cast<std::uint32_t>(handler >> 32);
    g.selector = GUEST_SEL_KERNEL_CODE;
    g.ist = vector == 8 ? 1 : 0;
    // int3 and into from ring 3 are allowed (they become SIGTRAP/SIGSEGV); other vectors only by
    // the CPU, so `int $n` from ring 3 is a #GP.
    const unsigned dpl = (vector == 3 || vector == 4) ? 3 : 0;
    g.type_attributes = static_cast<std::uint8_t>(0x80 | (dpl << 5) | 0x0E);
  }
  return {};
}

Result<VcpuState> initial_vcpu_state(GuestMemory& memory, std::uint64_t cr3, std::uint64_t entry,
                                     std::uint64_t user_rsp) {
  VcpuState s;
  s.cr0 = kCr0Pe | kCr0Mp | kCr0Et | kCr0Ne | kCr0Wp | kCr0Am | kCr0Pg;
  s.cr3 = cr3;
  s.cr4 = kCr4Pae | kCr4Osfxsr | kCr4Osxmmexcpt;
  s.efer = kEferSce | kEferLme | kEferLma | kEferNxe;
  s.gdt_base = GUEST_GDT_ADDR;
  s.gdt_limit = kGdtEntries * 8 - 1;
  s.idt_base = GUEST_IDT_ADDR;
  s.idt_limit = 256 * sizeof(IdtGate) - 1;

  Segment code{0, 0xFFFFFFFF, GUEST_SEL_KERNEL_CODE, 0xB, 1, 0, 0, 1, 1, 1};
  Segment data{0, 0xFFFFFFFF, GUEST_SEL_KERNEL_DATA, 0x3, 1, 0, 1, 1, 0, 1};
  s.cs = code;
  s.ds = s.es = s.fs = s.gs = s.ss = data;
  s.tr = {GUEST_TSS_ADDR, sizeof(Tss) - 1, GUEST_SEL_TSS, 0xB /* busy 64-bit TSS */, 1, 0, 0, 0, 0, 0};
  s.ldt = {0, 0xFFFF, 0, 0x2, 1, 0, 0, 0, 0, 0};

  // The iret frame to ring 3 on the kernel stack.
  auto* frame = SPECTRUM_TRY(place<InterruptFrame>(memory, GUEST_KSTACK_TOP - sizeof(InterruptFrame)));
  frame->rip = entry;
  frame->cs = GUEST_SEL_USER_CODE | 3;
  frame->rflags = kRflagsReserved1;  // interrupts stay off: the guest has no devices
  frame->rsp = user_rsp;
  frame->ss = GUEST_SEL_USER_DATA | 3;
  s.rsp = GUEST_KSTACK_TOP - sizeof(InterruptFrame);
  s.rip = GUEST_KERNEL_ADDR + GUEST_OFFSET_ENTER_USER;
  s.rflags = kRflagsReserved1;

  s.star = (std::uint64_t{GUEST_SEL_USER_CODE32} << 48) | (std::uint64_t{GUEST_SEL_KERNEL_CODE} << 32);
  s.lstar = GUEST_KERNEL_ADDR + GUEST_OFFSET_SYSCALL;
  s.fmask = kRflagsTf | kRflagsIf | kRflagsDf | kRflagsNt | kRflagsAc;
  return s;
}

}  // namespace spectrum::vm
