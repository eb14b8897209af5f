#include "vm/platform/kvm_context.h"

#include <cstdio>
#include <string>

namespace spectrum::vm::platform {

namespace {
std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}
SyscallRequest syscall_request_from(const kvm_regs& r) {
  return {r.rax, {r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9}};
}
}  // namespace

Result<Stop> KvmContext::run() {
  if (pending_) {
    // The handler's result is in rax: return to ring 3 the way the guest kernel entered.
    const KvmTrap trap = *pending_;
    pending_.reset();
    if (auto stop = SPECTRUM_TRY(finish_syscall(guest_, vm_, trap))) return *stop;
  }
  for (;;) {
    if (TimeoutTimer::fired()) return Stop{Stop::Kind::interrupted, 0, {}, {}};
    // Every frame a page table may name is registered with KVM before the guest can touch it.
    SPECTRUM_TRY(vm_.cover(guest_.frames->high_water()));
    bool exited = SPECTRUM_TRY(vm_.run());
    if (!exited) return Stop{Stop::Kind::interrupted, 0, {}, {}};  // a signal: the caller checks the timeout
    ++exits_;
    kvm_run& run = vm_.exit_info();
    switch (run.exit_reason) {
      case KVM_EXIT_IO: {
        if (run.io.direction != KVM_EXIT_IO_OUT) {
          kvm_regs* regs = SPECTRUM_TRY(vm_.regs());
          return fail("guest read I/O port " + hex(run.io.port) + " at rip " + hex(regs->rip));
        }
        KvmTrap trap = SPECTRUM_TRY(decode_hypercall(guest_, vm_, run.io.port));
        if (trap.kind == KvmTrap::Kind::fault) return trap.stop;
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
  return r;
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

}  // namespace spectrum::vm::platform
