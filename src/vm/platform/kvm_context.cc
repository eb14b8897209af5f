#include "vm/platform/kvm_context.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "vm/arch/fp_state.h"
#include "vm/guest/abi.h"
#include "vm/x86.h"

namespace spectrum::vm::platform {

namespace {
using x86::hex;
SyscallRequest syscall_request_from(const kvm_regs& r) {
  return {r.rax, {r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9}};
}
// The segments the guest kernel's `iretq` would load for ring 3 (the GDT's user descriptors).
kvm_segment user_segment(bool code) {
  kvm_segment s{};
  s.base = 0;
  s.limit = 0xFFFFFFFF;
  s.selector = (code ? GUEST_SEL_USER_CODE : GUEST_SEL_USER_DATA) | 3;
  s.type = code ? 0xB : 0x3;
  s.present = 1;
  s.dpl = 3;
  s.db = code ? 0 : 1;
  s.s = 1;
  s.l = code ? 1 : 0;
  s.g = 1;
  return s;
}
}  // namespace

// kvm_pvm's system call, returned without the guest kernel's `iretq` (an emulated ring-0
// instruction: bench/vm/exit_cost measured 34.0 -> 31.9 us of CPU per forwarded call without it).
// The vCPU goes straight back to ring 3 with what the iretq would load from the frame
// finish_syscall writes: rip and rflags from rcx and r11 (user flags only), the user stack pointer
// of the fault frame, the user code and stack segments. Where that frame's path decides more
// (a return or stack outside user space: the iretq's own fault, the workload's SIGSEGV), the
// frame path is taken, so both behave alike.
Result<std::optional<Stop>> KvmContext::return_to_user(const KvmTrap& trap) {
  const auto user = [](std::uint64_t a) {
    return a >= AddressSpace::kUserLowest && a < AddressSpace::kUserEnd;
  };
  // Without KVM_CAP_SYNC_REGS the segments would cost a KVM_SET_SREGS of their own per call.
  if (!vm_.syncs_registers() || !user(trap.return_rip) || !user(trap.frame.rsp))
    return finish_syscall(guest_, vm_, trap);
  kvm_regs* regs = SPECTRUM_TRY(vm_.regs());
  regs->rip = trap.return_rip;
  regs->rflags = (trap.return_flags & x86::kRflagsUser) | x86::kRflagsReserved1;
  regs->rsp = trap.frame.rsp;
  vm_.regs_changed();
  kvm_sregs* s = SPECTRUM_TRY(vm_.sregs());
  s->cs = user_segment(true);
  s->ss = user_segment(false);
  vm_.sregs_changed();
  return std::nullopt;
}

Result<Stop> KvmContext::run() {
  // After a fault only switch_task goes on (at a handler): the stub past the exception's `out`
  // halts.
  if (fault_frame_) return fail("the KVM platform cannot resume a fault where it happened");
  if (pending_) {
    // The handler's result is in rax: return to ring 3 the way the guest kernel entered.
    const KvmTrap trap = *pending_;
    pending_.reset();
    if (auto stop = SPECTRUM_TRY(trap.kind == KvmTrap::Kind::syscall_pvm ? return_to_user(trap)
                                                                         : finish_syscall(guest_, vm_, trap)))
      return *stop;
  }
  for (;;) {
    if (TimeoutTimer::fired()) return Stop{Stop::Kind::interrupted, 0, {}, {}};
    // Every frame a page table may name is registered with KVM before the guest can touch it.
    SPECTRUM_TRY(vm_.cover(guest_.frames->high_water()));
    bool exited = SPECTRUM_TRY(vm_.run());
    if (!exited) {
      // A slice ends only between two user instructions. In the guest kernel's way back to ring 3
      // (a KVM_RUN that returned before its iretq or sysretq ran) it is an interruption: the task
      // goes on and the next slice takes it.
      if (SliceTimer::take() && SPECTRUM_TRY(vm_.regs())->rip >= AddressSpace::kUserLowest)
        return Stop{Stop::Kind::preempted, 0, {}, {}};
      return Stop{Stop::Kind::interrupted, 0, {}, {}};  // a signal: the caller checks the timeout
    }
    ++exits_;
    kvm_run& run = vm_.exit_info();
    switch (run.exit_reason) {
      case KVM_EXIT_IO: {
        if (run.io.direction != KVM_EXIT_IO_OUT) {
          kvm_regs* regs = SPECTRUM_TRY(vm_.regs());
          return fail("guest read I/O port " + hex(run.io.port) + " at rip " + hex(regs->rip));
        }
        KvmTrap trap = SPECTRUM_TRY(decode_hypercall(guest_, vm_, run.io.port, *space_));
        if (trap.kind == KvmTrap::Kind::fault) {
          fault_frame_ = trap.frame;
          return trap.stop;
        }
        pending_ = trap;
        const kvm_regs* regs = SPECTRUM_TRY(vm_.regs());
        return Stop{Stop::Kind::syscall, 0, {}, syscall_request_from(*regs)};
      }
      case KVM_EXIT_HLT: {
        kvm_regs* regs = SPECTRUM_TRY(vm_.regs());
        return fail("guest kernel halted at rip " + hex(regs->rip));
      }
      case KVM_EXIT_SHUTDOWN: {
        kvm_regs* regs = SPECTRUM_TRY(vm_.regs());
        return fail("guest triple fault (KVM_EXIT_SHUTDOWN) at rip " + hex(regs->rip));
      }
      case KVM_EXIT_INTERNAL_ERROR: {
        kvm_regs* regs = SPECTRUM_TRY(vm_.regs());
        return fail("the host could not emulate a guest instruction (KVM_EXIT_INTERNAL_ERROR, suberror " +
                    std::to_string(run.internal.suberror) + ") at rip " + hex(regs->rip));
      }
      case KVM_EXIT_FAIL_ENTRY:
        return fail("KVM could not enter the guest (hardware entry failure reason " +
                    hex(run.fail_entry.hardware_entry_failure_reason) + ")");
      case KVM_EXIT_MMIO:
        return fail("guest touched unbacked guest-physical address " + hex(run.mmio.phys_addr));
      default: {
        kvm_regs* regs = SPECTRUM_TRY(vm_.regs());
        return fail("unexpected KVM exit reason " + std::to_string(run.exit_reason) + " at rip " +
                    hex(regs->rip));
      }
    }
  }
}

Result<Registers> KvmContext::registers() {
  const kvm_regs* k = SPECTRUM_TRY(vm_.regs());
  const kvm_sregs* s = SPECTRUM_TRY(vm_.sregs());
  Registers r;
  r.rax = k->rax, r.rbx = k->rbx, r.rcx = k->rcx, r.rdx = k->rdx;
  r.rsi = k->rsi, r.rdi = k->rdi, r.rbp = k->rbp, r.rsp = k->rsp;
  r.r8 = k->r8, r.r9 = k->r9, r.r10 = k->r10, r.r11 = k->r11;
  r.r12 = k->r12, r.r13 = k->r13, r.r14 = k->r14, r.r15 = k->r15;
  r.rip = k->rip, r.rflags = k->rflags;
  r.fs_base = s->fs.base, r.gs_base = s->gs.base;
  if (pending_) {
    // The vCPU is in the guest kernel at its hypercall: the user's state is where `syscall` left
    // it: rip in rcx, rflags in r11, and the stack pointer the user's (hardware path) or in the
    // frame kvm_pvm's fault pushed.
    r.rip = k->rcx;
    r.rflags = k->r11;
    if (pending_->kind == KvmTrap::Kind::syscall_pvm) r.rsp = pending_->frame.rsp;
  } else if (fault_frame_) {
    r.rip = fault_frame_->rip;
    r.rflags = fault_frame_->rflags;
    r.rsp = fault_frame_->rsp;
  }
  return r;
}

Result<void> KvmContext::switch_task(AddressSpace& space, const Registers& r) {
  // Straight to ring 3 with the task's registers and page tables, as return_to_user does: the vCPU
  // may be stopped in the guest kernel (a system call, a fault) or in ring 3 itself (a time slice),
  // so the user segments are set with rip, rsp and rflags (an `iretq` through the kernel's entry
  // would run in ring 3 after a slice, and fault there). A CR3 set here makes KVM load the new
  // root and flush the TLB (kvm_mmu_reset_context); what it must not keep of a freed table is the
  // frame allocator's concern (FrameAllocator::allocate_table).
  if (r.rip < AddressSpace::kUserLowest || r.rip >= AddressSpace::kUserEnd)
    return fail("switch_task: rip " + hex(r.rip) + " is outside user space");
  pending_.reset();
  fault_frame_.reset();
  space_ = &space;
  kvm_regs* k = SPECTRUM_TRY(vm_.regs());
  k->rax = r.rax, k->rbx = r.rbx, k->rcx = r.rcx, k->rdx = r.rdx;
  k->rsi = r.rsi, k->rdi = r.rdi, k->rbp = r.rbp, k->rsp = r.rsp;
  k->r8 = r.r8, k->r9 = r.r9, k->r10 = r.r10, k->r11 = r.r11;
  k->r12 = r.r12, k->r13 = r.r13, k->r14 = r.r14, k->r15 = r.r15;
  k->rip = r.rip;
  k->rflags = (r.rflags & x86::kRflagsUser) | x86::kRflagsReserved1;
  vm_.regs_changed();
  kvm_sregs* s = SPECTRUM_TRY(vm_.sregs());
  s->cr3 = space.root();
  s->fs.base = r.fs_base;
  s->gs.base = r.gs_base;
  s->cs = user_segment(true);
  s->ss = user_segment(false);
  vm_.sregs_changed();
  return {};
}

Result<void> KvmContext::set_registers(const Registers& r) {
  kvm_regs* k = SPECTRUM_TRY(vm_.regs());
  k->rax = r.rax, k->rbx = r.rbx, k->rcx = r.rcx, k->rdx = r.rdx;
  k->rsi = r.rsi, k->rdi = r.rdi, k->rbp = r.rbp, k->rsp = r.rsp;
  k->r8 = r.r8, k->r9 = r.r9, k->r10 = r.r10, k->r11 = r.r11;
  k->r12 = r.r12, k->r13 = r.r13, k->r14 = r.r14, k->r15 = r.r15;
  k->rip = r.rip, k->rflags = r.rflags;
  vm_.regs_changed();
  kvm_sregs* s = SPECTRUM_TRY(vm_.sregs());
  if (s->fs.base != r.fs_base || s->gs.base != r.gs_base) {  // only an arch_prctl pays for KVM_SET_SREGS
    s->fs.base = r.fs_base;
    s->gs.base = r.gs_base;
    vm_.sregs_changed();
  }
  return {};
}

Result<std::vector<std::uint8_t>> KvmContext::extended_state() {
  kvm_abi::Xsave area;
  SPECTRUM_TRY(vm_.get_xsave(area));
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(&area);
  return std::vector<std::uint8_t>(bytes, bytes + sizeof area);
}

Result<void> KvmContext::set_extended_state(const std::vector<std::uint8_t>& state) {
  if (state.size() != sizeof(kvm_abi::Xsave)) return {};  // none saved: the vCPU's stays
  kvm_abi::Xsave area;
  std::memcpy(&area, state.data(), sizeof area);
  return vm_.set_xsave(area);
}

Result<ExecutionContext::ExtendedLayout> KvmContext::extended_layout() {
  if (layout_) return *layout_;  // (cpuid is a VM exit of its own where the monitor is a guest)
  const std::uint64_t features = vm_.xcr0();
  layout_ = ExtendedLayout{std::min(arch::xsave_size(features), sizeof(kvm_abi::Xsave)), features};
  return *layout_;
}

Result<void> KvmContext::start_time_slices() {
  if (!slices_) slices_.emplace(SPECTRUM_TRY(SliceTimer::start(kTimeSlice, vm_.immediate_exit())));
  return {};
}

}  // namespace spectrum::vm::platform
