// Fuzz target: random syscall numbers and arguments to the monitor's handlers (Process::handle)
// over real guest memory, a real kernel area and real page tables, with the sandbox kernel's
// scheduling state behind them (fork, wait, kill, the System V objects, shared file pages); no
// vCPU is needed: the platform is one that never runs the workload, so only the calling process's
// handlers run, and forked children stay as fork left them. Built two
// ways: with libFuzzer by clang-16 (tests/vm/fuzz/build.sh, the long runs), and with the
// deterministic driver fuzz_driver.cc by the normal build (the ctest smoke run).
//
// Invariants, checked after every call (page tables after every memory call), a finding if broken:
//   - the kernel area (GDT, IDT, TSS, stacks, the kernel's code) keeps its bytes and its entries;
//   - no user-accessible entry maps a page-table frame, a kernel-area frame or anything past
//     guest memory, and nothing is mapped in the kernel area's addresses or the upper half;
//   - the host outside the root filesystem is unchanged (a sentinel file next to it);
//   - the log stays bounded; every call returns (libFuzzer's -timeout, the driver's alarm).
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "vm/boot.h"
#include "vm/guest/abi.h"
#include "vm/kernel/kernel.h"
#include "vm/kernel/process.h"
#include "vm/memory.h"
#include "vm/platform/platform.h"
#include "vm/vdso/vdso.h"

namespace {

using namespace spectrum::vm;
namespace fs = std::filesystem;
using x86::kPageSize;

constexpr std::uint64_t kMemory = 8 << 20;
constexpr std::uint64_t kData = 0x400000;  // 16 pages of strings and structures the calls point at
constexpr std::uint64_t kDataPages = 16;
constexpr std::uint64_t kStack = AddressSpace::kUserEnd - 8 * kPageSize;
constexpr int kMaxCalls = 48;
constexpr std::size_t kMaxLogLines = 40;

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "vm fuzz: invariant broken: %s\n", what.c_str());
  std::abort();
}

// The host directory the root filesystem lives in, made once per process.
struct Host {
  fs::path top, root, sentinel;
  std::string sentinel_text = "host file outside the root filesystem\n";
  Host() {
    // libFuzzer may end with _Exit (no destructors): a directory left by a process that is gone
    // is removed by the next one. The name carries the pid for that.
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/tmp", ec)) {
      const std::string name = e.path().filename().string();
      if (name.rfind("spectrum-vm-fuzz-", 0) != 0) continue;
      const long pid = std::strtol(name.c_str() + 17, nullptr, 10);
      if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) fs::remove_all(e.path(), ec);
    }
    top = "/tmp/spectrum-vm-fuzz-" + std::to_string(::getpid());
    fs::remove_all(top, ec);
    if (!fs::create_directory(top, ec)) std::abort();
    root = top / "root";
    sentinel = top / "sentinel";
    std::ofstream(sentinel) << sentinel_text;
  }
  ~Host() {
    std::error_code ec;
    fs::remove_all(top, ec);
  }
  // A fresh root filesystem for each input (the guest may write anywhere in it).
  void reset_root() const {
    std::error_code ec;
    fs::remove_all(root, ec);
    fs::create_directories(root / "data/dir");
    std::ofstream(root / "data/file.txt") << "inside\n";
    fs::create_symlink("/../../..", root / "escape", ec);
    fs::create_symlink("../../sentinel", root / "data/rel", ec);
    fs::create_symlink("/proc/self/root", root / "magic", ec);
  }
  void check() const {
    std::ifstream in(sentinel);
    std::string text{std::istreambuf_iterator<char>(in), {}};
    if (text != sentinel_text) finding("the sentinel file outside the root filesystem changed");
    for (const auto& e : fs::directory_iterator(top))
      if (e.path() != root && e.path() != sentinel)
        finding("a file appeared outside the root: " + e.path().string());
  }
};

const Host& host() {
  static Host h;
  return h;
}

