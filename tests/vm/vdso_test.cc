// The guest's vDSO: an image glibc, musl and Go accept (one read-and-execute segment, no
// relocations, the time calls at version LINUX_2.6), mapped below its data page into each program,
// neither ever writable; and the clock behind it, which follows the host's without going back and
// stays unused where the guest's TSC cannot be trusted.
#include "vm/vdso/vdso.h"

#include <elf.h>
#include <gtest/gtest.h>

#include <cstring>
#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "vm/boot.h"
#include "vm/guest/abi.h"
#include "vm/memory.h"

namespace spectrum::vm {
namespace {

using x86::kPageSize;

template <class T>
const T* at(std::span<const std::uint8_t> image, std::uint64_t offset) {
  EXPECT_LE(offset + sizeof(T), image.size());
  return reinterpret_cast<const T*>(image.data() + offset);
}

TEST(VdsoImage, IsOneReadAndExecuteSegmentWithoutRelocations) {
  const auto image = Vdso::image();
  ASSERT_GE(image.size(), sizeof(Elf64_Ehdr));
  ASSERT_LE(image.size(), 2 * kPageSize) << "the image stays small";
  const auto* eh = at<Elf64_Ehdr>(image, 0);
  ASSERT_EQ(std::memcmp(eh->e_ident, ELFMAG, SELFMAG), 0);
  EXPECT_EQ(eh->e_type, ET_DYN);
  EXPECT_EQ(eh->e_machine, EM_X86_64);
  int loads = 0;
  const Elf64_Phdr* dynamic = nullptr;
  for (int i = 0; i < eh->e_phnum; ++i) {
    const auto* ph = at<Elf64_Phdr>(image, eh->e_phoff + i * sizeof(Elf64_Phdr));
    if (ph->p_type == PT_LOAD) {
      ++loads;
      EXPECT_EQ(ph->p_offset, 0u);
      EXPECT_EQ(ph->p_vaddr, 0u) << "file offsets are addresses: the image is mapped as it is";
      EXPECT_EQ(ph->p_flags, PF_R | PF_X) << "nothing in it is ever written";
      EXPECT_EQ(ph->p_filesz, ph->p_memsz) << "no .bss";
    }
    if (ph->p_type == PT_DYNAMIC) dynamic = ph;
  }
  EXPECT_EQ(loads, 1);
  ASSERT_NE(dynamic, nullptr);
  for (auto* d = at<Elf64_Dyn>(image, dynamic->p_offset); d->d_tag != DT_NULL; ++d)
    EXPECT_TRUE(d->d_tag != DT_RELA && d->d_tag != DT_REL && d->d_tag != DT_TEXTREL &&
                d->d_tag != DT_JMPREL && d->d_tag != DT_NEEDED)
        << "dynamic tag " << d->d_tag;
}

TEST(VdsoImage, ExportsTheTimeCallsAtLinux26) {
  const auto image = Vdso::image();
  const auto* eh = at<Elf64_Ehdr>(image, 0);
  std::uint64_t symtab = 0, strtab = 0, hash = 0, versym = 0, verdef = 0;
  for (int i = 0; i < eh->e_phnum; ++i) {
    const auto* ph = at<Elf64_Phdr>(image, eh->e_phoff + i * sizeof(Elf64_Phdr));
    if (ph->p_type != PT_DYNAMIC) continue;
    for (auto* d = at<Elf64_Dyn>(image, ph->p_offset); d->d_tag != DT_NULL; ++d) {
      if (d->d_tag == DT_SYMTAB) symtab = d->d_un.d_ptr;
      if (d->d_tag == DT_STRTAB) strtab = d->d_un.d_ptr;
      if (d->d_tag == DT_HASH) hash = d->d_un.d_ptr;
      if (d->d_tag == DT_VERSYM) versym = d->d_un.d_ptr;
      if (d->d_tag == DT_VERDEF) verdef = d->d_un.d_ptr;
    }
  }
  ASSERT_TRUE(symtab && strtab && hash && versym && verdef)
      << "DT_HASH and symbol versions: musl and Go need them";
  auto string = [&](std::uint64_t offset) {
    return std::string(reinterpret_cast<const char*>(image.data() + strtab + offset));
  };
  std::map<int, std::string> versions;
  for (std::uint64_t d = verdef;;) {
    const auto* def = at<Elf64_Verdef>(image, d);
    versions[def->vd_ndx] = string(at<Elf64_Verdaux>(image, d + def->vd_aux)->vda_name);
    if (!def->vd_next) break;
    d += def->vd_next;
  }
  std::map<std::string, std::string> exported;  // name -> version
  const std::uint32_t count = at<std::uint32_t>(image, hash)[1];
  for (std::uint32_t i = 1; i < count; ++i) {
    const auto* sym = at<Elf64_Sym>(image, symtab + i * sizeof(Elf64_Sym));
    if (sym->st_shndx == SHN_UNDEF || ELF64_ST_TYPE(sym->st_info) != STT_FUNC) continue;
    EXPECT_LT(sym->st_value, image.size());
    exported[string(sym->st_name)] = versions[at<Elf64_Half>(image, versym)[i] & 0x7fff];
  }
  for (const char* name : {"__vdso_clock_gettime", "__vdso_gettimeofday", "__vdso_time", "__vdso_getcpu",
                           "__vdso_clock_getres", "clock_gettime", "gettimeofday", "time", "getcpu"})
    EXPECT_EQ(exported[name], "LINUX_2.6") << name;
}

class VdsoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = GuestMemory::create(16 << 20, GuestMemory::Backing::memfd);
    ASSERT_TRUE(m);
    memory_ = std::make_unique<GuestMemory>(std::move(*m));
    frames_ = std::make_unique<FrameAllocator>(*memory_, GUEST_KERNEL_AREA_END);
    auto s = AddressSpace::create(*memory_, *frames_, kernel_area_ranges());
    ASSERT_TRUE(s);
    space_ = std::make_unique<AddressSpace>(std::move(*s));
    auto v = Vdso::create(*memory_, *frames_);
    ASSERT_TRUE(v);
    vdso_ = std::move(*v);
  }
  std::unique_ptr<GuestMemory> memory_;
  std::unique_ptr<FrameAllocator> frames_;
  std::unique_ptr<AddressSpace> space_;
  std::unique_ptr<Vdso> vdso_;
};

