#include "vm/vdso/vdso.h"

#include <cstddef>
#include <cstring>

extern "C" const std::uint8_t spectrum_guest_vdso_start[];
extern "C" const std::uint8_t spectrum_guest_vdso_end[];

namespace spectrum::vm {

using x86::kPageSize;
using x86::page_up;

static_assert(sizeof(spectrum_vdso_data) <= kPageSize);
static_assert(offsetof(spectrum_vdso_data, tsc_base) == 8 && offsetof(spectrum_vdso_data, base_ns) == 24,
              "the vDSO (C) and the monitor (C++) read one layout");

std::span<const std::uint8_t> Vdso::image() {
  return {spectrum_guest_vdso_start,
          static_cast<std::size_t>(spectrum_guest_vdso_end - spectrum_guest_vdso_start)};
}

GuestResult<std::unique_ptr<Vdso>> Vdso::create(GuestMemory& memory, FrameAllocator& frames) {
  const auto bytes = image();
  const auto data = frames.allocate();
  if (!data) return std::unexpected(data.error());
  const std::uint64_t data_frame = *data;
  std::vector<std::uint64_t> image_frames;
  for (std::uint64_t done = 0; done < bytes.size(); done += kPageSize) {
    auto frame = frames.allocate();
    if (!frame) {
      frames.release(data_frame);
      frames.release(std::move(image_frames));
      return std::unexpected(frame.error());
    }
    image_frames.push_back(*frame);
    const std::size_t length = std::min<std::size_t>(kPageSize, bytes.size() - done);
    std::memcpy(memory.at(*frame, kPageSize), bytes.data() + done, length);  // frames read as zero
  }
  auto* page = reinterpret_cast<spectrum_vdso_data*>(memory.at(data_frame, kPageSize));
  return std::unique_ptr<Vdso>(new Vdso(page, data_frame, std::move(image_frames)));
}

GuestResult<Vdso::Placement> Vdso::map_into(AddressSpace& space, std::uint64_t below) const {
  const std::uint64_t length = (1 + image_frames_.size()) * kPageSize;
  std::uint64_t at = below - length;
  if (!space.range_free(at, length)) {
    const auto free = space.find_free(length);
    if (!free) return std::unexpected(free.error());
    at = *free;
  }
  if (auto mapped = space.map_frames(at, std::span(&data_frame_, 1), kProtRead, /*may_write=*/false); !mapped)
    return std::unexpected(mapped.error());
  if (auto mapped = space.map_frames(at + kPageSize, image_frames_, kProtRead | kProtExec, false); !mapped) {
    (void)space.unmap(at, kPageSize);
    return std::unexpected(mapped.error());
  }
  return Placement{at, at + kPageSize, at + length};
}

}  // namespace spectrum::vm
