// The bundle, as the wasm tier's workload (core/tier.h, used as `spectrum run --tier wasm` uses it):
//   process.args[0]        the module, a path inside the root (without a slash: looked up along
//                          the process's PATH, then in process.cwd)
//   process.args, env      the module's argv (argv[0] = the path found) and its whole environment
//   root, mounts           preopens: "/" (read-only with root.readonly) and every bind mount's
//                          destination that is a directory (read-only where the mount is); the
//                          kernel's read-only mounts hold underneath anyway, the engine runs in
//                          the container's mount namespace
//   memory.limit           the engine's memory budget, less what the engine itself holds (the cgroup's
//                          limit is on the whole process)
//   process.cwd            a preopen "." of that directory (under the root preopen), made last so
//                          that wasi-libc resolves relative paths there, and $PWD; WASI preview1
//                          has no working directory of its own (see docs/container.md)
//   stdio, terminal        the init's 0, 1, 2, as the container tier sets them up
// The outcome is the container's exit status: the module's exit code, 128+N for a trap reported
// as signal N (the one the same fault raises natively), 137 when the memory budget ends it.
#include "container/wasm_handler.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <vector>

#include "container/handler_start.h"
#include "core/fd.h"
#include "core/tier.h"
#include "wasm/engine.h"

namespace spectrum::container {
namespace {

Result<std::vector<std::uint8_t>> read_bytes(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail_errno("process.args[0]: wasm module " + path);
  std::vector<std::uint8_t> bytes;
  std::uint8_t buffer[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno("process.args[0]: wasm module " + path);
    if (n == 0) return bytes;
    bytes.insert(bytes.end(), buffer, buffer + n);
  }
}

Result<void> check(const Config& config) {
  std::string path = SPECTRUM_TRY(find_in_root(config.process, "wasm module"));
  // Decoded and validated now, so that `create` fails on a file that is not a module.
  auto bytes = SPECTRUM_TRY(read_bytes(path));
  auto module = wasm::Module::load(bytes);
  if (!module)
    return fail(
        "process.args[0]: " + path + " is not a valid WebAssembly module: " + module.error().message(),
        ENOEXEC, ExitCode::not_executable);
  if (!config.process.cwd.empty() && config.process.cwd != "/") {
    struct stat st {};
    if (::stat(config.process.cwd.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      return fail("process.cwd: " + config.process.cwd + ": not a directory in the root filesystem");
  }
  return {};
}

// What the engine holds beside the module's memory, for the budget to leave room for: this
// process's resident memory now (the binary, the decoded module) and a margin for what it makes
// while it runs outside the budget (heap, WASI buffers, the module file's page cache).
std::uint64_t engine_reserve() {
  constexpr std::uint64_t kMargin = 8ull << 20;
  long pages = 0, resident = 0;
  if (FILE* statm = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(statm, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(statm);
  }
  const std::uint64_t held =
      resident > 0 ? static_cast<std::uint64_t>(resident) * ::sysconf(_SC_PAGESIZE) : 4ull << 20;
  return held + kMargin;
}

Workload wasm_workload(const Config& config, const std::string& module) {
  Workload w = workload_of(config, module);
  // The cgroup's limit holds the whole process: with the budget at the limit itself, the engine's
  // own memory beside a module grown to it could meet the kernel's OOM killer before the budget
  // did (137 without a word). A very small limit keeps half of itself for the module.
  if (w.limits.memory_bytes) {
    const std::uint64_t limit = *w.limits.memory_bytes, reserve = engine_reserve();
    w.limits.memory_bytes = limit > 2 * reserve ? limit - reserve : limit / 2;
  }
  const std::string& cwd = config.process.cwd;
  if (!cwd.empty() && cwd != "/") {
    // wasi-libc strips the leading '/' of every path and gives it to the preopen with the longest
    // matching name, the latest made among equals: "." made after "/" takes relative paths (and
    // absolute ones no mount claims: WASI preview1 cannot tell the two apart).
    bool read_only = config.root_readonly;
    for (const Mount& m : w.mounts)
      if (cwd == m.target || cwd.starts_with(m.target + "/")) read_only = m.read_only;
    w.mounts.push_back({cwd, ".", read_only});
    std::erase_if(w.env, [](const std::string& e) { return e.starts_with("PWD="); });
    w.env.push_back("PWD=" + cwd);
  }
  return w;
}

int run(const Config& config) {
  auto module = find_in_root(config.process, "wasm module");
  if (!module) return report_line("wasm", module.error().message(), module.error().exit_status());
  auto result = make_wasm_tier()->run(wasm_workload(config, *module));
  if (!result) return report_line("wasm", result.error().message(), result.error().exit_status());
  if (result->outcome != Outcome::exited && !result->detail.empty()) report_line("wasm", result->detail, 0);
  return result->shell_status();
}

}  // namespace

const InPlaceRun& wasm_in_place() {
  static const InPlaceRun handler{check, run, {}, false};
  return handler;
}

}  // namespace spectrum::container
