// Unit tests of the vm tier: everything up to the first KVM_RUN, on any host.
#include <elf.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/sched.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <cstring>

#include "core/fd.h"
#include "test_support.h"
#include "vm/boot.h"
#include "vm/confine.h"
#include "vm/guest/abi.h"
#include "vm/kernel/process.h"
#include "vm/kernel/shared_files.h"
#include "vm/kvm.h"
#include "vm/loader/elf.h"
#include "vm/loader/user_stack.h"
#include "vm/memory.h"
#include "vm/monitor.h"
#include "vm/tier_internal.h"

namespace spectrum::vm {
namespace {

using namespace testing;
using x86::kPageSize;

std::string read_host_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// ---------- ELF ----------

class ElfTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    static_ok_ = compile_program("probe", "-static", dir_->path() / "probe-static");
    pie_ok_ = compile_program("probe", "-static-pie", dir_->path() / "probe-pie");
    dynamic_ok_ = compile_program("probe", "", dir_->path() / "probe-dynamic");
  }
  static void TearDownTestSuite() { delete dir_; }
  static inline TempDir* dir_ = nullptr;
  static inline bool static_ok_ = false, pie_ok_ = false, dynamic_ok_ = false;
};

TEST_F(ElfTest, StaticExecutableIsParsed) {
  ASSERT_TRUE(static_ok_) << "gcc -static failed";
  std::string bytes = read_host_file(dir_->path() / "probe-static");
  auto elf = parse_elf(bytes, "probe-static");
  ASSERT_TRUE(elf) << elf.error().message();
  EXPECT_FALSE(elf->position_independent);
  ASSERT_FALSE(elf->segments.empty());
  EXPECT_GE(elf->lowest_vaddr(), 0x400000u);
  EXPECT_EQ(elf->phdr_entry_size, sizeof(Elf64_Phdr));
  EXPECT_NE(elf->phdr_vaddr, 0u);
  bool entry_in_exec = false;
  for (const auto& s : elf->segments)
    if ((s.prot & PROT_EXEC) && elf->entry >= s.vaddr && elf->entry < s.vaddr + s.memory_size)
      entry_in_exec = true;
  EXPECT_TRUE(entry_in_exec);
}

TEST_F(ElfTest, StaticPieIsParsedAsPositionIndependent) {
  ASSERT_TRUE(pie_ok_) << "gcc -static-pie failed";
  std::string bytes = read_host_file(dir_->path() / "probe-pie");
  auto elf = parse_elf(bytes, "probe-pie");
  ASSERT_TRUE(elf) << elf.error().message();
  EXPECT_TRUE(elf->position_independent);
  EXPECT_EQ(elf->lowest_vaddr(), 0u);
}

TEST_F(ElfTest, DynamicExecutableNamesItsInterpreter) {
  ASSERT_TRUE(dynamic_ok_);
  std::string bytes = read_host_file(dir_->path() / "probe-dynamic");
  auto elf = parse_elf(bytes, "probe-dynamic");
  ASSERT_TRUE(elf) << elf.error().message();
  EXPECT_NE(elf->interpreter.find("ld-linux-x86-64.so.2"), std::string::npos) << elf->interpreter;
  EXPECT_EQ(elf->interpreter.front(), '/');
}

TEST_F(ElfTest, APtInterpThatIsNotOnePathInsideTheFileIsRefused) {
  ASSERT_TRUE(dynamic_ok_);
  const std::string good = read_host_file(dir_->path() / "probe-dynamic");
  Elf64_Ehdr eh;
  std::memcpy(&eh, good.data(), sizeof eh);
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    const std::size_t at = eh.e_phoff + i * sizeof(Elf64_Phdr);
    Elf64_Phdr ph;
    std::memcpy(&ph, good.data() + at, sizeof ph);
    if (ph.p_type != PT_INTERP) continue;
    for (int attack = 0; attack < 3; ++attack) {
      std::string bad = good;
      Elf64_Phdr evil = ph;
      if (attack == 0) evil.p_offset = bad.size() - 4;            // runs past the end of the file
      if (attack == 1) evil.p_filesz = ~std::uint64_t{0} - 8;     // a length that wraps
      if (attack == 2) bad[ph.p_offset + ph.p_filesz - 1] = 'x';  // no NUL at the end
      std::memcpy(bad.data() + at, &evil, sizeof evil);
      auto elf = parse_elf(bad, "evil");
      ASSERT_FALSE(elf) << "attack " << attack;
      EXPECT_NE(elf.error().message().find("PT_INTERP"), std::string::npos) << elf.error().message();
      EXPECT_EQ(elf.error().message().find('\n'), std::string::npos);
    }
    return;
  }
  FAIL() << "no PT_INTERP in the dynamic probe";
}

