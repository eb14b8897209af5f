// Reading past an instruction's immediates, and what the compiler does not translate (today:
// nothing a validated module holds), found without LLVM: the runtime would refuse such a module
// under --engine compiled with the reason before starting a compiler.
#include "wasm/body_reader.h"
#include "wasm/simd_opcodes.h"

namespace spectrum::wasm {

bool skip_instruction(std::uint8_t op, BodyReader& r) {
  switch (op) {
    case 0x02:
    case 0x03:
    case 0x04:
      r.sleb();
      return true;
    case 0x0C:
    case 0x0D:
    case 0x10:
    case 0x20:
    case 0x21:
    case 0x22:
    case 0x23:
    case 0x24:
    case 0x25:
    case 0x26:
    case 0xD2:
    case 0x41:
    case 0x42:
      r.uleb();
      return true;
    case 0x0E: {
      const std::uint32_t n = r.u32();
      for (std::uint32_t i = 0; i <= n; ++i) r.uleb();
      return true;
    }
    case 0x11:
      r.uleb();
      r.uleb();
      return true;
    case 0x1C: {
      const std::uint32_t n = r.u32();
      for (std::uint32_t i = 0; i < n; ++i) r.u8();
      return true;
    }
    case 0x3F:
    case 0x40:
    case 0xD0:
      r.u8();
      return true;
    case 0x43:
      r.p += 4;
      return true;
    case 0x44:
      r.p += 8;
      return true;
    case 0xFC: {
      const std::uint32_t sub = r.u32();
      switch (sub) {
        case 8:   // memory.init data mem
        case 12:  // table.init elem table
        case 14:  // table.copy dst src
        case 10:  // memory.copy 0 0
          r.uleb();
          r.uleb();
          break;
        case 9:
        case 11:
        case 13:
        case 15:
        case 16:
        case 17:
          r.uleb();
          break;
        default:
          break;
      }
      return true;
    }
    case 0xFD:
      switch (simd_immediates(r.u32())) {
        case SimdImmediates::memarg:
          r.uleb();
          r.uleb();
          return true;
        case SimdImmediates::memarg_lane:
          r.uleb();
          r.uleb();
          r.u8();
          return true;
        case SimdImmediates::lane:
          r.u8();
          return true;
        case SimdImmediates::bytes16:
          r.p += 16;
          return true;
        case SimdImmediates::none:
          return true;
        case SimdImmediates::unknown:
          return false;
      }
      return false;
    default:
      if (op >= 0x28 && op <= 0x3E) {  // memarg
        r.uleb();
        r.uleb();
      }
      return true;
  }
}

std::string unsupported_reason(const ModuleData&) {
  // The compiler translates all of Wasm 2.0, SIMD included (src/wasm/llvm/translate_simd.cc).
  return {};
}

}  // namespace spectrum::wasm
