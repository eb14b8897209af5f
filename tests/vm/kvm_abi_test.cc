// The KVM ABI of src/vm/kvm_abi.h against the kernel's C values (tests/vm/kvm_abi_c.c, compiled by
// the C compiler). Runs without /dev/kvm: a wrong number or offset fails on every machine.
#include "vm/kvm_abi.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <string>

#include "kvm_abi_c.h"
#include "vm/arch/fp_state.h"

namespace spectrum::vm {
namespace {

using namespace kvm_abi;

struct CxxValue {
  const char* name;
  unsigned long value;
};
// What the C++ side uses for each value the C side reports, by the same name.
const CxxValue kCxx[] = {
    {"KVM_GET_SUPPORTED_CPUID", kGetSupportedCpuid},
    {"KVM_GET_EMULATED_CPUID", kGetEmulatedCpuid},
    {"KVM_SET_CPUID", kSetCpuid},
    {"KVM_SET_CPUID2", kSetCpuid2},
    {"KVM_GET_CPUID2", kGetCpuid2},
    {"KVM_GET_MSRS", kGetMsrs},
    {"KVM_SET_MSRS", kSetMsrs},
    {"KVM_GET_MSR_INDEX_LIST", kGetMsrIndexList},
    {"KVM_SET_GSI_ROUTING", kSetGsiRouting},
    {"KVM_SET_SIGNAL_MASK", kSetSignalMask},
    {"KVM_GET_API_VERSION", kGetApiVersion},
    {"KVM_CREATE_VM", kCreateVm},
    {"KVM_CHECK_EXTENSION", kCheckExtension},
    {"KVM_GET_VCPU_MMAP_SIZE", kGetVcpuMmapSize},
    {"KVM_CREATE_VCPU", kCreateVcpu},
    {"KVM_SET_USER_MEMORY_REGION", kSetUserMemoryRegion},
    {"KVM_RUN", kRun},
    {"KVM_GET_REGS", kGetRegs},
    {"KVM_SET_REGS", kSetRegs},
    {"KVM_GET_SREGS", kGetSregs},
    {"KVM_SET_SREGS", kSetSregs},
    {"KVM_GET_XCRS", kGetXcrs},
    {"KVM_SET_XCRS", kSetXcrs},
    {"KVM_GET_XSAVE", kGetXsave},
    {"KVM_SET_XSAVE", kSetXsave},
    {"sizeof struct kvm_xsave", sizeof(Xsave)},
    {"FP_XSTATE_MAGIC1", arch::kFpXstateMagic1},
    {"FP_XSTATE_MAGIC2", arch::kFpXstateMagic2},
    {"sizeof struct _fpx_sw_bytes", sizeof(arch::FpxSwBytes)},
    {"offsetof struct _fpstate_64.sw_reserved", arch::kSwBytesOffset},
    {"offsetof struct _fpstate_64.mxcsr", arch::kMxcsrOffset},
    {"offsetof struct _fpstate_64.xmm_space", arch::kXmmOffset},
    {"offsetof struct _fpx_sw_bytes.extended_size", offsetof(arch::FpxSwBytes, extended_size)},
    {"offsetof struct _fpx_sw_bytes.xfeatures", offsetof(arch::FpxSwBytes, xfeatures)},
    {"offsetof struct _fpx_sw_bytes.xstate_size", offsetof(arch::FpxSwBytes, xstate_size)},
    {"sizeof struct kvm_cpuid2", sizeof(CpuidHeader)},
    {"sizeof struct kvm_cpuid", sizeof(CpuidHeader)},
    {"sizeof struct kvm_msrs", sizeof(MsrsHeader)},
    {"sizeof struct kvm_msr_list", sizeof(MsrListHeader)},
    {"sizeof struct kvm_irq_routing", sizeof(IrqRoutingHeader)},
    {"sizeof struct kvm_signal_mask", sizeof(SignalMaskHeader)},
    {"sizeof struct kvm_coalesced_mmio_ring", sizeof(CoalescedMmioRingHeader)},
    {"sizeof struct kvm_cpuid_entry2", sizeof(kvm_cpuid_entry2)},
    {"sizeof struct kvm_msr_entry", sizeof(kvm_msr_entry)},
    {"sizeof struct kvm_regs", sizeof(kvm_regs)},
    {"sizeof struct kvm_sregs", sizeof(kvm_sregs)},
    {"sizeof struct kvm_xcrs", sizeof(kvm_xcrs)},
    {"sizeof struct kvm_userspace_memory_region", sizeof(kvm_userspace_memory_region)},
    {"sizeof struct kvm_segment", sizeof(kvm_segment)},
    {"sizeof struct kvm_run", sizeof(kvm_run)},
    {"offsetof struct kvm_cpuid2.entries", offsetof(Cpuid2<1>, entries)},
    {"offsetof struct kvm_msrs.entries", offsetof(Msrs<1>, entries)},
    {"offsetof struct kvm_coalesced_mmio_ring.coalesced_mmio", sizeof(CoalescedMmioRingHeader)},
    {"offsetof struct kvm_run.immediate_exit", offsetof(kvm_run, immediate_exit)},
    {"offsetof struct kvm_run.exit_reason", offsetof(kvm_run, exit_reason)},
    {"offsetof struct kvm_run.io", offsetof(kvm_run, io)},
    {"offsetof struct kvm_run.kvm_valid_regs", offsetof(kvm_run, kvm_valid_regs)},
    {"offsetof struct kvm_run.kvm_dirty_regs", offsetof(kvm_run, kvm_dirty_regs)},
    {"offsetof struct kvm_run.s", offsetof(kvm_run, s)},
    {"offsetof struct kvm_run.s.regs.regs", offsetof(kvm_run, s.regs.regs)},
    {"offsetof struct kvm_run.s.regs.sregs", offsetof(kvm_run, s.regs.sregs)},
};

TEST(KvmAbiTest, EveryNumberAndOffsetIsTheKernelsC) {
  std::map<std::string, unsigned long> c;
  for (const kvm_abi_c_value* v = kvm_abi_c_values; v->name; ++v) c[v->name] = v->value;
  ASSERT_GE(c.size(), 40u);
  std::size_t compared = 0;
  for (const CxxValue& v : kCxx) {
    auto it = c.find(v.name);
    ASSERT_NE(it, c.end()) << v.name << " is not reported by kvm_abi_c.c";
    EXPECT_EQ(v.value, it->second) << v.name << ": C++ 0x" << std::hex << v.value << ", kernel's C 0x"
                                   << it->second;
    ++compared;
  }
  // Every value the C side reports is checked (a new one there needs its C++ counterpart).
  EXPECT_EQ(compared, c.size());
}

// The numbers the issue quotes from a C program, once more by value.
TEST(KvmAbiTest, TheNumbersOfTheIssue) {
  EXPECT_EQ(kGetSupportedCpuid, 0xc008ae05ul);
  EXPECT_EQ(kSetCpuid2, 0x4008ae90ul);
  EXPECT_EQ(kSetMsrs, 0x4008ae89ul);
  EXPECT_EQ(kGetMsrs, 0xc008ae88ul);
}

// A buffer of the C layout: the kernel reads `nent` at 0 and the first entry at 8.
TEST(KvmAbiTest, Cpuid2BufferHasTheKernelsLayout) {
  Cpuid2<2> cpuid{};
  cpuid.header.nent = 2;
  cpuid.entries[0].function = 0x12345678;
  const auto* bytes = reinterpret_cast<const unsigned char*>(&cpuid);
  std::uint32_t nent, function;
  std::memcpy(&nent, bytes, 4);
  std::memcpy(&function, bytes + 8, 4);
  EXPECT_EQ(nent, 2u);
  EXPECT_EQ(function, 0x12345678u);
}

}  // namespace
}  // namespace spectrum::vm