// Values that tend to matter at a boundary: the kernel area, its aliases above 2^48, the user
// end, the upper half, sizes around them, fds and flags.
constexpr std::uint64_t kInteresting[] = {
    0,
    1,
    2,
    3,
    8,
    16,
    4095,
    4096,
    4097,
    0x1000,
    0x2000,
    0x3000,
    0x7ff8,
    0x10000,
    0x10000 + (1ull << 48),
    0x1000 + (1ull << 48),
    kData + (1ull << 48),
    0x1fffff,
    0x200000,
    kData,
    kData + 4096,
    0x800000,
    AddressSpace::kUserEnd - kPageSize,
    AddressSpace::kUserEnd,
    AddressSpace::kUserEnd + kPageSize,
    1ull << 46,
    1ull << 47,
    1ull << 48,
    0xffff'8000'0000'0000,
    0xffff'ffff'ffff'f000,
    ~0ull,
    ~0ull >> 1,
    0x7fff'ffff,
    0x8000'0000,
    static_cast<std::uint64_t>(-100),  // AT_FDCWD
    0x1002,                            // ARCH_SET_FS
    0x22,                              // MAP_PRIVATE | MAP_ANONYMOUS
    0x100022,                          // ... | MAP_FIXED_NOREPLACE
    0x32,                              // ... | MAP_FIXED
    7,                                 // PROT_READ | WRITE | EXEC
    4,                                 // MADV_DONTNEED
    0x41,                              // O_WRONLY | O_CREAT
    0x242,                             // O_RDWR | O_CREAT | O_TRUNC
    0x10000,                           // O_DIRECTORY
    0x401,                             // O_WRONLY | O_APPEND
    0x800,                             // O_NONBLOCK
};

// Strings and structures the pointer arguments aim at, written into the data pages.
const char* const kStrings[] = {
    "/",
    "/data/file.txt",
    "data/file.txt",
    "/../../sentinel",
    "/escape/sentinel",
    "/data/rel",
    "/magic/etc",
    "/data/dir",
    "/data/new",
    "..",
    "/proc/self/root",
    ".",
};

class Reader {
 public:
  Reader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  std::uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  std::uint64_t word() {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= std::uint64_t{byte()} << (8 * i);
    return v;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_, pos_ = 0;
};

const std::vector<std::uint64_t>& callable() {
  static const std::vector<std::uint64_t> numbers = [] {
    std::vector<std::uint64_t> out;
    for (std::uint64_t n = 0; n < 512; ++n) {
      // Sleeps would only measure the clock; everything else runs.
      if (n == SYS_nanosleep || n == SYS_clock_nanosleep) continue;
      if (Process::implemented(n)) out.push_back(n);
    }
    return out;
  }();
  return numbers;
}

bool is_memory_call(std::uint64_t n) {
  return n == SYS_mmap || n == SYS_munmap || n == SYS_mprotect || n == SYS_mremap || n == SYS_madvise ||
         n == SYS_brk;
}

// The platform of a kernel whose tasks never run: the handlers that read or set the caller's
// registers (fork, signals, execve) get the registers of a task stopped at its first instruction.
class NoVcpu final : public platform::ExecutionContext {
 public:
  spectrum::Result<platform::Stop> run() override { return spectrum::fail("the fuzz target runs no guest"); }
  spectrum::Result<platform::Registers> registers() override { return regs_; }
  spectrum::Result<void> set_registers(const platform::Registers& regs) override {
    regs_ = regs;
    return {};
  }
  std::uint64_t exits() const override { return 0; }

