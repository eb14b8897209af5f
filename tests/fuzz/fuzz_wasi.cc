// libFuzzer target: the WASI host calls a wasm guest makes (wasm/wasi), with the guest's own
// choice of function, arguments and linear memory, over real preopened directories: a writable
// one and a read-only one inside it, on the host's file system.
//
// Input: 256 bytes copied to the start of linear memory (the strings, iovecs and structures the
// pointers below may land on), then calls: one byte picks the function in the table, then per
// parameter one byte picks the kind (small number, pointer into memory, raw 32/64 bits) and 8
// bytes give the value.
//
// Findings besides crashes and sanitizer reports (each aborts):
//   - a file outside the preopens changed (a sentinel beside them);
//   - anything under the read-only preopen changed;
//   - a call returned neither an errno below 77 nor an exit, or was interrupted (nobody
//     interrupts here). A poll_oneoff's clock is clamped to a millisecond, so every call returns.
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "wasm/wasi/wasi.h"

namespace {

namespace fs = std::filesystem;
using spectrum::wasi::CallResult;
using spectrum::wasi::HostFunction;
using spectrum::wasi::ValType;

constexpr std::size_t kMemory = 64 << 10;  // one wasm page
constexpr std::size_t kPrefix = 256;
constexpr int kMaxCalls = 32;

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "wasi fuzz: invariant broken: %s\n", what.c_str());
  std::abort();
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every entry's path, type, mode and size, and every file's bytes, under `dir`.
std::string tree_of(const fs::path& dir) {
  std::vector<std::string> lines;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::none, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0) continue;
    std::string line =
        it->path().string() + " " + std::to_string(st.st_mode) + " " + std::to_string(st.st_size);
    if (S_ISREG(st.st_mode)) line += " " + slurp(it->path());
    lines.push_back(line);
  }
  std::sort(lines.begin(), lines.end());
  std::string all;
  for (const std::string& l : lines) all += l + "\n";
  return all;
}

struct Host {
  fs::path base, sandbox, read_only, sentinel;
  std::string read_only_tree;
};

const Host& host() {
  static const Host h = [] {
    // On a tmpfs: the guest's fd_sync and fd_datasync must not wait for a disk.
    char pattern[] = "/dev/shm/spectrum-fuzz-wasi.XXXXXX";
    if (!::mkdtemp(pattern)) std::abort();
    Host made;
    made.base = pattern;
    made.sandbox = made.base / "sandbox";
    made.read_only = made.sandbox / "ro";
    made.sentinel = made.base / "sentinel";
    std::ofstream(made.sentinel) << "outside every preopen";
    fs::create_directories(made.read_only / "sub");
    std::ofstream(made.read_only / "kept") << "read-only bytes";
    std::ofstream(made.read_only / "sub" / "deeper") << "deeper read-only bytes";
    made.read_only_tree = tree_of(made.read_only);
    // Nothing left behind when the fuzzer ends (a crash keeps it, with the input that made it).
    static std::string remove_at_exit = made.base.string();
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(remove_at_exit, ec);
    });
    return made;
  }();
  return h;
}

// The writable preopen's contents at the start of every input: a file, a directory, a symlink
// inside and one pointing out, so each input starts from the same state.
void reset_sandbox(const Host& h) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(h.sandbox, ec))
    if (entry.path() != h.read_only) fs::remove_all(entry.path(), ec);
  std::ofstream(h.sandbox / "file") << "hello, wasi";
  fs::create_directories(h.sandbox / "dir" / "nested", ec);
  fs::create_symlink("file", h.sandbox / "inside", ec);
  fs::create_symlink("../sentinel", h.sandbox / "outside", ec);
  fs::create_symlink("/etc/passwd", h.sandbox / "absolute", ec);
}

struct Input {
  const std::uint8_t* data;
  std::size_t size, at = 0;
  bool more() const { return at < size; }
  std::uint8_t byte() { return at < size ? data[at++] : 0; }
  std::uint64_t word() {
    std::uint64_t v = 0;
    const std::size_t n = std::min<std::size_t>(8, size - std::min(at, size));
    std::memcpy(&v, data + at, n);
    at += n;
    return v;
  }
};

std::uint64_t argument(Input& in, ValType type) {
  const std::uint8_t kind = in.byte();
  const std::uint64_t raw = in.word();
  std::uint64_t v = 0;
  switch (kind % 4) {
    case 0:
      v = raw % 16;
      break;  // an fd, a flag set, a small length
    case 1:
      v = raw % kMemory;
      break;  // a pointer into memory
    case 2:
      v = kMemory - raw % 64;
      break;  // a pointer at memory's end
    default:
      v = raw;
      break;  // anything
  }
  return type == ValType::i32 ? (v & 0xffffffffu) : v;
}

// Every clock subscription of a poll_oneoff waits at most a millisecond, relative.
void clamp_poll(std::uint8_t* memory, std::uint64_t in, std::uint64_t count) {
  for (std::uint64_t i = 0; i < count && i < 4096; ++i) {
    const std::uint64_t at = in + i * 48;
    if (at > kMemory || kMemory - at < 48) return;
    if (memory[at + 8] != 0) continue;  // not a clock
    std::uint64_t timeout = 0;
    std::memcpy(&timeout, memory + at + 24, 8);
    timeout = std::min<std::uint64_t>(timeout, 1000000);
    std::memcpy(memory + at + 24, &timeout, 8);
    memory[at + 40] &= static_cast<std::uint8_t>(~1u);  // not absolute
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Host& h = host();
  reset_sandbox(h);
  static std::vector<std::uint8_t> memory(kMemory);
  std::fill(memory.begin(), memory.end(), 0);
  std::memcpy(memory.data(), data, std::min(size, kPrefix));
  Input in{data, size, std::min(size, kPrefix)};

  spectrum::wasi::Config config;
  config.args = {"fuzz", "--flag", "value"};
  config.env = {"HOME=/", "LANG=C"};
  config.preopens = {{h.sandbox.string(), "/", false}, {h.read_only.string(), "/ro", true}};
  static const int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  config.stdin_fd = config.stdout_fd = config.stderr_fd = null_fd;
  auto wasi = spectrum::wasi::Wasi::create(config);
  if (!wasi) finding("Wasi::create: " + wasi.error().message());

  const auto functions = spectrum::wasi::host_functions();
  const spectrum::wasi::GuestMemory view(memory.data(), memory.size());
  for (int call = 0; call < kMaxCalls && in.more(); ++call) {
    const HostFunction& f = functions[in.byte() % functions.size()];
    std::uint64_t args[16] = {}, results[4] = {};
    for (std::size_t i = 0; i < f.params.size() && i < 16; ++i) args[i] = argument(in, f.params[i]);
    if (f.name == "poll_oneoff") clamp_poll(memory.data(), args[0], args[2]);
    const CallResult r = f.invoke(**wasi, view, args, results);
    if (r.kind == CallResult::Kind::exited) break;
    if (r.kind == CallResult::Kind::interrupted) finding(std::string(f.name) + " was interrupted");
    if (r.value > 76) finding(std::string(f.name) + " returned errno " + std::to_string(r.value));
  }
  wasi->reset();
  if (slurp(h.sentinel) != "outside every preopen") finding("the file outside the preopens changed");
  if (tree_of(h.read_only) != h.read_only_tree) finding("the read-only preopen changed");
  return 0;
}
