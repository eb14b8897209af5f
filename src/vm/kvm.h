// Thin RAII layer over /dev/kvm: the VM, its memory slot and one vCPU. Knows nothing of the guest
// it runs (the later Linux-guest issue reuses it unchanged).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/fd.h"
#include "vm/boot.h"
#include "vm/kvm_abi.h"

namespace spectrum::vm {

// What the host offers, without creating anything (for `spectrum info` and early errors).
struct KvmHost {
  bool usable = false;
  int open_errno = 0;
  std::string reason;   // why not usable
  std::string flavour;  // "kvm_pvm", "hardware (kvm_intel)", "hardware (kvm_amd)", "none"
  int api_version = 0;
};
// The KVM device: /dev/kvm, or $SPECTRUM_KVM_DEVICE (tests point it elsewhere to take the path of
// a host without KVM on one that has it).
const std::string& kvm_device();
KvmHost probe_kvm_host(const std::string& device = kvm_device());

// One CPUID leaf, independent of KVM's struct (the filter is tested without /dev/kvm).
struct CpuidLeaf {
  std::uint32_t function = 0, index = 0, flags = 0;
  std::uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};
enum class GuestKind {
  spectrum_kernel,  // our own guest kernel: ring 0 never runs XSAVE/POPCNT/CX16, ring 3 may
  linux_kernel,     // a Linux guest on kvm_pvm must not see what ring 0 cannot emulate
};
// Removes the features the guest must not use from KVM_GET_SUPPORTED_CPUID's answer and marks the
// hypervisor. Rows of one table: leaf, register, bit, and which guests must not see it.
void filter_cpuid(std::vector<CpuidLeaf>& leaves, GuestKind kind);

// The stopped vCPU's registers, as an exit handler reads and changes them: a KvmVm on a real VM;
// plain structures where tests play the CPU's part.
class VcpuAccess {
 public:
  virtual ~VcpuAccess() = default;
  virtual Result<kvm_regs*> regs() = 0;
  virtual Result<kvm_sregs*> sregs() = 0;
  virtual void regs_changed() = 0;
  virtual void sregs_changed() = 0;
};

class KvmVm final : public VcpuAccess {
 public:
  // Opens the device, makes the VM and one vCPU. Guest memory (`memory`, `size` bytes at
  // guest-physical 0) is registered with KVM in slots that grow with use (cover()): the first
  // covers kInitialSlotBytes. On kvm_pvm the cost of creating and destroying a VM grows with the
  // size of its memory slots (256 MiB: 2-10 ms of the run; 16 MiB: well under 1 ms).
  static constexpr std::uint64_t kInitialSlotBytes = 16ull << 20;
  static Result<KvmVm> create(std::uint8_t* memory, std::uint64_t size, GuestKind kind,
                              const std::string& device = kvm_device());
  // Registers guest memory with KVM up to at least guest-physical `end` (capped at the memory's
  // size): each new slot is as large as everything registered so far, so a guest that uses all
  // of its memory adds only a logarithmic number of slots. Cheap when nothing is to be added.
  Result<void> cover(std::uint64_t end) {
    if (end <= slots_end_ || slots_end_ >= size_) return {};
    return grow_slots(end);
  }
  std::uint64_t registered_bytes() const { return slots_end_; }
  std::uint32_t slot_count() const { return slots_; }
  // Whether registers travel with KVM_RUN (KVM_CAP_SYNC_REGS) rather than by ioctls of their own.
  bool syncs_registers() const { return sync_regs_; }
  KvmVm(KvmVm&&) noexcept;
  KvmVm& operator=(KvmVm&&) = delete;
  KvmVm(const KvmVm&) = delete;
  KvmVm& operator=(const KvmVm&) = delete;
  ~KvmVm() override;

  Result<void> set_initial_state(const VcpuState& state);
  // The vCPU's TSC less the host's (KVM's offset for the guest), from a read of its IA32_TSC
  // after a read of the host's: never below the true offset (kvm.cc); nullopt if KVM does not
  // answer.
  std::optional<std::int64_t> guest_tsc_offset() const;

  // KVM_RUN; returns false on EINTR (a signal, e.g. the timeout) and true on an exit.
  Result<bool> run();
  kvm_run& exit_info() { return *run_; }
  // Registers of the stopped vCPU (through sync_regs when KVM offers it, else ioctls).
  Result<kvm_regs*> regs() override;
  Result<kvm_sregs*> sregs() override;
  void regs_changed() override { regs_dirty_ = true; }
  void sregs_changed() override { sregs_dirty_ = true; }
  // Makes KVM forget every translation it derived from the guest's page tables (its shadow pages,
  // on kvm_pvm): the first memory slot is deleted, which zaps them all, and registered again.
  Result<void> forget_translations();
  // The vCPU's FPU/SSE/AVX state (KVM_GET_XSAVE / KVM_SET_XSAVE).
  Result<void> get_xsave(kvm_abi::Xsave& out);
  Result<void> set_xsave(const kvm_abi::Xsave& state);
  // The guest's XCR0: the state components ring 3 may use (x87 and SSE without XSAVE).
  std::uint64_t xcr0() const { return xcr0_; }
  // A signal handler may set immediate_exit to stop the vCPU without a race.
  volatile std::uint8_t* immediate_exit() { return &run_->immediate_exit; }

 private:
  KvmVm() = default;
  Result<void> grow_slots(std::uint64_t end);
  UniqueFd kvm_, vm_, vcpu_;
  std::uint8_t* memory_ = nullptr;
  std::uint64_t size_ = 0, slots_end_ = 0, first_slot_bytes_ = 0;
  std::uint32_t slots_ = 0;
  kvm_run* run_ = nullptr;
  std::size_t run_size_ = 0;
  bool sync_regs_ = false;
  std::uint64_t xcr0_ = 3;
  kvm_regs regs_{};
  kvm_sregs sregs_{};
  bool regs_valid_ = false, sregs_valid_ = false, regs_dirty_ = false, sregs_dirty_ = false;
};

}  // namespace spectrum::vm
