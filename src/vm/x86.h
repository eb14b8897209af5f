// x86-64 long-mode structures the monitor writes into guest memory, pinned to their ABI sizes.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace spectrum::vm::x86 {

// An address or register value as the tier's messages show it.
inline std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

inline constexpr std::uint64_t kPageSize = 4096;
inline constexpr std::uint64_t kPageMask = kPageSize - 1;
constexpr std::uint64_t page_down(std::uint64_t v) { return v & ~kPageMask; }
constexpr std::uint64_t page_up(std::uint64_t v) { return (v + kPageMask) & ~kPageMask; }

// Page-table entry bits.
inline constexpr std::uint64_t kPtePresent = 1ull << 0;
inline constexpr std::uint64_t kPteWritable = 1ull << 1;
inline constexpr std::uint64_t kPteUser = 1ull << 2;
// Set by the monitor on every user leaf it makes: the hardware (or a shadow MMU) would otherwise
// set them on the first access and first write, and KVM's shadow MMU prefetches neighbouring
// entries on a fault only when they are marked accessed.
inline constexpr std::uint64_t kPteAccessed = 1ull << 5;
inline constexpr std::uint64_t kPteDirty = 1ull << 6;
// In a page-directory entry: the entry maps one 2 MiB page (kHugePageSize) instead of naming a
// page table. Bit 12 of such an entry is its PAT bit, never set here: huge frames are 2 MiB-aligned.
inline constexpr std::uint64_t kPteLarge = 1ull << 7;
inline constexpr std::uint64_t kHugePageSize = 2ull << 20;
inline constexpr std::uint64_t kHugePageMask = kHugePageSize - 1;
inline constexpr std::uint64_t kPagesPerHugePage = kHugePageSize / kPageSize;
// Software-available bit: a mapping kept (with its frame) while PROT_NONE makes it not present.
inline constexpr std::uint64_t kPteProtNone = 1ull << 9;
// Software-available bit: the frame is shared memory (MAP_SHARED|MAP_ANONYMOUS), which fork maps
// into the child instead of copying; the frame allocator counts its holders.
inline constexpr std::uint64_t kPteShared = 1ull << 10;
// Software-available bit: a shared mapping of a file not open for writing, which mprotect can never
// make writable (Linux's missing VM_MAYWRITE).
inline constexpr std::uint64_t kPteNeverWritable = 1ull << 11;
// Software-available bit (52-58 are ignored by the MMU): a private page the process may write,
// whose frame fork shares, so that the entry is read-only until the first write gives the page a
// frame of its own (AddressSpace::own_page).
inline constexpr std::uint64_t kPteCopyOnWrite = 1ull << 52;
inline constexpr std::uint64_t kPteNoExecute = 1ull << 63;
inline constexpr std::uint64_t kPteAddressMask = 0x000f'ffff'ffff'f000ull;

// Control registers and EFER.
inline constexpr std::uint64_t kCr0Pe = 1ull << 0, kCr0Mp = 1ull << 1, kCr0Et = 1ull << 4, kCr0Ne = 1ull << 5,
                               kCr0Wp = 1ull << 16, kCr0Am = 1ull << 18, kCr0Pg = 1ull << 31;
inline constexpr std::uint64_t kCr4Pae = 1ull << 5, kCr4Osfxsr = 1ull << 9, kCr4Osxmmexcpt = 1ull << 10,
                               kCr4Osxsave = 1ull << 18;
inline constexpr std::uint64_t kEferSce = 1ull << 0, kEferLme = 1ull << 8, kEferLma = 1ull << 10,
                               kEferNxe = 1ull << 11;

inline constexpr std::uint32_t kMsrTsc = 0x10;  // IA32_TIME_STAMP_COUNTER
inline constexpr std::uint32_t kMsrStar = 0xC0000081, kMsrLstar = 0xC0000082, kMsrCstar = 0xC0000083,
                               kMsrFmask = 0xC0000084, kMsrFsBase = 0xC0000100, kMsrGsBase = 0xC0000101,
                               kMsrKernelGsBase = 0xC0000102;

inline constexpr std::uint64_t kRflagsReserved1 = 1ull << 1, kRflagsTf = 1ull << 8, kRflagsIf = 1ull << 9,
                               kRflagsDf = 1ull << 10, kRflagsNt = 1ull << 14, kRflagsAc = 1ull << 18;
// The flags a return to ring 3 may carry, as Linux's sysret path lets them through: CF PF AF ZF
// SF TF DF OF AC ID (never IOPL, NT, VM or IF from the user's value).
inline constexpr std::uint64_t kRflagsUser =
    0x1 | 0x4 | 0x10 | 0x40 | 0x80 | kRflagsTf | kRflagsDf | 0x800 | kRflagsAc | 0x200000;
static_assert(kRflagsUser == 0x240DD5);

// A code or data segment descriptor (8 bytes), as a raw value builder.
constexpr std::uint64_t segment_descriptor(bool code, unsigned dpl, bool long_mode) {
  std::uint64_t access = 0x80 /* present */ | (std::uint64_t{dpl & 3} << 5) | 0x10 /* code/data */ |
                         (code ? 0x0A /* execute/read */ : 0x02 /* read/write */);
  std::uint64_t flags =
      (long_mode ? 0x2 /* L */ : 0x0) | 0x8 /* G */ | (code && long_mode ? 0 : 0x4 /* D/B */);
  return 0xFFFFull /* limit 15:0 */ | (access << 40) | (0xFull << 48) /* limit 19:16 */ | (flags << 52);
}

struct __attribute__((packed)) IdtGate {
  std::uint16_t offset_low;
  std::uint16_t selector;
  std::uint8_t ist;
  std::uint8_t type_attributes;  // P | DPL | type (0xE: 64-bit interrupt gate)
  std::uint16_t offset_mid;
  std::uint32_t offset_high;
  std::uint32_t reserved;
};
static_assert(sizeof(IdtGate) == 16);

struct __attribute__((packed)) Tss {
  std::uint32_t reserved0;
  std::uint64_t rsp[3];
  std::uint64_t reserved1;
  std::uint64_t ist[7];
  std::uint64_t reserved2;
  std::uint16_t reserved3;
  std::uint16_t iomap_base;
};
static_assert(sizeof(Tss) == 104);

// What the CPU pushes on the kernel stack for an exception from ring 3 (error code first if any).
struct InterruptFrame {
  std::uint64_t rip, cs, rflags, rsp, ss;
};
static_assert(sizeof(InterruptFrame) == 40);

// Exceptions that push an error code.
constexpr bool has_error_code(unsigned vector) {
  return vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 || vector == 21 || vector == 29 ||
         vector == 30;
}

}  // namespace spectrum::vm::x86