TEST_F(ElfTest, CorruptionsAreNamedByFieldAndOffset) {
  ASSERT_TRUE(static_ok_);
  const std::string good = read_host_file(dir_->path() / "probe-static");
  Elf64_Ehdr eh;
  std::memcpy(&eh, good.data(), sizeof eh);
  struct Case {
    std::string bytes;
    std::string expected;
  };
  std::vector<Case> cases;
  cases.push_back({good.substr(0, 20), "shorter than the 64-byte ELF header"});
  {
    std::string b = good;
    b[1] = 'X';
    cases.push_back({b, "bad magic at offset 0"});
  }
  {
    std::string b = good;
    b[4] = 1;
    cases.push_back({b, "EI_CLASS"});
  }
  {
    std::string b = good;
    b[18] = 3;
    cases.push_back({b, "e_machine (offset 18)"});
  }
  {
    std::string b = good;
    b[16] = 1;
    cases.push_back({b, "e_type (offset 16)"});
  }
  {
    std::string b = good;
    std::uint64_t off = good.size() - 8;
    std::memcpy(&b[32], &off, 8);
    cases.push_back({b, "e_phoff"});
  }
  {  // the first PT_LOAD's file range past the end
    std::string b = good;
    for (int i = 0; i < eh.e_phnum; ++i) {
      Elf64_Phdr ph;
      std::memcpy(&ph, &b[eh.e_phoff + i * sizeof ph], sizeof ph);
      if (ph.p_type != PT_LOAD) continue;
      ph.p_filesz = good.size() * 2;
      ph.p_memsz = ph.p_filesz;
      std::memcpy(&b[eh.e_phoff + i * sizeof ph], &ph, sizeof ph);
      break;
    }
    cases.push_back({b, "runs past the end of the file"});
  }
  {
    std::string b = good;
    std::uint64_t entry = 0x10;
    std::memcpy(&b[24], &entry, 8);
    cases.push_back({b, "e_entry (offset 24)"});
  }
  for (const auto& c : cases) {
    auto elf = parse_elf(c.bytes, "corrupt");
    ASSERT_FALSE(elf) << c.expected;
    EXPECT_NE(elf.error().message().find(c.expected), std::string::npos) << elf.error().message();
    EXPECT_EQ(elf.error().message().rfind("corrupt: ", 0), 0u);
  }
}

TEST_F(ElfTest, MutatedHeadersNeverCrashTheLoader) {
  // A deterministic fuzz of the bytes the parser reads (ELF header and program headers): every
  // mutant is either refused with a one-line error or loads into a guest without a crash.
  ASSERT_TRUE(static_ok_);
  const std::string good = read_host_file(dir_->path() / "probe-static");
  Elf64_Ehdr eh;
  std::memcpy(&eh, good.data(), sizeof eh);
  const std::size_t span = eh.e_phoff + eh.e_phnum * sizeof(Elf64_Phdr);
  std::uint64_t state = 0x9E3779B97F4A7C15ull;
  auto next = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  int refused = 0, loaded = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string mutant = good;
    const int flips = 1 + static_cast<int>(next() % 4);
    for (int f = 0; f < flips; ++f) mutant[next() % span] = static_cast<char>(next());
    auto elf = parse_elf(mutant, "mutant");
    if (!elf) {
      ++refused;
      EXPECT_EQ(elf.error().message().find('\n'), std::string::npos);
      continue;
    }
    if (loaded >= 100) continue;  // loading is the slow part; a sample of the accepted suffices
    ++loaded;
    GuestSpec spec;
    spec.program_name = "mutant";
    spec.elf_bytes = mutant;
    spec.elf = *elf;
    spec.argv = {"mutant"};
    spec.memory_bytes = 32 << 20;
    (void)prepare_guest(spec);  // may refuse (e.g. a segment in the kernel area), must not crash
  }
  EXPECT_GT(refused, 0);
  EXPECT_GT(loaded, 0);
}

// ---------- initial stack ----------

