// The KVM ABI for C++: the one place the vm tier takes ioctl numbers and struct layouts from.
//
// Why this header exists: Debian 12's uapi headers declare flexible arrays with
// __DECLARE_FLEX_ARRAY, a struct holding an empty struct and the array. An empty struct has size 0
// in C but 1 in C++, so under C++ `struct kvm_cpuid2` is 12 bytes instead of 8, its `entries` start
// at offset 12 instead of 8, and every ioctl number that encodes its size is wrong
// (KVM_GET_SUPPORTED_CPUID became 0xc00cae05; the kernel's is 0xc008ae05, and the kernel answers
// EINVAL). The structs with a flexible array get their C layout here (header + fixed array), their
// ioctl numbers are computed from that header, and the uapi macros for them are removed so that no
// C++ file can use the wrong ones by accident. Every number and offset is pinned by a static_assert
// on the value a C compiler gives (tests/vm/kvm_abi_c.c checks the same values from real C code).
#pragma once

#include <linux/kvm.h>
#include <sys/ioctl.h>

#include <cstddef>
#include <cstdint>

// The uapi macros whose value depends on a C++-broken sizeof: use the kvm_abi constants.
#undef KVM_GET_SUPPORTED_CPUID
#undef KVM_GET_EMULATED_CPUID
#undef KVM_SET_CPUID
#undef KVM_SET_CPUID2
#undef KVM_GET_CPUID2
#undef KVM_GET_MSRS
#undef KVM_SET_MSRS
#undef KVM_GET_MSR_INDEX_LIST
#undef KVM_GET_MSR_FEATURE_INDEX_LIST
#undef KVM_SET_GSI_ROUTING
#undef KVM_SET_SIGNAL_MASK
#undef KVM_GET_XSAVE
#undef KVM_SET_XSAVE
#undef KVM_GET_XSAVE2

