// Reading the binary format: bytes, LEB128 integers (with the spec's exact limits on length and
// unused bits), floats, names. Errors carry the byte offset where the bad item starts.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "core/error.h"

namespace spectrum::wasm {

// An error at a byte offset of the module: "byte 0x1f: reason".
std::unexpected<Error> fail_at(std::uint64_t offset, std::string_view reason);

class Reader {
 public:
  Reader(std::span<const std::uint8_t> bytes, std::size_t pos, std::size_t end)
      : data_(bytes.data()), pos_(pos), end_(end) {}

  std::size_t pos() const { return pos_; }
  std::size_t end() const { return end_; }
  bool at_end() const { return pos_ >= end_; }
  std::size_t remaining() const { return end_ - pos_; }
  void seek(std::size_t pos) { pos_ = pos; }
  const std::uint8_t* data() const { return data_; }

  Result<std::uint8_t> u8() {
    if (pos_ >= end_) return eof();
    return data_[pos_++];
  }
  // Unchecked: the caller (compiler over a validated body) knows the bytes are there.
  std::uint8_t u8_unchecked() { return data_[pos_++]; }

  // Most LEB128s in a module are one byte; that case is decided here, inline.
  Result<std::uint32_t> u32() {
    if (pos_ < end_ && data_[pos_] < 0x80) [[likely]]
      return data_[pos_++];
    return uleb<std::uint32_t, 32>();
  }
  Result<std::uint64_t> u64() { return uleb<std::uint64_t, 64>(); }
  Result<std::int32_t> s32() { return sleb<std::int32_t, 32>(); }
  Result<std::int64_t> s64() { return sleb<std::int64_t, 64>(); }
  // The 33-bit signed block type index.
  Result<std::int64_t> s33() { return sleb<std::int64_t, 33>(); }

  Result<std::uint32_t> f32_bits() {
    if (remaining() < 4) return eof();
    std::uint32_t v;
    std::memcpy(&v, data_ + pos_, 4);
    pos_ += 4;
    return v;
  }
  Result<std::uint64_t> f64_bits() {
    if (remaining() < 8) return eof();
    std::uint64_t v;
    std::memcpy(&v, data_ + pos_, 8);
    pos_ += 8;
    return v;
  }
  Result<std::span<const std::uint8_t>> bytes(std::size_t n) {
    if (remaining() < n) return fail_at(pos_, "unexpected end of section or function");
    std::span<const std::uint8_t> out(data_ + pos_, n);
    pos_ += n;
    return out;
  }
  // A name: length-prefixed UTF-8 (validated).
  Result<std::string> name();

  std::unexpected<Error> eof() const { return fail_at(pos_, "unexpected end"); }

 private:
  template <class T, int Bits>
  Result<T> uleb() {
    const std::size_t start = pos_;
    T result = 0;
    int shift = 0;
    for (;;) {
      if (pos_ >= end_) return fail_at(pos_, "unexpected end");
      const std::uint8_t byte = data_[pos_++];
      const int remaining_bits = Bits - shift;
      if (remaining_bits < 7) {
        // The last byte: continuation bit must be clear, and the unused bits zero.
        if (byte & 0x80) return fail_at(start, "integer representation too long");
        if ((byte >> remaining_bits) != 0) return fail_at(start, "integer too large");
        result |= static_cast<T>(byte) << shift;
        return result;
      }
      result |= static_cast<T>(byte & 0x7f) << shift;
      shift += 7;
      if (!(byte & 0x80)) return result;
      if (shift >= Bits) return fail_at(start, "integer representation too long");
    }
  }
  template <class T, int Bits>
  Result<T> sleb() {
    const std::size_t start = pos_;
    std::uint64_t result = 0;
    int shift = 0;
    for (;;) {
      if (pos_ >= end_) return fail_at(pos_, "unexpected end");
      const std::uint8_t byte = data_[pos_++];
      const int remaining_bits = Bits - shift;
      if (remaining_bits < 7) {
        if (byte & 0x80) return fail_at(start, "integer representation too long");
        // The unused bits of the last byte must all equal the sign bit.
        const std::uint8_t value_bits = byte & 0x7f;
        const int sign = (value_bits >> (remaining_bits - 1)) & 1;
        const std::uint8_t unused = static_cast<std::uint8_t>(value_bits >> remaining_bits);
        const std::uint8_t expect = sign ? static_cast<std::uint8_t>(0x7f >> remaining_bits) : 0;
        if (unused != expect) return fail_at(start, "integer too large");
        result |= static_cast<std::uint64_t>(value_bits) << shift;
        shift += 7;
        if (shift < 64 && sign) result |= ~std::uint64_t{0} << shift;
        return static_cast<T>(result);
      }
      result |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
      shift += 7;
      if (!(byte & 0x80)) {
        if (shift < 64 && (byte & 0x40)) result |= ~std::uint64_t{0} << shift;
        return static_cast<T>(result);
      }
      if (shift >= Bits) return fail_at(start, "integer representation too long");
    }
  }

  const std::uint8_t* data_;
  std::size_t pos_;
  std::size_t end_;
};

}  // namespace spectrum::wasm