TEST(UserStack, FollowsTheSysVLayout) {
  AuxvInputs aux;
  aux.phdr = 0x400040;
  aux.phent = 56;
  aux.phnum = 9;
  aux.entry = 0x401000;
  for (int i = 0; i < 16; ++i) aux.random[i] = static_cast<std::uint8_t>(i * 7);
  const std::uint64_t top = 0x7ffffffff000;
  InitialStack s = build_initial_stack(top, {"prog", "a b", ""}, {"HOME=/", "X=1"}, aux);
  EXPECT_EQ(s.rsp % 16, 0u);
  EXPECT_EQ(s.rsp + s.bytes.size(), top);
  auto word = [&](std::size_t i) {
    std::uint64_t w;
    std::memcpy(&w, s.bytes.data() + i * 8, 8);
    return w;
  };
  auto string_at = [&](std::uint64_t addr) {
    EXPECT_GE(addr, s.rsp);
    EXPECT_LT(addr, top);
    return std::string(reinterpret_cast<const char*>(s.bytes.data() + (addr - s.rsp)));
  };
  EXPECT_EQ(word(0), 3u);
  EXPECT_EQ(string_at(word(1)), "prog");
  EXPECT_EQ(string_at(word(2)), "a b");
  EXPECT_EQ(string_at(word(3)), "");
  EXPECT_EQ(word(4), 0u);
  EXPECT_EQ(string_at(word(5)), "HOME=/");
  EXPECT_EQ(string_at(word(6)), "X=1");
  EXPECT_EQ(word(7), 0u);
  std::map<std::uint64_t, std::uint64_t> auxv;
  std::size_t i = 8;
  for (; word(i) != AT_NULL; i += 2) auxv[word(i)] = word(i + 1);
  EXPECT_EQ(auxv[AT_PHDR], 0x400040u);
  EXPECT_EQ(auxv[AT_PHENT], 56u);
  EXPECT_EQ(auxv[AT_PHNUM], 9u);
  EXPECT_EQ(auxv[AT_PAGESZ], 4096u);
  EXPECT_EQ(auxv[AT_ENTRY], 0x401000u);
  EXPECT_EQ(string_at(auxv[AT_PLATFORM]), "x86_64");
  EXPECT_EQ(string_at(auxv[AT_EXECFN]), "prog");
  ASSERT_TRUE(auxv.count(AT_RANDOM));
  EXPECT_EQ(std::memcmp(s.bytes.data() + (auxv[AT_RANDOM] - s.rsp), aux.random.data(), 16), 0);
}

// ---------- guest memory and page tables ----------

class SpaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = GuestMemory::create(16 << 20);
    ASSERT_TRUE(m);
    memory_ = std::make_unique<GuestMemory>(std::move(*m));
    frames_ = std::make_unique<FrameAllocator>(*memory_, GUEST_KERNEL_AREA_END);
    const auto ranges = kernel_area_ranges();
    auto s = AddressSpace::create(*memory_, *frames_, ranges);
    ASSERT_TRUE(s);
    space_ = std::make_unique<AddressSpace>(std::move(*s));
  }
  std::unique_ptr<GuestMemory> memory_;
  std::unique_ptr<FrameAllocator> frames_;
  std::unique_ptr<AddressSpace> space_;
};

TEST_F(SpaceTest, GuestMemoryBoundsAreOverflowSafe) {
  EXPECT_NE(memory_->at(0, 16 << 20), nullptr);
  EXPECT_EQ(memory_->at(1, 16 << 20), nullptr);
  EXPECT_EQ(memory_->at(16 << 20, 1), nullptr);
  EXPECT_EQ(memory_->at(~0ull, 2), nullptr);
  EXPECT_EQ(memory_->at(8, ~0ull - 4), nullptr);
}

TEST_F(SpaceTest, ResidentBytesCountOnlyTouchedGuestPages) {
  // Anonymous (KVM) and memfd (ptrace: counted from the file's blocks) guest memory alike.
  for (auto backing : {GuestMemory::Backing::anonymous, GuestMemory::Backing::memfd}) {
    auto m = GuestMemory::create(1 << 20, backing);
    ASSERT_TRUE(m);
    EXPECT_EQ(resident_bytes(*m), 0u);
    for (int page : {0, 7, 100}) m->base()[page * kPageSize] = 1;
    EXPECT_EQ(resident_bytes(*m), 3 * kPageSize);
    m->discard(7 * kPageSize, kPageSize);
    EXPECT_EQ(resident_bytes(*m), 2 * kPageSize);
    EXPECT_EQ(m->base()[7 * kPageSize], 0) << "a discarded frame reads as zero";
  }
}

TEST_F(SpaceTest, KernelAreaIsIdentityMappedForRingZeroOnly) {
  for (std::uint64_t addr : {std::uint64_t{GUEST_GDT_ADDR}, std::uint64_t{GUEST_KSTACK_TOP - 8},
                             std::uint64_t{GUEST_KERNEL_ADDR}}) {
    std::uint64_t pte = space_->entry(addr);
    EXPECT_TRUE(pte & x86::kPtePresent) << std::hex << addr;
    EXPECT_FALSE(pte & x86::kPteUser) << std::hex << addr;
    EXPECT_EQ(pte & x86::kPteAddressMask, addr & ~x86::kPageMask);
    EXPECT_FALSE(space_->translate(addr, Access::read)) << "ring 3 must not reach the kernel area";
  }
  EXPECT_FALSE(space_->entry(GUEST_KERNEL_ADDR) & x86::kPteNoExecute);
  EXPECT_FALSE(space_->entry(GUEST_KERNEL_ADDR) & x86::kPteWritable);
  EXPECT_TRUE(space_->entry(GUEST_KSTACK_BOTTOM) & x86::kPteNoExecute);
  EXPECT_TRUE(space_->entry(GUEST_KSTACK_BOTTOM) & x86::kPteWritable);
  EXPECT_FALSE(space_->entry(GUEST_GDT_ADDR) & x86::kPteWritable);
  EXPECT_EQ(space_->entry(0), 0u) << "page 0 stays unmapped";
}