TEST_F(VdsoTest, MapsTheDataPageBelowTheImageNeitherWritable) {
  constexpr std::uint64_t kBelow = 0x7fff'0000'0000;
  auto placed = vdso_->map_into(*space_, kBelow);
  ASSERT_TRUE(placed);
  EXPECT_EQ(placed->end, kBelow);
  EXPECT_EQ(placed->image, placed->data + kPageSize);
  std::uint8_t magic[4];
  ASSERT_TRUE(space_->read(placed->image, magic));
  EXPECT_EQ(std::memcmp(magic, ELFMAG, SELFMAG), 0);
  EXPECT_TRUE(space_->translate(placed->data, Access::read));
  EXPECT_FALSE(space_->translate(placed->data, Access::write)) << "the guest cannot write its clock";
  EXPECT_FALSE(space_->translate(placed->image, Access::write));
  auto made_writable = space_->protect(placed->data, kPageSize, kProtRead | kProtWrite);
  ASSERT_FALSE(made_writable);
  EXPECT_EQ(made_writable.error(), EACCES);
  made_writable = space_->protect(placed->image, kPageSize, kProtRead | kProtWrite | kProtExec);
  ASSERT_FALSE(made_writable);
  EXPECT_EQ(made_writable.error(), EACCES);
  // A second program (another execve) maps the same frames; where the place is taken, elsewhere.
  auto second = vdso_->map_into(*space_, kBelow);
  ASSERT_TRUE(second);
  EXPECT_NE(second->data, placed->data);
  EXPECT_EQ(space_->entry(second->data) & x86::kPteAddressMask,
            space_->entry(placed->data) & x86::kPteAddressMask);
  // Unmapped, the frames stay the vDSO's: every other process still reads them.
  ASSERT_TRUE(space_->unmap(placed->data, placed->end - placed->data));
  ASSERT_TRUE(space_->read(second->image, magic));
  EXPECT_EQ(std::memcmp(magic, ELFMAG, SELFMAG), 0);
}

std::int64_t host_ns(clockid_t clock) {
  timespec ts{};
  ::clock_gettime(clock, &ts);
  return ts.tv_sec * 1'000'000'000 + ts.tv_nsec;
}

