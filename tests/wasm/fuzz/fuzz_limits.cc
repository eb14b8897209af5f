// libFuzzer target: generated modules run as the wasm tier runs a workload with a small --memory
// and --timeout (a memory budget, a watchdog that interrupts the store, no fuel), start function
// and every exported function called. The host's peak memory and the wall time must stay within
// the limits, plus a fixed allowance for what an ASan build and a loaded machine add; anything
// over is a finding (issue 10: 20 tables of 10M funcrefs reached 1.56 GB under a 64 MiB limit,
// and loop-free recursion ran past the timeout).
//
// Peak memory: /proc/self/clear_refs resets the process's high-water mark (VmHWM) before each
// input, so VmHWM - VmRSS(before) is what this input added at its peak.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "stub_imports.h"
#include "wasm/engine.h"

using namespace spectrum::wasm;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::uint64_t kMemoryLimit = 16u << 20;
constexpr auto kTimeout = std::chrono::milliseconds(100);
// ASan's redzones, shadow and allocator caches on top of the budget, and the engine's own
// bookkeeping; the hole this guards against was 100x the limit.
constexpr std::uint64_t kMemoryAllowance = 48u << 20;
// ASan's slowdown and the scheduling of a shared machine: the run must end within this of the
// timeout (without the function-entry check it ran for hours).
constexpr auto kWallAllowance = std::chrono::seconds(3);

// "VmHWM" or "VmRSS" of /proc/self/status, in bytes.
std::uint64_t status_bytes(const char* key) {
  char buf[4096];
  const int fd = ::open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  const ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  const char* at = std::strstr(buf, key);
  return at ? std::strtoull(at + std::strlen(key) + 1, nullptr, 10) * 1024 : 0;
}

void reset_peak() {
  const int fd = ::open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  if (::write(fd, "5", 1) != 1) std::perror("clear_refs");
  ::close(fd);
}

// Interrupts the store once the timeout passes, as the tier's watchdog does.
class Watchdog {
 public:
  explicit Watchdog(Store& store)
      : thread_([this, &store] {
          std::unique_lock lock(mutex_);
          if (!wake_.wait_for(lock, kTimeout, [this] { return stopping_; })) store.interrupt();
        }) {}
  ~Watchdog() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

void run(const Module& module) {
  StoreLimits limits;
  limits.max_memory_pages = static_cast<std::uint32_t>(kMemoryLimit / kPageSize);
  limits.max_memory_bytes = kMemoryLimit;
  Store store(limits);
  Linker linker;
  if (!stub_imports(module, store, linker)) return;
  Watchdog watchdog(store);
  CallOutcome start;
  auto instance = linker.instantiate(store, module, start);
  if (!instance || !*instance) return;
  for (const ExportInfo& exp : module.exports()) {
    if (exp.kind != ExternKind::func) continue;
    const FuncType* type = module.function_type(exp.index);
    std::size_t slots = 0;  // one per argument, two per v128
    for (ValType t : type->params) slots += t == ValType::v128 ? 2 : 1;
    std::vector<std::uint64_t> args(slots, 0);
    auto outcome = (*instance)->call(exp.name, args);
    if (!outcome) __builtin_trap();  // arguments match the type: an Error here is a bug
    if (outcome->kind == CallOutcome::Kind::trapped && outcome->trap.kind == TrapKind::interrupted) return;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto module = Module::load(std::span<const std::uint8_t>(data, size));
  if (!module) return 0;
  const std::uint64_t before = status_bytes("VmRSS:");
  reset_peak();
  const Clock::time_point began = Clock::now();
  run(*module);
  const auto wall = Clock::now() - began;
  const std::uint64_t peak = status_bytes("VmHWM:");
  if (peak > before + kMemoryLimit + kMemoryAllowance) {
    std::fprintf(stderr, "fuzz_limits: the host's peak grew by %llu MiB under a %llu MiB limit\n",
                 static_cast<unsigned long long>((peak - before) >> 20),
                 static_cast<unsigned long long>(kMemoryLimit >> 20));
    __builtin_trap();
  }
  if (wall > kTimeout + kWallAllowance) {
    std::fprintf(stderr, "fuzz_limits: ran %lld ms under a %lld ms timeout\n",
                 static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(wall).count()),
                 static_cast<long long>(kTimeout.count()));
    __builtin_trap();
  }
  return 0;
}