TEST_F(SpaceTest, MapProtectUnmapAndTranslate) {
  const std::uint64_t a = 0x400000;
  ASSERT_TRUE(space_->map(a, 3 * kPageSize, kProtRead | kProtWrite));
  std::uint64_t pte = space_->entry(a);
  EXPECT_TRUE(pte & x86::kPteUser);
  EXPECT_TRUE(pte & x86::kPteWritable);
  EXPECT_TRUE(pte & x86::kPteNoExecute);
  EXPECT_GE(pte & x86::kPteAddressMask, std::uint64_t{GUEST_KERNEL_AREA_END});

  const std::string text = "across a page boundary";
  const std::uint64_t at = a + kPageSize - 5;
  ASSERT_TRUE(space_->write(at, {reinterpret_cast<const std::uint8_t*>(text.data()), text.size() + 1}));
  auto back = space_->read_string(at, 100);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, text);

  ASSERT_TRUE(space_->protect(a, kPageSize, kProtRead | kProtExec));
  EXPECT_FALSE(space_->entry(a) & x86::kPteNoExecute);
  EXPECT_EQ(space_->translate(a, Access::write).error(), EFAULT);
  EXPECT_TRUE(space_->translate(a, Access::read));
  ASSERT_TRUE(space_->protect(a, kPageSize, 0));
  EXPECT_EQ(space_->translate(a, Access::read).error(), EFAULT) << "PROT_NONE";
  EXPECT_TRUE(space_->is_mapped(a));

  ASSERT_TRUE(space_->unmap(a + kPageSize, kPageSize));
  EXPECT_FALSE(space_->is_mapped(a + kPageSize));
  EXPECT_TRUE(space_->is_mapped(a + 2 * kPageSize));
  EXPECT_EQ(space_->read_string(at, 100).error(), EFAULT);
  EXPECT_EQ(space_->protect(a, 3 * kPageSize, kProtRead).error(), ENOMEM) << "hole in the range";
}

TEST_F(SpaceTest, GuestPointersOutsideUserSpaceAreEfault) {
  std::uint8_t buf[16];
  EXPECT_EQ(space_->read(0, buf).error(), EFAULT);
  EXPECT_EQ(space_->read(0xdead0000000, buf).error(), EFAULT);
  EXPECT_EQ(space_->read(~0ull - 4, buf).error(), EFAULT) << "wraps around";
  EXPECT_EQ(space_->read(AddressSpace::kUserEnd - 8, buf).error(), EFAULT);
  EXPECT_EQ(space_->read(GUEST_KERNEL_ADDR, buf).error(), EFAULT);
  EXPECT_EQ(space_->map(0x1000, kPageSize, kProtRead).error(), ENOMEM) << "kernel area";
  EXPECT_EQ(space_->map(0x400001, kPageSize, kProtRead).error(), EINVAL);
  EXPECT_EQ(space_->map(AddressSpace::kUserEnd, kPageSize, kProtRead).error(), ENOMEM);
}

TEST_F(SpaceTest, FramesAreReusedZeroedAndExhaustionIsEnomem) {
  ASSERT_TRUE(space_->map(0x400000, kPageSize, kProtRead | kProtWrite));
  const std::uint8_t dirty[4] = {1, 2, 3, 4};
  ASSERT_TRUE(space_->write(0x400000, dirty));
  const std::uint64_t frame = space_->entry(0x400000) & x86::kPteAddressMask;
  ASSERT_TRUE(space_->unmap(0x400000, kPageSize));
  ASSERT_TRUE(space_->map(0x500000, kPageSize, kProtRead | kProtWrite));
  EXPECT_EQ(space_->entry(0x500000) & x86::kPteAddressMask, frame);
  std::uint8_t back[4] = {9, 9, 9, 9};
  ASSERT_TRUE(space_->read(0x500000, back));
  EXPECT_EQ(back[0] | back[1] | back[2] | back[3], 0);
  // 16 MiB of guest memory cannot map 32 MiB.
  auto big = space_->map(0x10000000, 32 << 20, kProtRead);
  EXPECT_EQ(big.error(), ENOMEM);
  EXPECT_FALSE(space_->is_mapped(0x10000000)) << "a failed map leaves nothing behind";
}

