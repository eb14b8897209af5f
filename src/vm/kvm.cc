#include "vm/kvm.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <x86intrin.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "vm/kvm_abi.h"
#include "vm/x86.h"

namespace spectrum::vm {

namespace {

bool exists(const char* path) {
  struct stat st;
  return ::stat(path, &st) == 0;
}

std::string flavour() {
  if (exists("/sys/module/kvm_pvm")) return "kvm_pvm";
  if (exists("/sys/module/kvm_intel")) return "hardware (kvm_intel)";
  if (exists("/sys/module/kvm_amd")) return "hardware (kvm_amd)";
  if (exists("/sys/module/kvm")) return "kvm (no vendor module)";
  return "none";
}

enum class Reg { eax, ebx, ecx, edx };
struct HiddenFeature {
  std::uint32_t function, index;
  Reg reg;
  unsigned bit;
  bool linux_only;  // our own kernel's ring 0 never executes it, so ring 3 may keep it
  const char* why;
};
// What kvm_pvm's ring-0 emulator cannot run; a Linux guest would use it in ring 0.
constexpr HiddenFeature kHidden[] = {
    {1, 0, Reg::ecx, 13, true, "CMPXCHG16B"},
    {1, 0, Reg::ecx, 23, true, "POPCNT"},
    {1, 0, Reg::ecx, 26, true, "XSAVE (XRSTOR in ring 0)"},
    {1, 0, Reg::ecx, 27, true, "OSXSAVE"},
    {7, 0, Reg::ebx, 20, false, "SMAP (CLAC/STAC)"},
    {7, 0, Reg::edx, 29, false, "IA32_ARCH_CAPABILITIES"},
};
std::uint32_t& reg_of(CpuidLeaf& leaf, Reg reg) {
  switch (reg) {
    case Reg::eax:
      return leaf.eax;
    case Reg::ebx:
      return leaf.ebx;
    case Reg::ecx:
      return leaf.ecx;
    case Reg::edx:
      break;
  }
  return leaf.edx;
}

Result<void> ioctl_checked(int fd, unsigned long request, void* arg, const char* name) {
  if (::ioctl(fd, request, arg) < 0) return fail_errno(name);
  return {};
}

}  // namespace

const std::string& kvm_device() {
  static const std::string device = [] {
    const char* env = std::getenv("SPECTRUM_KVM_DEVICE");
    return std::string(env && *env ? env : "/dev/kvm");
  }();
  return device;
}

KvmHost probe_kvm_host(const std::string& device) {
  KvmHost host;
  host.flavour = flavour();
  UniqueFd fd(::open(device.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd) {
    host.open_errno = errno;
    host.reason =
        "cannot open " + device + ": " + std::strerror(errno) + " (errno " + std::to_string(errno) + ")";
    if (errno == ENOENT && host.flavour != "none")
      host.reason += "; the kvm modules are loaded but no misc device is registered";
    return host;
  }
  host.api_version = ::ioctl(fd.get(), kvm_abi::kGetApiVersion, 0);
  if (host.api_version != KVM_API_VERSION) {
    host.reason = device + " speaks KVM API " + std::to_string(host.api_version) + ", expected " +
                  std::to_string(KVM_API_VERSION);
    return host;
  }
  host.usable = true;
  return host;
}

void filter_cpuid(std::vector<CpuidLeaf>& leaves, GuestKind kind) {
  bool xsave_hidden = false;
  for (CpuidLeaf& leaf : leaves) {
    for (const HiddenFeature& f : kHidden) {
      if (leaf.function != f.function || leaf.index != f.index) continue;
      if (f.linux_only && kind != GuestKind::linux_kernel) continue;
      reg_of(leaf, f.reg) &= ~(1u << f.bit);
      if (f.function == 1 && f.bit == 26) xsave_hidden = true;
    }
    if (leaf.function == 1) {
      leaf.ecx |= 1u << 31;                       // hypervisor present
      if (xsave_hidden) leaf.ecx &= ~(1u << 28);  // AVX needs XSAVE
    }
  }
  if (xsave_hidden) {  // no XSAVE: no XSAVE state leaf, no AVX2/AVX-512 either
    std::erase_if(leaves, [](const CpuidLeaf& l) { return l.function == 0xD; });
    for (CpuidLeaf& leaf : leaves)
      if (leaf.function == 7 && leaf.index == 0)
        leaf.ebx &= ~((1u << 5) | (1u << 16) | (1u << 17) | (1u << 28) | (1u << 30) | (1u << 31));
  }
}

Result<KvmVm> KvmVm::create(std::uint8_t* memory, std::uint64_t size, GuestKind kind,
                            const std::string& device) {
  KvmVm vm;
  vm.kvm_.reset(::open(device.c_str(), O_RDWR | O_CLOEXEC));
  if (!vm.kvm_) return fail_errno("open " + device);
  int api = ::ioctl(vm.kvm_.get(), kvm_abi::kGetApiVersion, 0);
  if (api != KVM_API_VERSION) return fail(device + ": unsupported KVM API version " + std::to_string(api));
  vm.vm_.reset(::ioctl(vm.kvm_.get(), kvm_abi::kCreateVm, 0));
  if (!vm.vm_) return fail_errno("KVM_CREATE_VM");

  vm.memory_ = memory;
  vm.size_ = size & ~x86::kPageMask;
  SPECTRUM_TRY(vm.grow_slots(std::min(vm.size_, kInitialSlotBytes)));

  vm.vcpu_.reset(::ioctl(vm.vm_.get(), kvm_abi::kCreateVcpu, 0));
  if (!vm.vcpu_) return fail_errno("KVM_CREATE_VCPU");
  int run_size = ::ioctl(vm.kvm_.get(), kvm_abi::kGetVcpuMmapSize, 0);
  if (run_size <= 0) return fail_errno("KVM_GET_VCPU_MMAP_SIZE");
  void* run = ::mmap(nullptr, static_cast<std::size_t>(run_size), PROT_READ | PROT_WRITE, MAP_SHARED,
                     vm.vcpu_.get(), 0);
  if (run == MAP_FAILED) return fail_errno("mmap of the vCPU's kvm_run");
  vm.run_ = static_cast<kvm_run*>(run);
  vm.run_size_ = static_cast<std::size_t>(run_size);

  // CPUID: what KVM supports, minus what the guest must not use. The struct has the kernel's C
  // layout (kvm_abi.h): under C++ the uapi one is 4 bytes longer and the kernel says EINVAL.
  constexpr std::uint32_t kMaxLeaves = 256;
  auto cpuid = std::make_unique<kvm_abi::Cpuid2<kMaxLeaves>>();
  cpuid->header.nent = kMaxLeaves;
  SPECTRUM_TRY(
      ioctl_checked(vm.kvm_.get(), kvm_abi::kGetSupportedCpuid, cpuid.get(), "KVM_GET_SUPPORTED_CPUID"));
  std::vector<CpuidLeaf> leaves;
  for (std::uint32_t i = 0; i < cpuid->header.nent && i < kMaxLeaves; ++i) {
    const auto& e = cpuid->entries[i];
    leaves.push_back({e.function, e.index, e.flags, e.eax, e.ebx, e.ecx, e.edx});
  }
  filter_cpuid(leaves, kind);
  cpuid->header.nent = static_cast<std::uint32_t>(leaves.size());
  for (std::size_t i = 0; i < leaves.size(); ++i) {
    auto& e = cpuid->entries[i];
    e = {};
    e.function = leaves[i].function;
    e.index = leaves[i].index;
    e.flags = leaves[i].flags;
    e.eax = leaves[i].eax;
    e.ebx = leaves[i].ebx;
    e.ecx = leaves[i].ecx;
    e.edx = leaves[i].edx;
  }
  SPECTRUM_TRY(ioctl_checked(vm.vcpu_.get(), kvm_abi::kSetCpuid2, cpuid.get(), "KVM_SET_CPUID2"));

  int sync = ::ioctl(vm.kvm_.get(), kvm_abi::kCheckExtension, KVM_CAP_SYNC_REGS);
  vm.sync_regs_ = sync > 0 && (sync & (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS)) ==
                                  (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS);
  if (vm.sync_regs_) vm.run_->kvm_valid_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
  return vm;
}

Result<void> KvmVm::grow_slots(std::uint64_t end) {
  constexpr std::uint64_t kSlotAlign = 2ull << 20;  // large pages stay possible inside a slot
  while (slots_end_ < std::min(end, size_)) {
    std::uint64_t length =
        std::max<std::uint64_t>(slots_end_, (end - slots_end_ + kSlotAlign - 1) & ~(kSlotAlign - 1));
    length = std::min(length, size_ - slots_end_);
    kvm_userspace_memory_region region{};
    region.slot = slots_;
    region.guest_phys_addr = slots_end_;
    region.memory_size = length;
    region.userspace_addr = reinterpret_cast<std::uint64_t>(memory_ + slots_end_);
    SPECTRUM_TRY(
        ioctl_checked(vm_.get(), kvm_abi::kSetUserMemoryRegion, &region, "KVM_SET_USER_MEMORY_REGION"));
    if (slots_ == 0) first_slot_bytes_ = length;
    ++slots_;
    slots_end_ += length;
  }
  return {};
}

KvmVm::KvmVm(KvmVm&& o) noexcept
    : kvm_(std::move(o.kvm_)),
      vm_(std::move(o.vm_)),
      vcpu_(std::move(o.vcpu_)),
      memory_(o.memory_),
      size_(o.size_),
      slots_end_(o.slots_end_),
      first_slot_bytes_(o.first_slot_bytes_),
      slots_(o.slots_),
      run_(std::exchange(o.run_, nullptr)),
      run_size_(o.run_size_),
      sync_regs_(o.sync_regs_) {}

KvmVm::~KvmVm() {
  if (run_) ::munmap(run_, run_size_);
}

namespace {
kvm_segment to_kvm(const Segment& s) {
  kvm_segment k{};
  k.base = s.base;
  k.limit = s.limit;
  k.selector = s.selector;
  k.type = s.type;
  k.present = s.present;
  k.dpl = s.dpl;
  k.db = s.db;
  k.s = s.s;
  k.l = s.l;
  k.g = s.g;
  k.unusable = s.present ? 0 : 1;
  return k;
}
}  // namespace

std::optional<std::int64_t> KvmVm::guest_tsc_offset() const {
  // KVM reads the guest's TSC at some instant between the two host reads around the ioctl. Taken
  // against the first, the estimate is never below the true offset, only above it by at most the
  // ioctl's length; the least of a few is kept. An estimate that is high makes the guest's vDSO
  // clock stand still for that long after an entry (its ticks since the base read as 0); one that
  // was low would let a system call's time fall behind a vDSO reading made just before it.
  std::optional<std::int64_t> offset;
  for (int attempt = 0; attempt < 4; ++attempt) {
    kvm_abi::Msrs<1> msrs{};
    msrs.header.nmsrs = 1;
    msrs.entries[0].index = x86::kMsrTsc;
    _mm_lfence();
    const std::uint64_t before = __rdtsc();
    if (::ioctl(vcpu_.get(), kvm_abi::kGetMsrs, &msrs) != 1) return std::nullopt;
    const auto estimate = static_cast<std::int64_t>(msrs.entries[0].data - before);
    offset = offset ? std::min(*offset, estimate) : estimate;
  }
  return offset;
}

Result<void> KvmVm::set_initial_state(const VcpuState& state) {
  kvm_sregs sregs{};
  SPECTRUM_TRY(ioctl_checked(vcpu_.get(), kvm_abi::kGetSregs, &sregs, "KVM_GET_SREGS"));
  sregs.cr0 = state.cr0;
  sregs.cr3 = state.cr3;
  sregs.cr4 = state.cr4;
  sregs.efer = state.efer;
  sregs.gdt = {state.gdt_base, state.gdt_limit, {}};
  sregs.idt = {state.idt_base, state.idt_limit, {}};
  sregs.cs = to_kvm(state.cs);
  sregs.ds = to_kvm(state.ds);
  sregs.es = to_kvm(state.es);
  sregs.fs = to_kvm(state.fs);
  sregs.gs = to_kvm(state.gs);
  sregs.ss = to_kvm(state.ss);
  sregs.tr = to_kvm(state.tr);
  sregs.ldt = to_kvm(state.ldt);
  sregs.ldt.unusable = 1;
  SPECTRUM_TRY(ioctl_checked(vcpu_.get(), kvm_abi::kSetSregs, &sregs, "KVM_SET_SREGS"));

  kvm_regs regs{};
  regs.rip = state.rip;
  regs.rsp = state.rsp;
  regs.rflags = state.rflags;
  SPECTRUM_TRY(ioctl_checked(vcpu_.get(), kvm_abi::kSetRegs, &regs, "KVM_SET_REGS"));

  // STAR, LSTAR and FMASK are what the syscall path needs; the others only tidy up and a host
  // that refuses one of them (kvm_pvm has its own view of some MSRs) is not an error.
  auto set_msrs = [&](std::initializer_list<std::pair<std::uint32_t, std::uint64_t>> values) {
    kvm_abi::Msrs<8> msrs{};
    for (const auto& [index, value] : values) msrs.entries[msrs.header.nmsrs++] = {index, 0, value};
    return ::ioctl(vcpu_.get(), kvm_abi::kSetMsrs, &msrs) == static_cast<int>(values.size());
  };
  if (!set_msrs({{x86::kMsrStar, state.star}, {x86::kMsrLstar, state.lstar}, {x86::kMsrFmask, state.fmask}}))
    return fail_errno("KVM_SET_MSRS (STAR, LSTAR, FMASK)");
  for (auto msr :
       {std::pair{x86::kMsrCstar, state.lstar}, std::pair{x86::kMsrKernelGsBase, std::uint64_t{0}}})
    (void)set_msrs({msr});

  // AVX and later state for ring 3: CR4.OSXSAVE plus XCR0, when the host has XSAVE. Ring 0 never
  // saves or restores it (there is no other context to switch to).
  if (::ioctl(kvm_.get(), kvm_abi::kCheckExtension, KVM_CAP_XCRS) > 0) {
    kvm_xcrs xcrs{};
    if (::ioctl(vcpu_.get(), kvm_abi::kGetXcrs, &xcrs) == 0) {
      std::uint32_t eax, ebx, ecx, edx;
      __asm__("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(0xD), "c"(0));
      // x87, SSE, AVX (bits 0-2), AVX-512 (5-7) where the host has them.
      const std::uint64_t wanted = eax & 0xE7u;
      sregs.cr4 |= x86::kCr4Osxsave;
      if ((wanted & 7) == 7 && ::ioctl(vcpu_.get(), kvm_abi::kSetSregs, &sregs) == 0) {
        xcrs.nr_xcrs = 1;
        xcrs.xcrs[0] = {0, 0, wanted};
        if (::ioctl(vcpu_.get(), kvm_abi::kSetXcrs, &xcrs) != 0) {
          sregs.cr4 &= ~x86::kCr4Osxsave;  // back to SSE only
          SPECTRUM_TRY(ioctl_checked(vcpu_.get(), kvm_abi::kSetSregs, &sregs, "KVM_SET_SREGS"));
        } else {
          xcr0_ = wanted;
        }
      }
    }
  }
  regs_valid_ = sregs_valid_ = false;
  return {};
}

Result<bool> KvmVm::run() {
  if (regs_dirty_ || sregs_dirty_) {
    if (sync_regs_) {
      if (regs_dirty_) run_->s.regs.regs = regs_;
      if (sregs_dirty_) run_->s.regs.sregs = sregs_;
      run_->kvm_dirty_regs = (regs_dirty_ ? KVM_SYNC_X86_REGS : 0) | (sregs_dirty_ ? KVM_SYNC_X86_SREGS : 0);
    } else {
      if (regs_dirty_) SPECTRUM_TRY(ioctl_checked(vcpu_.get(), kvm_abi::kSetRegs, &regs_, "KVM_SET_REGS"));
      if (sregs_dirty_)
        SPECTRUM_TRY(ioctl_checked(vcpu_.get(), kvm_abi::kSetSregs, &sregs_, "KVM_SET_SREGS"));
    }
    regs_dirty_ = sregs_dirty_ = false;
  }
  regs_valid_ = sregs_valid_ = false;
  if (::ioctl(vcpu_.get(), kvm_abi::kRun, 0) < 0) {
    if (errno == EINTR || errno == EAGAIN) {
      run_->immediate_exit = 0;
      return false;
    }
    return fail_errno("KVM_RUN");
  }
  return true;
}

Result<void> KvmVm::forget_translations() {
  if (slots_ == 0) return {};
  kvm_userspace_memory_region region{};
  region.slot = 0;
  region.guest_phys_addr = 0;
  region.userspace_addr = reinterpret_cast<std::uint64_t>(memory_);
  region.memory_size = 0;  // deletes the slot
  SPECTRUM_TRY(ioctl_checked(vm_.get(), kvm_abi::kSetUserMemoryRegion, &region,
                             "KVM_SET_USER_MEMORY_REGION (delete)"));
  region.memory_size = first_slot_bytes_;
  return ioctl_checked(vm_.get(), kvm_abi::kSetUserMemoryRegion, &region, "KVM_SET_USER_MEMORY_REGION");
}

Result<void> KvmVm::get_xsave(kvm_abi::Xsave& out) {
  return ioctl_checked(vcpu_.get(), kvm_abi::kGetXsave, &out, "KVM_GET_XSAVE");
}

Result<void> KvmVm::set_xsave(const kvm_abi::Xsave& state) {
  return ioctl_checked(vcpu_.get(), kvm_abi::kSetXsave, const_cast<kvm_abi::Xsave*>(&state), "KVM_SET_XSAVE");
}

Result<kvm_regs*> KvmVm::regs() {
  if (!regs_valid_) {
    if (sync_regs_)
      regs_ = run_->s.regs.regs;
    else
      SPECTRUM_TRY(ioctl_checked(vcpu_.get(), kvm_abi::kGetRegs, &regs_, "KVM_GET_REGS"));
    regs_valid_ = true;
  }
  return &regs_;
}

Result<kvm_sregs*> KvmVm::sregs() {
  if (!sregs_valid_) {
    if (sync_regs_)
      sregs_ = run_->s.regs.sregs;
    else
      SPECTRUM_TRY(ioctl_checked(vcpu_.get(), kvm_abi::kGetSregs, &sregs_, "KVM_GET_SREGS"));
    sregs_valid_ = true;
  }
  return &sregs_;
}

}  // namespace spectrum::vm