namespace spectrum::vm::kvm_abi {

// ---- the flexible-array structs, as C lays them out ----

// struct kvm_cpuid2 / struct kvm_cpuid: { __u32 nent; __u32 padding; entries[] }.
struct CpuidHeader {
  std::uint32_t nent;
  std::uint32_t padding;
};
template <std::size_t N>
struct Cpuid2 {
  CpuidHeader header;
  kvm_cpuid_entry2 entries[N];
};

// struct kvm_msrs: { __u32 nmsrs; __u32 pad; struct kvm_msr_entry entries[] }.
struct MsrsHeader {
  std::uint32_t nmsrs;
  std::uint32_t pad;
};
template <std::size_t N>
struct Msrs {
  MsrsHeader header;
  kvm_msr_entry entries[N];
};

// struct kvm_msr_list: { __u32 nmsrs; __u32 indices[] }.
struct MsrListHeader {
  std::uint32_t nmsrs;
};
// struct kvm_irq_routing: { __u32 nr; __u32 flags; entries[] }.
struct IrqRoutingHeader {
  std::uint32_t nr;
  std::uint32_t flags;
};
// struct kvm_signal_mask: { __u32 len; __u8 sigset[] }.
struct SignalMaskHeader {
  std::uint32_t len;
};
// struct kvm_xsave: { __u32 region[1024]; extra[] } (KVM_GET_XSAVE2's larger areas are not used).
struct Xsave {
  std::uint32_t region[1024];
};
// struct kvm_coalesced_mmio_ring: { __u32 first, last; entries[] } (mapped, no ioctl).
struct CoalescedMmioRingHeader {
  std::uint32_t first;
  std::uint32_t last;
};

// ---- ioctl numbers ----

// The ones whose size the C++ trap changes, from the C layouts above.
inline constexpr unsigned long kGetSupportedCpuid = _IOWR(KVMIO, 0x05, CpuidHeader);
inline constexpr unsigned long kGetEmulatedCpuid = _IOWR(KVMIO, 0x09, CpuidHeader);
inline constexpr unsigned long kSetCpuid = _IOW(KVMIO, 0x8a, CpuidHeader);
inline constexpr unsigned long kSetCpuid2 = _IOW(KVMIO, 0x90, CpuidHeader);
inline constexpr unsigned long kGetCpuid2 = _IOWR(KVMIO, 0x91, CpuidHeader);
inline constexpr unsigned long kGetMsrs = _IOWR(KVMIO, 0x88, MsrsHeader);
inline constexpr unsigned long kSetMsrs = _IOW(KVMIO, 0x89, MsrsHeader);
inline constexpr unsigned long kGetMsrIndexList = _IOWR(KVMIO, 0x02, MsrListHeader);
inline constexpr unsigned long kSetGsiRouting = _IOW(KVMIO, 0x6a, IrqRoutingHeader);
inline constexpr unsigned long kSetSignalMask = _IOW(KVMIO, 0x8b, SignalMaskHeader);
inline constexpr unsigned long kGetXsave = _IOR(KVMIO, 0xa4, Xsave);
inline constexpr unsigned long kSetXsave = _IOW(KVMIO, 0xa5, Xsave);

// The ones the uapi header gets right in C++ too; named here so that every number the tier uses
// is pinned in one place.
inline constexpr unsigned long kGetApiVersion = KVM_GET_API_VERSION;
inline constexpr unsigned long kCreateVm = KVM_CREATE_VM;
inline constexpr unsigned long kCheckExtension = KVM_CHECK_EXTENSION;
inline constexpr unsigned long kGetVcpuMmapSize = KVM_GET_VCPU_MMAP_SIZE;
inline constexpr unsigned long kCreateVcpu = KVM_CREATE_VCPU;
inline constexpr unsigned long kSetUserMemoryRegion = KVM_SET_USER_MEMORY_REGION;
inline constexpr unsigned long kRun = KVM_RUN;
inline constexpr unsigned long kGetRegs = KVM_GET_REGS;
inline constexpr unsigned long kSetRegs = KVM_SET_REGS;
inline constexpr unsigned long kGetSregs = KVM_GET_SREGS;
inline constexpr unsigned long kSetSregs = KVM_SET_SREGS;
inline constexpr unsigned long kGetXcrs = KVM_GET_XCRS;
inline constexpr unsigned long kSetXcrs = KVM_SET_XCRS;

// ---- pinned to the kernel's C values (gcc -x c on Debian 12, linux-libc-dev 6.1) ----

static_assert(sizeof(CpuidHeader) == 8 && sizeof(MsrsHeader) == 8 && sizeof(IrqRoutingHeader) == 8);
static_assert(sizeof(MsrListHeader) == 4 && sizeof(SignalMaskHeader) == 4);
static_assert(sizeof(CoalescedMmioRingHeader) == 8 && sizeof(Xsave) == 4096);
static_assert(sizeof(kvm_cpuid_entry2) == 40 && sizeof(kvm_msr_entry) == 16);
static_assert(offsetof(Cpuid2<1>, entries) == 8, "kvm_cpuid2.entries is at offset 8 in C");
static_assert(offsetof(Msrs<1>, entries) == 8, "kvm_msrs.entries is at offset 8 in C");
static_assert(sizeof(Cpuid2<2>) == 8 + 2 * 40 && sizeof(Msrs<3>) == 8 + 3 * 16);

static_assert(kGetSupportedCpuid == 0xc008ae05);
static_assert(kGetEmulatedCpuid == 0xc008ae09);
static_assert(kSetCpuid == 0x4008ae8a);
static_assert(kSetCpuid2 == 0x4008ae90);
static_assert(kGetCpuid2 == 0xc008ae91);
static_assert(kGetMsrs == 0xc008ae88);
static_assert(kSetMsrs == 0x4008ae89);
static_assert(kGetMsrIndexList == 0xc004ae02);
static_assert(kSetGsiRouting == 0x4008ae6a);
static_assert(kSetSignalMask == 0x4004ae8b);
static_assert(kGetXsave == 0x9000aea4 && kSetXsave == 0x5000aea5);

static_assert(kGetApiVersion == 0xae00 && kCreateVm == 0xae01 && kCheckExtension == 0xae03);
static_assert(kGetVcpuMmapSize == 0xae04 && kCreateVcpu == 0xae41);
static_assert(kSetUserMemoryRegion == 0x4020ae46);
static_assert(kRun == 0xae80);
static_assert(kGetRegs == 0x8090ae81 && kSetRegs == 0x4090ae82);
static_assert(kGetSregs == 0x8138ae83 && kSetSregs == 0x4138ae84);
static_assert(kGetXcrs == 0x8188aea6 && kSetXcrs == 0x4188aea7);

// The fixed structs the tier passes or maps, and the kvm_run fields it reads.
static_assert(sizeof(kvm_regs) == 144 && sizeof(kvm_sregs) == 312 && sizeof(kvm_xcrs) == 392);
static_assert(sizeof(kvm_userspace_memory_region) == 32 && sizeof(kvm_segment) == 24);
static_assert(sizeof(kvm_run) == 2352);
static_assert(offsetof(kvm_run, immediate_exit) == 1 && offsetof(kvm_run, exit_reason) == 8);
static_assert(offsetof(kvm_run, io) == 32 && offsetof(kvm_run, kvm_valid_regs) == 288);
static_assert(offsetof(kvm_run, kvm_dirty_regs) == 296 && offsetof(kvm_run, s) == 304);
static_assert(offsetof(kvm_run, s.regs.regs) == 304 && offsetof(kvm_run, s.regs.sregs) == 448);

}  // namespace spectrum::vm::kvm_abi