// MAP_SHARED of a file: one frame per page of the file, whoever maps it; coherent with the file
// through write-back and read-in; freed once no mapping holds it.
TEST_F(SpaceTest, SharedFilePagesAreOneFrameAndWrittenBack) {
  char path[] = "/tmp/spectrum-shared-file-XXXXXX";
  UniqueFd fd(::mkstemp(path));
  ASSERT_TRUE(fd);
  ::unlink(path);
  ASSERT_EQ(::pwrite(fd.get(), "abcdef", 6, 0), 6);
  // The page tables of both addresses first, so that the count below is of data frames only.
  for (std::uint64_t at : {0x400000ull, 0x800000ull}) {
    ASSERT_TRUE(space_->map(at, 2 * kPageSize, kProtRead));
    ASSERT_TRUE(space_->unmap(at, 2 * kPageSize));
  }
  const std::uint64_t before = frames_->free_frames();
  {
    kernel::SharedFiles files(*memory_, *frames_);
    auto first = files.frames_of(fd.get(), 0, 2);
    ASSERT_TRUE(first);
    auto again = files.frames_of(fd.get(), 4096, 1);
    ASSERT_TRUE(again);
    EXPECT_EQ((*again)[0], (*first)[1]) << "the same page of the file is the same frame";
    EXPECT_EQ(std::memcmp(memory_->at((*first)[0], 6), "abcdef", 6), 0);
    // Two mappings of the file share the frames.
    ASSERT_TRUE(space_->map_frames(0x400000, *first, kProtRead | kProtWrite));
    ASSERT_TRUE(space_->map_frames(0x800000, *first, kProtRead));
    const std::uint8_t x[] = {'X'};
    ASSERT_TRUE(space_->write(0x400000, x));
    std::uint8_t seen[1] = {};
    ASSERT_TRUE(space_->read(0x800000, seen));
    EXPECT_EQ(seen[0], 'X');
    // The file sees the write before a read, and the mapping sees a write to the file after it.
    files.before_io(fd.get());
    char head[7] = {};
    ASSERT_EQ(::pread(fd.get(), head, 6, 0), 6);
    EXPECT_STREQ(head, "Xbcdef");
    ASSERT_EQ(::pwrite(fd.get(), "Z", 1, 1), 1);
    files.after_change(fd.get());
    ASSERT_TRUE(space_->read(0x400001, seen));
    EXPECT_EQ(seen[0], 'Z');
    // Held by the mappings: nothing is released; unmapped: written back and freed.
    files.release_unused();
    EXPECT_TRUE(frames_->held_by_others((*first)[0]));
    ASSERT_TRUE(space_->unmap(0x400000, 2 * kPageSize));
    ASSERT_TRUE(space_->unmap(0x800000, 2 * kPageSize));
    const std::uint8_t y[] = {'Y'};
    std::memcpy(memory_->at((*first)[0] + 2, 1), y, 1);  // as a last write through a mapping
    files.release_unused();
    ASSERT_EQ(::pread(fd.get(), head, 6, 0), 6);
    EXPECT_STREQ(head, "XZYdef");
    // The page past the end of the file is never written to it.
    struct stat st;
    ASSERT_EQ(::fstat(fd.get(), &st), 0);
    EXPECT_EQ(st.st_size, 6);
  }
  EXPECT_EQ(frames_->free_frames(), before) << "every frame given back";
  kernel::SharedFiles files(*memory_, *frames_);
  auto not_a_file = files.frames_of(STDIN_FILENO, 0, 1);
  if (struct stat st; ::fstat(STDIN_FILENO, &st) == 0 && !S_ISREG(st.st_mode)) {
    ASSERT_FALSE(not_a_file);
    EXPECT_EQ(not_a_file.error(), ENODEV);
  }
  auto too_many = files.frames_of(fd.get(), 0, frames_->free_frames() + 1);
  ASSERT_FALSE(too_many);
  EXPECT_EQ(too_many.error(), ENOMEM);
}

TEST_F(SpaceTest, FindFreeSearchesDownwardsAroundMappings) {
  auto first = space_->find_free(2 * kPageSize);
  ASSERT_TRUE(first);
  // Below the stack's region: a stack overflow must never run into what mmap placed.
  EXPECT_EQ(*first, AddressSpace::kMmapTop - 2 * kPageSize);
  ASSERT_TRUE(space_->map(*first, 2 * kPageSize, kProtRead));
  auto second = space_->find_free(kPageSize);
  ASSERT_TRUE(second);
  EXPECT_EQ(*second, *first - kPageSize);
}

// ---------- GDT, IDT, TSS, kernel image, initial state ----------