// Refreshes `clock` as the scheduler would (before each entry) for `ms` milliseconds.
void run_for(GuestClock& clock, int ms) {
  for (const std::int64_t end = host_ns(CLOCK_MONOTONIC) + ms * 1'000'000LL; host_ns(CLOCK_MONOTONIC) < end;)
    clock.refresh();
}

TEST(GuestClockTest, CalibratesThenFollowsTheHostsClocksWithoutGoingBack) {
  spectrum_vdso_data page{};
  GuestClock clock(&page);
  clock.refresh();
  EXPECT_FALSE(clock.in_use()) << "not before a calibration baseline";
  EXPECT_FALSE(clock.now(CLOCK_MONOTONIC));
  run_for(clock, 30);
  if (!clock.in_use()) GTEST_SKIP() << "no invariant TSC here: the vDSO leaves every clock to the kernel";
  EXPECT_GT(clock.rate(), 0u);
  // Read between two readings of the host's clock: never ahead of the later one (by more than the
  // calibration's error over a refresh), never behind the earlier by much (refreshed every few
  // readings here).
  auto bracketed = [&](clockid_t id) {
    const std::int64_t before = host_ns(id);
    const std::int64_t guest = *clock.now(id);
    const std::int64_t after = host_ns(id);
    EXPECT_LE(guest, after + 20'000) << "clock " << id << " ahead of the host's";
    EXPECT_GE(guest, before - 1'000'000) << "clock " << id << " over 1 ms behind the host's";
    return guest;
  };
  std::int64_t last = 0;
  for (int i = 0; i < 20000; ++i) {
    if (i % 7 == 0) clock.refresh();
    const std::int64_t mono = bracketed(CLOCK_MONOTONIC);
    EXPECT_GE(mono, last) << "reading " << i << " went back";
    last = mono;
  }
  bracketed(CLOCK_REALTIME);
  bracketed(CLOCK_BOOTTIME);
  EXPECT_EQ(*clock.now(CLOCK_MONOTONIC_COARSE), page.base_ns[CLOCK_MONOTONIC]) << "coarse: the last refresh";
  EXPECT_FALSE(clock.now(CLOCK_MONOTONIC_RAW)) << "its rate is not MONOTONIC's: the kernel answers";
  EXPECT_FALSE(clock.now(CLOCK_PROCESS_CPUTIME_ID));
  EXPECT_EQ(page.seq % 2, 0u) << "no write left half done";
}

TEST(GuestClockTest, AGuestTscThatMovesAgainstTheHostsIsNeverUsed) {
  spectrum_vdso_data page{};
  GuestClock clock(&page);
  std::int64_t offset = 1'000'000;
  clock.set_tsc_offset([&] { return std::optional<std::int64_t>(offset += 10'000'000); });  // TSC scaling
  run_for(clock, 30);
  EXPECT_FALSE(clock.in_use());
  EXPECT_EQ(page.valid, 0u);

  spectrum_vdso_data unmeasured{};
  GuestClock no_offset(&unmeasured);
  no_offset.set_tsc_offset([] { return std::optional<std::int64_t>(); });  // KVM did not answer
  run_for(no_offset, 30);
  EXPECT_FALSE(no_offset.in_use());
}

TEST(GuestClockTest, AFixedOffsetIsTheGuestsTsc) {
  spectrum_vdso_data page{};
  GuestClock clock(&page);
  static constexpr std::int64_t kOffset = 123'456'789'000;
  clock.set_tsc_offset([] { return std::optional<std::int64_t>(kOffset); });
  run_for(clock, 30);
  if (!clock.in_use()) GTEST_SKIP() << "no invariant TSC here";
  const std::int64_t before = host_ns(CLOCK_MONOTONIC);
  const std::int64_t guest = *clock.now(CLOCK_MONOTONIC);
  EXPECT_LE(guest, host_ns(CLOCK_MONOTONIC) + 20'000);
  EXPECT_GE(guest, before - 1'000'000);
  EXPECT_GT(page.tsc_base, static_cast<std::uint64_t>(kOffset)) << "the page holds the guest's TSC";
}

}  // namespace
}  // namespace spectrum::vm
