// The FPU/SSE/AVX state in an x86-64 signal frame, as Linux puts it there (fpu__alloc_mathframe,
// copy_fpstate_to_sigframe, fpu__restore_sig): the standard-format xsave area below the frame, its
// legacy area's software bytes (struct _fpx_sw_bytes) saying how much follows, FP_XSTATE_MAGIC2
// right after it; uc_mcontext.fpstate points at it. A handler starts with the init state, and
// rt_sigreturn restores what the frame holds then (a handler may have changed it).
//
// The area comes from the guest at rt_sigreturn, so it is checked and sanitized before any
// platform sees it: MXCSR with a reserved bit set is refused (Linux's XRSTOR faults: SIGSEGV),
// only enabled components are taken, the header's reserved bytes are zero and the compaction word
// the platform's own. A frame whose software bytes do not check out gives the x87 and SSE
// registers only (Linux's fx_only).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace spectrum::vm::arch {

inline constexpr std::uint32_t kFpXstateMagic1 = 0x46505853u;  // FP_XSTATE_MAGIC1
inline constexpr std::uint32_t kFpXstateMagic2 = 0x46505845u;  // FP_XSTATE_MAGIC2
inline constexpr std::uint64_t kUcFpXstate = 1, kUcSigcontextSs = 2, kUcStrictRestoreSs = 4;

// struct _fpx_sw_bytes (asm/sigcontext.h), at offset 464 of the legacy area.
struct FpxSwBytes {
  std::uint32_t magic1, extended_size;
  std::uint64_t xfeatures;
  std::uint32_t xstate_size, padding[7];
};
static_assert(sizeof(FpxSwBytes) == 48);
inline constexpr std::size_t kSwBytesOffset = 464;
inline constexpr std::size_t kLegacySize = 512, kHeaderEnd = 576;
inline constexpr std::size_t kMxcsrOffset = 24, kXmmOffset = 160;  // in the legacy area

// The standard-format size that holds `features`' components (CPUID leaf 0xD gives each one's
// offset and size): the end of the last, at least the legacy area and the header.
std::size_t xsave_size(std::uint64_t features);
// AMX tile data (component 18): a process has it only once it asked (arch_prctl
// ARCH_REQ_XCOMP_PERM), so Linux leaves it out of a signal frame until then.
inline constexpr std::uint64_t kXfeatureTileData = std::uint64_t{1} << 18;

// The bytes the frame holds for `state` (a platform's standard-format area) of which `size` bytes
// matter, holding `features`: the area, its software bytes filled in, then FP_XSTATE_MAGIC2.
std::vector<std::uint8_t> fp_frame(std::span<const std::uint8_t> state, std::size_t size,
                                   std::uint64_t features);
// The state a handler starts with, in `current`'s layout: every component at its init value
// (x87 control word 0x37f, MXCSR 0x1f80, registers zero).
std::vector<std::uint8_t> fp_init(std::vector<std::uint8_t> current);
// The state rt_sigreturn restores from the `frame` bytes (as fp_frame wrote them, possibly changed
// by the guest; at least the legacy area), in `current`'s layout, sanitized as above; nullopt for
// a state the CPU would refuse.
std::optional<std::vector<std::uint8_t>> fp_from_frame(std::span<const std::uint8_t> frame,
                                                       std::vector<std::uint8_t> current, std::size_t size,
                                                       std::uint64_t features);

}  // namespace spectrum::vm::arch