TEST_F(SpaceTest, KernelAreaTablesHaveTheRightBits) {
  ASSERT_TRUE(write_kernel_area(*memory_));
  auto* gdt = reinterpret_cast<const std::uint64_t*>(memory_->at(GUEST_GDT_ADDR, 64));
  auto access = [](std::uint64_t d) { return (d >> 40) & 0xFF; };
  auto long_bit = [](std::uint64_t d) { return (d >> 53) & 1; };
  EXPECT_EQ(gdt[0], 0u);
  EXPECT_EQ(access(gdt[GUEST_SEL_KERNEL_CODE / 8]), 0x9Au);  // present, DPL 0, code, readable
  EXPECT_EQ(long_bit(gdt[GUEST_SEL_KERNEL_CODE / 8]), 1u);
  EXPECT_EQ(access(gdt[GUEST_SEL_KERNEL_DATA / 8]), 0x92u);
  EXPECT_EQ(access(gdt[GUEST_SEL_USER_DATA / 8]), 0xF2u);  // DPL 3
  EXPECT_EQ(access(gdt[GUEST_SEL_USER_CODE / 8]), 0xFAu);
  EXPECT_EQ(long_bit(gdt[GUEST_SEL_USER_CODE / 8]), 1u);
  EXPECT_EQ(access(gdt[GUEST_SEL_TSS / 8]), 0x89u);  // available 64-bit TSS
  const std::uint64_t tss_base = ((gdt[GUEST_SEL_TSS / 8] >> 16) & 0xFFFFFF) |
                                 (((gdt[GUEST_SEL_TSS / 8] >> 56) & 0xFF) << 24) |
                                 (gdt[GUEST_SEL_TSS / 8 + 1] << 32);
  EXPECT_EQ(tss_base, std::uint64_t{GUEST_TSS_ADDR});

  auto* tss = reinterpret_cast<const x86::Tss*>(memory_->at(GUEST_TSS_ADDR, sizeof(x86::Tss)));
  EXPECT_EQ(tss->rsp[0], std::uint64_t{GUEST_KSTACK_TOP});
  EXPECT_EQ(tss->ist[0], std::uint64_t{GUEST_DF_STACK_TOP});
  EXPECT_EQ(tss->iomap_base, sizeof(x86::Tss));

  auto* idt = reinterpret_cast<const x86::IdtGate*>(memory_->at(GUEST_IDT_ADDR, 256 * 16));
  for (unsigned v = 0; v < 32; ++v) {
    const std::uint64_t handler = idt[v].offset_low | (std::uint64_t{idt[v].offset_mid} << 16) |
                                  (std::uint64_t{idt[v].offset_high} << 32);
    EXPECT_EQ(handler, GUEST_KERNEL_ADDR + v * GUEST_VECTOR_STUB_SIZE) << v;
    EXPECT_EQ(idt[v].selector, GUEST_SEL_KERNEL_CODE);
    EXPECT_EQ(idt[v].type_attributes & 0x8F, 0x8E) << "present 64-bit interrupt gate";
    EXPECT_EQ((idt[v].type_attributes >> 5) & 3, (v == 3 || v == 4) ? 3 : 0) << v;
    EXPECT_EQ(idt[v].ist, v == 8 ? 1 : 0);
  }
  EXPECT_EQ(idt[32].type_attributes, 0) << "no gates beyond the exceptions";

  // The kernel image: stubs and entry points where abi.h says.
  const auto image = guest_kernel_image();
  ASSERT_GE(image.size(), std::size_t{GUEST_OFFSET_SYSCALL + 5});
  EXPECT_EQ(std::memcmp(memory_->at(GUEST_KERNEL_ADDR, image.size()), image.data(), image.size()), 0);
  const std::uint8_t* k = image.data();
  EXPECT_EQ(k[GUEST_OFFSET_SYSCALL], 0xE6);  // out %al, $imm8
  EXPECT_EQ(k[GUEST_OFFSET_SYSCALL + 1], HC_PORT_SYSCALL);
  EXPECT_EQ(std::memcmp(k + GUEST_OFFSET_SYSCALL + 2, "\x48\x0f\x07", 3), 0);  // sysretq
  EXPECT_EQ(k[GUEST_OFFSET_ENTER_USER], 0x48);
  EXPECT_EQ(k[GUEST_OFFSET_ENTER_USER + 1], 0xCF);  // iretq
  const std::uint8_t* pf = k + 14 * GUEST_VECTOR_STUB_SIZE;
  EXPECT_EQ(pf[0], 0xE6);
  EXPECT_EQ(pf[1], HC_PORT_EXCEPTION_BASE + 14);
  EXPECT_EQ(std::memcmp(pf + 2, "\x48\xcf", 2), 0);  // iretq
}

