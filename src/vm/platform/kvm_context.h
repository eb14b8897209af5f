// The KVM platform: the workload runs in ring 3 of our guest kernel on one vCPU, with the
// monitor's page tables (vm::AddressSpace) as its address space. A Stop is a KVM exit the guest
// kernel reported through its hypercall port; the sysretq / kvm_pvm return details stay here, so
// the handlers and the run loop see neutral registers only.
#pragma once

#include <chrono>
#include <optional>
#include <vector>

#include "vm/kvm.h"
#include "vm/monitor.h"
#include "vm/platform/platform.h"

namespace spectrum::vm::platform {

class KvmContext final : public ExecutionContext {
 public:
  KvmContext(PreparedGuest& guest, KvmVm& vm) : guest_(guest), vm_(vm), space_(guest.space.get()) {
    guest.frames->set_table_reset([&vm] { return vm.forget_translations(); });
  }
  ~KvmContext() override { guest_.frames->set_table_reset({}); }
  KvmContext(const KvmContext&) = delete;
  KvmContext& operator=(const KvmContext&) = delete;

  Result<Stop> run() override;
  Result<Registers> registers() override;
  Result<void> set_registers(const Registers& regs) override;
  Result<void> switch_task(AddressSpace& space, const Registers& regs) override;
  Result<void> complete_syscall(const SyscallResult& result) override {
    return apply_syscall_value(result, vm_);
  }
  Result<std::vector<std::uint8_t>> extended_state() override;
  Result<void> set_extended_state(const std::vector<std::uint8_t>& state) override;
  Result<ExtendedLayout> extended_layout() override;
  Result<void> start_time_slices() override;
  std::uint64_t exits() const override { return exits_; }
  // As the ptrace platform's: 10 ms of the guest's CPU time.
  static constexpr std::chrono::milliseconds kTimeSlice{10};

 private:
  Result<std::optional<Stop>> return_to_user(const KvmTrap& trap);
  PreparedGuest& guest_;
  KvmVm& vm_;
  std::optional<KvmTrap> pending_;  // the system call stop the next run() returns from
  // At a fault stop: where the workload was (the exception's frame); the general registers are
  // still the vCPU's (the guest kernel's stub changes none).
  std::optional<x86::InterruptFrame> fault_frame_;
  const AddressSpace* space_;  // the running task's (switch_task)
  std::uint64_t exits_ = 0;
  std::optional<HostTimer> slices_;
  std::optional<ExtendedLayout> layout_;
};

}  // namespace spectrum::vm::platform
