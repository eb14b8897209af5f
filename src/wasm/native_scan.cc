// What the compiler does not translate (SIMD), found without LLVM: the runtime refuses such a
// module under --engine compiled with the reason before starting a compiler.
#include <cstdio>

#include "wasm/body_reader.h"

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
      return false;
    default:
      if (op >= 0x28 && op <= 0x3E) {  // memarg
        r.uleb();
        r.uleb();
      }
      return true;
  }
}

std::string unsupported_reason(const ModuleData& m) {
  if (m.uses_v128) return "the module uses v128 (SIMD is not compiled yet; --engine interp runs it)";
  for (std::size_t i = 0; i < m.bodies.size(); ++i) {
    const FunctionBody& body = m.bodies[i];
    BodyReader r{m.bytes.data() + body.code_begin, m.bytes.data()};
    const std::uint8_t* end = m.bytes.data() + body.code_end;
    while (r.p < end) {
      const std::uint32_t at = r.offset();
      if (!skip_instruction(r.u8(), r)) {
        char where[32];
        std::snprintf(where, sizeof where, "0x%x", at);
        return std::string("SIMD instruction at byte ") + where +
               " (SIMD is not compiled yet; --engine interp runs it)";
      }
    }
  }
  return {};
}

}  // namespace spectrum::wasm