TEST_F(SpaceTest, InitialStateEntersRingThreeThroughIret) {
  ASSERT_TRUE(write_kernel_area(*memory_));
  auto s = initial_vcpu_state(*memory_, space_->root(), 0x401000, 0x7ffffffff000 - 64);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->cr3, space_->root());
  EXPECT_TRUE(s->cr0 & x86::kCr0Pg);
  EXPECT_TRUE(s->cr0 & x86::kCr0Pe);
  EXPECT_TRUE(s->cr4 & x86::kCr4Pae);
  EXPECT_TRUE(s->efer & x86::kEferLma);
  EXPECT_TRUE(s->efer & x86::kEferSce);
  EXPECT_TRUE(s->efer & x86::kEferNxe);
  EXPECT_EQ(s->cs.l, 1);
  EXPECT_EQ(s->cs.dpl, 0);
  EXPECT_EQ(s->rip, std::uint64_t{GUEST_KERNEL_ADDR + GUEST_OFFSET_ENTER_USER});
  EXPECT_EQ(s->lstar, std::uint64_t{GUEST_KERNEL_ADDR + GUEST_OFFSET_SYSCALL});
  EXPECT_EQ((s->star >> 32) & 0xFFFF, std::uint64_t{GUEST_SEL_KERNEL_CODE});
  EXPECT_EQ(((s->star >> 48) + 16) | 3, std::uint64_t{GUEST_SEL_USER_CODE | 3}) << "sysretq's CS";
  EXPECT_EQ(((s->star >> 48) + 8) | 3, std::uint64_t{GUEST_SEL_USER_DATA | 3}) << "sysretq's SS";
  EXPECT_TRUE(s->fmask & x86::kRflagsIf);
  x86::InterruptFrame frame;
  std::memcpy(&frame, memory_->at(s->rsp, sizeof frame), sizeof frame);
  EXPECT_EQ(frame.rip, 0x401000u);
  EXPECT_EQ(frame.cs, std::uint64_t{GUEST_SEL_USER_CODE | 3});
  EXPECT_EQ(frame.ss, std::uint64_t{GUEST_SEL_USER_DATA | 3});
  EXPECT_EQ(frame.rsp, 0x7ffffffff000u - 64);
  EXPECT_FALSE(frame.rflags & x86::kRflagsIf);
}

// ---------- a whole prepared guest ----------

TEST_F(ElfTest, PreparedGuestHoldsTheImageAndTheStack) {
  ASSERT_TRUE(pie_ok_ && static_ok_);
  for (const char* name : {"probe-static", "probe-pie"}) {
    GuestSpec spec;
    spec.program_name = name;
    spec.elf_bytes = read_host_file(dir_->path() / name);
    auto elf = parse_elf(spec.elf_bytes, name);
    ASSERT_TRUE(elf);
    spec.elf = *elf;
    spec.argv = {"/probe", "hello"};
    spec.envp = {"HOME=/"};
    spec.memory_bytes = 64 << 20;
    auto g = prepare_guest(spec);
    ASSERT_TRUE(g) << g.error().message();
    EXPECT_EQ(g->load_bias, elf->position_independent ? kPieBase : 0u) << name;
    // The segments' file bytes are at their virtual addresses, executable where the ELF says.
    for (const auto& seg : elf->segments) {
      std::vector<std::uint8_t> got(std::min<std::uint64_t>(seg.file_size, 4096));
      ASSERT_TRUE(g->space->read(seg.vaddr + g->load_bias, got))
          << name << " segment " << std::hex << seg.vaddr << " pte "
          << g->space->entry(seg.vaddr + g->load_bias) << " size " << got.size();
      EXPECT_EQ(std::memcmp(got.data(), spec.elf_bytes.data() + seg.file_offset, got.size()), 0) << name;
      const std::uint64_t pte = g->space->entry(seg.vaddr + g->load_bias);
      if (seg.prot & PROT_EXEC) {
        EXPECT_FALSE(pte & x86::kPteNoExecute);
      }
    }
    EXPECT_EQ(g->entry, elf->entry + g->load_bias);
    x86::InterruptFrame frame;
    std::memcpy(&frame, g->memory->at(g->vcpu.rsp, sizeof frame), sizeof frame);
    EXPECT_EQ(frame.rip, g->entry);
    std::uint64_t argc = 0;
    ASSERT_TRUE(g->space->read(frame.rsp, {reinterpret_cast<std::uint8_t*>(&argc), 8}));
    EXPECT_EQ(argc, 2u);
    EXPECT_GE(g->brk_start, elf->highest_vaddr() + g->load_bias);
  }
}

TEST_F(ElfTest, TooLittleMemoryIsOneLineError) {
  ASSERT_TRUE(static_ok_);
  GuestSpec spec;
  spec.program_name = "probe-static";
  spec.elf_bytes = read_host_file(dir_->path() / "probe-static");
  spec.elf = *parse_elf(spec.elf_bytes, "probe-static");
  spec.memory_bytes = 1 << 20;
  auto g = prepare_guest(spec);
  ASSERT_FALSE(g);
  EXPECT_NE(g.error().message().find("too small"), std::string::npos) << g.error().message();
  EXPECT_EQ(g.error().exit_status(), 125);
}

// ---------- CPUID ----------

