// The guest's vDSO ([vdso]) and its data page ([vvar]): one copy of each in guest memory, held for
// the guest's whole life and mapped read-only into every process at its execve, as Linux maps its
// own. The auxiliary vector's AT_SYSINFO_EHDR names the image, where glibc, musl and Go look for
// clock_gettime, gettimeofday, time and getcpu. The data page is the GuestClock's.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "vm/memory.h"
#include "vm/vdso/guest_clock.h"

namespace spectrum::vm {

class Vdso {
 public:
  // Frames for the data page and the image, taken from guest memory. ENOMEM if none are left.
  static GuestResult<std::unique_ptr<Vdso>> create(GuestMemory& memory, FrameAllocator& frames);

  // The image as linked (guest_vdso.c).
  static std::span<const std::uint8_t> image();

  struct Placement {
    std::uint64_t data = 0, image = 0, end = 0;  // [data, image): [vvar]; [image, end): [vdso]
  };
  // Maps both into a new program's address space, ending at `below` where that is free (else in the
  // highest free range): the data page readable, the image readable and executable, neither ever
  // writable (mprotect is EACCES). ENOMEM if the page tables cannot be made.
  GuestResult<Placement> map_into(AddressSpace& space, std::uint64_t below) const;

  GuestClock& clock() { return clock_; }

 private:
  Vdso(spectrum_vdso_data* page, std::uint64_t data_frame, std::vector<std::uint64_t> image_frames)
      : clock_(page), data_frame_(data_frame), image_frames_(std::move(image_frames)) {}
  GuestClock clock_;
  std::uint64_t data_frame_;
  std::vector<std::uint64_t> image_frames_;
};

}  // namespace spectrum::vm
