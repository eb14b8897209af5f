// The bundle, as the wasm tier's workload (core/tier.h, used as `spectrum run --tier wasm` uses it):
//   process.args[0]        the module, a path inside the root (without a slash: looked up along
//                          the process's PATH, then in process.cwd)
//   process.args, env      the module's argv (argv[0] = the path found) and its whole environment
//   root, mounts           preopens: "/" (read-only with root.readonly) and every bind mount's
//                          destination that is a directory (read-only where the mount is); the
//                          kernel's read-only mounts hold underneath anyway, the engine runs in
//                          the container's mount namespace
//   memory.limit           the engine's memory budget, besides the cgroup's limit on the process
//   process.cwd            "/" only: WASI programs start in the root of their preopens
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

#include "core/fd.h"
#include "core/tier.h"
#include "wasm/engine.h"

namespace spectrum::container {
namespace {

bool is_regular_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// Where process.args[0] is, inside the container's root (we run after pivot_root).
Result<std::string> find_module(const Process& process) {
  const std::string& program = process.args[0];
  std::string cwd = process.cwd.empty() ? "/" : process.cwd;
  auto in_cwd = [&] { return (cwd.ends_with('/') ? cwd : cwd + "/") + program; };
  if (program.find('/') != std::string::npos) {
    std::string path = program.starts_with('/') ? program : in_cwd();
    if (!is_regular_file(path))
      return fail("process.args[0]: wasm module \"" + program + "\": no such file in the root filesystem",
                  ENOENT, ExitCode::not_found);
    return path;
  }
  std::string_view path_env = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (const std::string& e : process.env)
    if (e.starts_with("PATH=")) path_env = std::string_view(e).substr(5);
  for (std::size_t pos = 0; pos <= path_env.size();) {
    std::size_t end = path_env.find(':', pos);
    if (end == std::string_view::npos) end = path_env.size();
    std::string candidate = std::string(path_env.substr(pos, end - pos)) + "/" + program;
    if (is_regular_file(candidate)) return candidate;
    pos = end + 1;
  }
  if (is_regular_file(in_cwd())) return in_cwd();
  return fail("process.args[0]: wasm module \"" + program + "\": not found in $PATH or " + cwd, ENOENT,
              ExitCode::not_found);
}

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
  if (config.process.cwd != "/" && !config.process.cwd.empty())
    return fail(
        "process.cwd: the wasm handler starts modules in / (WASI has no working directory to set), found '" +
        config.process.cwd + "'");
  std::string path = SPECTRUM_TRY(find_module(config.process));
  // Decoded and validated now, so that `create` fails on a file that is not a module.
  auto bytes = SPECTRUM_TRY(read_bytes(path));
  auto module = wasm::Module::load(bytes);
  if (!module)
    return fail(
        "process.args[0]: " + path + " is not a valid WebAssembly module: " + module.error().message(),
        ENOEXEC, ExitCode::not_executable);
  return {};
}

Workload workload_of(const Config& config, const std::string& module) {
  Workload w;
  w.program = module;
  w.args.assign(config.process.args.begin() + 1, config.process.args.end());
  w.env = config.process.env;
  w.inherit_env = false;
  w.rootfs = "/";
  w.rootfs_read_only = config.root_readonly;
  for (const MountEntry& m : config.mounts) {
    if (!m.bind) continue;  // proc, sysfs, devpts, tmpfs of the runtime's own: not the workload's data
    struct stat st {};
    if (::stat(m.destination.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    bool read_only = ((m.flags | m.recursive_flags) & MS_RDONLY) != 0;
    w.mounts.push_back({m.destination, m.destination, read_only});
  }
  if (config.resources.memory_limit) w.limits.memory_bytes = *config.resources.memory_limit;
  return w;
}

int run(const Config& config) {
  auto fail_line = [](const std::string& message, int status) {
    std::string line = "spectrum: wasm: " + message + "\n";
    (void)!::write(2, line.data(), line.size());
    return status;
  };
  auto module = find_module(config.process);
  if (!module) return fail_line(module.error().message(), module.error().exit_status());
  auto tier = make_wasm_tier();
  auto result = tier->run(workload_of(config, *module));
  if (!result) return fail_line(result.error().message(), result.error().exit_status());
  if (result->outcome != Outcome::exited && !result->detail.empty()) fail_line(result->detail, 0);
  return result->shell_status();
}

}  // namespace

const InPlaceRun& wasm_in_place() {
  static const InPlaceRun handler{check, run, {}, false};
  return handler;
}

}  // namespace spectrum::container
