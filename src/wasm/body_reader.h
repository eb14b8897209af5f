// Reading a validated function body (the validator has checked every length and limit): shared by
// the compiler (src/wasm/llvm) and the runtime's check of what the compiler takes (native_scan.cc).
#pragma once

#include <cstdint>

#include "wasm/module.h"

namespace spectrum::wasm {

// A minimal reader of a validated body (the validator has checked every length and limit).
struct BodyReader {
  const std::uint8_t* p;
  const std::uint8_t* begin;
  std::uint8_t u8() { return *p++; }
  std::uint64_t uleb() {
    std::uint64_t v = 0;
    int shift = 0;
    std::uint8_t b;
    do {
      b = *p++;
      if (shift < 64) v |= std::uint64_t(b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80);
    return v;
  }
  std::uint32_t u32() { return static_cast<std::uint32_t>(uleb()); }
  std::int64_t sleb() {
    std::int64_t v = 0;
    int shift = 0;
    std::uint8_t b;
    do {
      b = *p++;
      if (shift < 64) v |= std::int64_t(b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80);
    if (shift < 64 && (b & 0x40)) v |= -(std::int64_t{1} << shift);
    return v;
  }
  std::uint32_t offset() const { return static_cast<std::uint32_t>(p - begin); }
};

// Skips an instruction's immediates (the opcode has been read). False for an unknown SIMD sub-opcode.
bool skip_instruction(std::uint8_t op, BodyReader& r);
// Why the compiler cannot translate this module, or empty (it takes all of Wasm 2.0 today).
std::string unsupported_reason(const ModuleData& module);

}  // namespace spectrum::wasm
