#include "container/handler_start.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

namespace spectrum::container {
namespace {

bool is_regular_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

Result<std::string> find_in_root(const Process& process, std::string_view what) {
  const std::string& program = process.args[0];
  std::string cwd = process.cwd.empty() ? "/" : process.cwd;
  auto in_cwd = [&] { return (cwd.ends_with('/') ? cwd : cwd + "/") + program; };
  std::string shown = "process.args[0]: " + std::string(what) + " \"" + program + "\"";
  if (program.find('/') != std::string::npos) {
    std::string path = program.starts_with('/') ? program : in_cwd();
    if (is_regular_file(path)) return path;
    return fail(shown + ": no such file in the root filesystem", ENOENT, ExitCode::not_found);
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
  return fail(shown + ": not found in $PATH or " + cwd, ENOENT, ExitCode::not_found);
}

Workload workload_of(const Config& config, const std::string& program) {
  Workload w;
  w.program = program;
  w.args.assign(config.process.args.begin() + 1, config.process.args.end());
  w.env = config.process.env;
  w.inherit_env = false;
  w.rootfs = "/";
  w.rootfs_read_only = config.root_readonly;
  for (const MountEntry& m : config.mounts) {
    if (!m.bind) continue;  // proc, sysfs, devpts, tmpfs of the runtime's own: not the workload's data
    struct stat st {};
    if (::stat(m.destination.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    w.mounts.push_back({m.destination, m.destination, ((m.flags | m.recursive_flags) & MS_RDONLY) != 0});
  }
  if (config.resources.memory_limit) w.limits.memory_bytes = *config.resources.memory_limit;
  // The guest's own task limit (an in-guest handler's processes are not the host's; the cgroup's
  // pids.max still counts the monitor and, on ptrace, a stub per guest address space).
  if (config.resources.pids_limit && *config.resources.pids_limit > 0)
    w.limits.max_pids = static_cast<std::uint64_t>(*config.resources.pids_limit);
  return w;
}

int report_line(std::string_view handler, const std::string& message, int status) {
  std::string line = "spectrum " + std::string(handler) + ": " + message + "\n";
  (void)!::write(2, line.data(), line.size());
  return status;
}

}  // namespace spectrum::container