TEST(Cpuid, FilterHidesWhatRingZeroCannotEmulate) {
  auto leaves = [] {
    return std::vector<CpuidLeaf>{{1, 0, 0, 0, 0, 0xFFFFFFFFu & ~(1u << 31), 0xFFFFFFFF},
                                  {7, 0, 0, 0, 0xFFFFFFFF, 0, 0xFFFFFFFF},
                                  {0xD, 0, 0, 7, 0, 0, 0}};
  };
  auto linux_leaves = leaves();
  filter_cpuid(linux_leaves, GuestKind::linux_kernel);
  EXPECT_FALSE(linux_leaves[0].ecx & (1u << 23)) << "POPCNT";
  EXPECT_FALSE(linux_leaves[0].ecx & (1u << 26)) << "XSAVE";
  EXPECT_FALSE(linux_leaves[0].ecx & (1u << 13)) << "CX16";
  EXPECT_TRUE(linux_leaves[0].ecx & (1u << 31)) << "hypervisor";
  EXPECT_FALSE(linux_leaves[1].ebx & (1u << 20)) << "SMAP";
  EXPECT_FALSE(linux_leaves[1].edx & (1u << 29)) << "ARCH_CAPABILITIES";
  EXPECT_EQ(linux_leaves.size(), 2u) << "no XSAVE leaf without XSAVE";

  auto ours = leaves();
  filter_cpuid(ours, GuestKind::spectrum_kernel);
  EXPECT_TRUE(ours[0].ecx & (1u << 26)) << "ring 3 keeps XSAVE/AVX with our kernel";
  EXPECT_TRUE(ours[0].ecx & (1u << 23));
  EXPECT_FALSE(ours[1].ebx & (1u << 20));
  EXPECT_EQ(ours.size(), 3u);
}

TEST(Probe, ReportsFlavourAndWhyNot) {
  KvmHost host = probe_kvm_host();
  EXPECT_FALSE(host.flavour.empty());
  if (!host.usable) {
    EXPECT_NE(host.open_errno, 0);
    EXPECT_NE(host.reason.find("errno"), std::string::npos) << host.reason;
  }
  KvmHost missing = probe_kvm_host("/nonexistent/kvm");
  EXPECT_FALSE(missing.usable);
  EXPECT_EQ(missing.open_errno, ENOENT);
  EXPECT_NE(missing.reason.find("/nonexistent/kvm"), std::string::npos);
}

TEST(Probe, FlavourFollowsTheLoadedModule) {
  KvmHost host = probe_kvm_host();
  if (fs::exists("/sys/module/kvm_pvm")) {
    EXPECT_EQ(host.flavour, "kvm_pvm");
  } else if (fs::exists("/sys/module/kvm_intel")) {
    EXPECT_EQ(host.flavour, "hardware (kvm_intel)");
  }
}

}  // namespace
}  // namespace spectrum::vm

namespace spectrum::vm {
namespace {

// The monitor installs the seccomp program embedded at build time; it must be exactly what
// libseccomp builds from today's allow-list (a stale or hand-edited program fails here), and it
// must still kill what the list leaves out.
TEST(MonitorFilterTest, TheEmbeddedProgramIsWhatLibseccompBuildsFromTheAllowList) {
  for (bool ptrace_platform : {false, true}) {
    auto built = build_monitor_filter(ptrace_platform);
    ASSERT_TRUE(built) << built.error().message();
    const std::span<const sock_filter> embedded = embedded_monitor_filter(ptrace_platform);
    ASSERT_EQ(embedded.size(), built->size()) << "ptrace platform: " << ptrace_platform;
    EXPECT_EQ(std::memcmp(embedded.data(), built->data(), embedded.size_bytes()), 0);
  }
  EXPECT_NE(embedded_monitor_filter(false).size(), embedded_monitor_filter(true).size())
      << "ptrace, wait4 and kill are allowed only for the ptrace platform";
}

TEST(MonitorFilterTest, ACallOutsideTheListKillsTheMonitor) {
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (!install_monitor_seccomp()) ::_exit(100);
    ::syscall(SYS_getppid);  // allowed nowhere in the monitor's list
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "exit status " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGSYS);
}

}  // namespace
}  // namespace spectrum::vm

namespace spectrum::vm {
namespace {

// Guest-physical 2 MiB boundaries are host ones for anonymous guest memory, so the huge page the
// frame allocator asks for (and KVM's large mappings) can line up; the hint changes no content.
TEST(GuestMemoryTest, AnonymousGuestMemoryIsAlignedToTwoMebibytes) {
  for (std::uint64_t size :
       {std::uint64_t{4} << 20, std::uint64_t{6} << 20, (std::uint64_t{5} << 20) + 4096}) {
    auto m = GuestMemory::create(size);
    ASSERT_TRUE(m) << m.error().message();
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(m->base()) % (2u << 20), 0u) << size;
    FrameAllocator frames(*m, 2u << 20);  // hints [2 MiB, 4 MiB)
    auto frame = frames.allocate();
    ASSERT_TRUE(frame);
    EXPECT_EQ(*frame, 2u << 20);
    EXPECT_EQ(m->base()[*frame], 0);
    m->base()[size - 1] = 1;  // the whole size is usable, the trimmed slack is not part of it
  }
}

}  // namespace
}  // namespace spectrum::vm