 private:
  platform::Registers regs_;
};

struct KernelEntry {
  std::uint64_t page, pte;
};

// Walks every table from CR3: returns the table frames, and checks each user entry.
void check_tables(const GuestMemory& memory, std::uint64_t root, const std::vector<KernelEntry>& kernel,
                  const AddressSpace& space) {
  std::set<std::uint64_t> tables;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> user_leaves;  // (vaddr, pte)
  auto walk = [&](auto&& self, std::uint64_t table, int level, std::uint64_t base) -> void {
    if (!tables.insert(table).second) finding("a page table is linked twice");
    const auto* t = reinterpret_cast<const std::uint64_t*>(memory.at(table, kPageSize));
    if (!t) finding("a table entry points past guest memory");
    for (std::uint64_t i = 0; i < 512; ++i) {
      const std::uint64_t e = t[i];
      const std::uint64_t vaddr = base | (i << (12 + 9 * level));
      if (!(e & (x86::kPtePresent | x86::kPteProtNone))) continue;
      if (level == 3 && i >= 256) finding("an entry in the upper half");
      if ((e & x86::kPteLarge) && level != 1) finding("a large page above the page directory");
      if ((e & x86::kPteLarge) && level == 1) {
        // A huge page: only user memory, 2 MiB of user frames; checked as its 512 pages.
        if (!(e & x86::kPteUser) && !(e & x86::kPteProtNone)) finding("a huge page without the user bit");
        if ((e & x86::kPteAddressMask) % x86::kHugePageSize) finding("a huge page's frame unaligned");
        // A reservation's entry (frame 0) stands for 512 reserved pages, each without a frame:
        // checked once, since a reservation of many GiB would list millions of pages.
        const std::uint64_t first = e & x86::kPteAddressMask;
        for (std::uint64_t p = 0; p < (first ? x86::kPagesPerHugePage : 1); ++p)
          user_leaves.push_back({vaddr + p * kPageSize, (first ? first + p * kPageSize : 0) |
                                                            (e & ~x86::kPteAddressMask & ~x86::kPteLarge)});
      } else if (level > 0) {
        self(self, e & x86::kPteAddressMask, level - 1, vaddr);
      } else if (e & x86::kPteUser || e & x86::kPteProtNone) {
        user_leaves.push_back({vaddr, e});
      }
    }
  };
  walk(walk, root, 3, 0);
  std::set<std::uint64_t> mapped_frames;
  for (const auto& [vaddr, e] : user_leaves) {
    const std::uint64_t frame = e & x86::kPteAddressMask;
    if (vaddr < AddressSpace::kUserLowest) finding("a user entry in the kernel area's addresses");
    // A reservation (private PROT_NONE never made accessible) has no frame: not present, not
    // shared, not user-accessible; anything else must map a user frame.
    const bool reservation = frame == 0 && (e & x86::kPteProtNone) && !(e & x86::kPtePresent);
    if (reservation && (e & (x86::kPteShared | x86::kPteUser))) finding("a reservation entry with rights");
    if (reservation) continue;
    if (frame < GUEST_KERNEL_AREA_END) finding("a user entry maps a kernel-area frame");
    if (frame + kPageSize > memory.size()) finding("a user entry maps past guest memory");
    if (tables.count(frame)) finding("a user entry maps a page-table frame");
    // A private frame belongs to one page only (a huge page's frames to none other either).
    if (!(e & x86::kPteShared) && !mapped_frames.insert(frame).second)
      finding("a private frame mapped twice");
    if ((e & x86::kPteCopyOnWrite) && (e & (x86::kPteWritable | x86::kPteShared)))
      finding("a copy-on-write entry that is writable or shared memory");
    // A private frame may have other holders (fork shares its pages) only while unwritable.
    if (!(e & x86::kPteShared) && (e & x86::kPteWritable) && space.frames().held_by_others(frame))
      finding("a writable private frame another process holds");
  }
  for (const KernelEntry& k : kernel)
    if (space.entry(k.page) != k.pte) finding("a kernel-area entry changed");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Host& h = host();
  h.reset_root();
  auto memory_or = GuestMemory::create(kMemory);
  if (!memory_or) std::abort();
  GuestMemory memory = std::move(*memory_or);
  FrameAllocator frames(memory, GUEST_KERNEL_AREA_END);
  const auto ranges = kernel_area_ranges();
  auto space_or = AddressSpace::create(memory, frames, ranges);
  if (!space_or || !write_kernel_area(memory)) std::abort();
  AddressSpace space = std::move(*space_or);
  if (!space.map(kData, kDataPages * kPageSize, kProtRead | kProtWrite) ||
      !space.map(kStack, 8 * kPageSize, kProtRead | kProtWrite))
    std::abort();
  std::vector<std::uint64_t> string_at;
  std::uint64_t at = kData;
  for (const char* s : kStrings) {
    if (!space.write(at, {reinterpret_cast<const std::uint8_t*>(s), std::strlen(s) + 1})) std::abort();
    string_at.push_back(at);
    at += 64;
  }
  // The kernel area as set up: its bytes and its entries.
  std::vector<KernelEntry> kernel;
  for (const auto& r : ranges)
    for (std::uint64_t page = r.start; page < r.end; page += kPageSize)
      kernel.push_back({page, space.entry(page)});
  const std::string kernel_bytes(reinterpret_cast<const char*>(memory.at(0, GUEST_KERNEL_AREA_END)),
                                 GUEST_KERNEL_AREA_END);

  // The vDSO as a run has it: execve maps it, the time calls answer from its clock.
  auto vdso = Vdso::create(memory, frames);
  if (!vdso) std::abort();

  std::size_t log_lines = 0;
  {
    ProcessConfig config;
    config.root = spectrum::UniqueFd(::open(h.root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    config.stdin_fd = spectrum::UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    config.stdout_fd = spectrum::UniqueFd(::open("/dev/null", O_WRONLY | O_CLOEXEC));
    config.stderr_fd = spectrum::UniqueFd(::open("/dev/null", O_WRONLY | O_CLOEXEC));
    config.memory_bytes = kMemory;
    config.executable = "/bin/fuzz";
    config.log = [&](const std::string&) { ++log_lines; };
    Process process(space, memory, std::move(config));
    process.set_brk_start(0x1000000);
    NoVcpu no_vcpu;
    kernel::Kernel sandbox_kernel(no_vcpu, process, 16);  // after the process: it goes first
    sandbox_kernel.set_vdso(vdso->get());

    Reader in(data, size);
    const auto& numbers = callable();
    for (int call = 0; call < kMaxCalls && !in.empty(); ++call) {
      SyscallRequest req;
      const std::uint8_t pick = in.byte();
      req.number = pick < 224 ? numbers[pick % numbers.size()] : (pick == 255 ? in.word() : in.byte() * 4ull);
      for (auto& arg : req.args) {
        const std::uint8_t mode = in.byte();
        switch (mode % 5) {
          case 0:
            arg = kInteresting[in.byte() % std::size(kInteresting)];
            break;
          case 1:
            arg = in.byte();
            break;
          case 2:
            arg = string_at[in.byte() % string_at.size()];
            break;
          case 3:
            arg = kData + (std::uint64_t{in.byte()} << 6);  // somewhere in the data pages
            break;
          default:
            arg = in.word();
        }
      }
      (*vdso)->clock().refresh();  // as before each entry into the guest
      const SyscallResult result = process.handle(req);
      if (result.kind != SyscallResult::Kind::value) break;  // exit or signal: the run would end here
      for (const auto& r : ranges)  // the kernel's pages after every call, all of the area at the end
        if (std::memcmp(memory.at(r.start, r.end - r.start), kernel_bytes.data() + r.start,
                        r.end - r.start) != 0)
          finding("the kernel area's bytes changed after syscall " + std::to_string(req.number));
      if (is_memory_call(req.number)) check_tables(memory, space.root(), kernel, space);
    }
  }
  check_tables(memory, space.root(), kernel, space);
  if (std::memcmp(memory.at(0, GUEST_KERNEL_AREA_END), kernel_bytes.data(), GUEST_KERNEL_AREA_END) != 0)
    finding("the kernel area's bytes changed");
  if (log_lines > kMaxLogLines) finding("the log grew to " + std::to_string(log_lines) + " lines");
  h.check();
  return 0;
}
