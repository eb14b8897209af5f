// `spectrum run --tier container`: the workload in a container built from Spectrum's default
// configuration (Docker-tight: default capabilities, seccomp allow-list, masked and read-only
// paths, no network unless --net host), run to completion without any state on disk.
#include "core/tier.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <csignal>
#include <cstdlib>

#include "container/default_config.h"
#include "container/launcher.h"
#include "container/oci_config.h"
#include "container/sealed_exe.h"
#include "container/try.h"
#include "core/limit_events.h"
#include "core/rootfs_view.h"
#include "core/scope_guard.h"
#include "core/stale_cgroups.h"
#include "core/stdio.h"
#include "core/supervisor.h"

namespace spectrum {
namespace {

using namespace container;
using Clock = std::chrono::steady_clock;

// The OCI configuration of a workload: the default spec, then the workload's own settings.
Result<Config> config_for(const Workload& w, const std::string& rootfs) {
  // Relative paths (--rootfs, --mount sources) are the caller's, as the user typed them: the
  // configuration's "bundle" is the current directory.
  char cwd[PATH_MAX];
  if (!::getcwd(cwd, sizeof cwd)) return fail_errno("getcwd");
  DefaultSpecOptions options;
  options.args = w.argv();
  options.rootfs = rootfs;
  options.host_network = w.host_network;
  options.with_seccomp = true;
  nlohmann::json spec = default_spec(options);
  spec["root"]["readonly"] = w.rootfs_read_only;
  spec["process"]["terminal"] = false;
  if (!w.env.empty()) {
    nlohmann::json env = w.env;
    bool has_path = false;
    for (const std::string& e : w.env) has_path |= e.starts_with("PATH=");
    if (!has_path) env.push_back("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    spec["process"]["env"] = env;
  }
  if (!w.workdir.empty()) spec["process"]["cwd"] = w.workdir;
  for (const Mount& m : w.mounts) {
    nlohmann::json options_list = {"rbind", "nosuid", "nodev"};
    // Read-only all the way down (runc's rro): a mount under the host directory stays read-only too.
    if (m.read_only) options_list.push_back("rro");
    std::string source = m.host_path.starts_with('/') ? m.host_path : std::string(cwd) + "/" + m.host_path;
    spec["mounts"].push_back(
        {{"destination", m.target}, {"type", "bind"}, {"source", source}, {"options", options_list}});
  }
  nlohmann::json& resources = spec["linux"]["resources"];
  if (w.limits.memory_bytes)
    resources["memory"] = {{"limit", *w.limits.memory_bytes}, {"swap", *w.limits.memory_bytes}};
  if (w.limits.cpus) {
    CgroupResources r;
    r.set_cpus(*w.limits.cpus);
    resources["cpu"] = {{"quota", *r.cpu_quota_us}, {"period", *r.cpu_period_us}};
  }
  if (w.limits.cpuset) resources["cpu"]["cpus"] = *w.limits.cpuset;
  if (w.limits.max_pids) resources["pids"] = {{"limit", *w.limits.max_pids}};
  return decode_config(spec, cwd, "container tier configuration");
}

// "run-PID-..." like the native tier's groups: a group whose PID is gone was left by a spectrum
// killed outright, and the next run of either tier collects it (core/stale_cgroups.h).
std::string cgroup_name() {
  static std::atomic<unsigned> counter{0};
  return "spectrum/run-" + std::to_string(::getpid()) + "-container-" + std::to_string(counter++);
}

// What a SIGKILLed run left: its groups, in the devices hierarchy too. Its mounts lived in the
// container's mount namespace and its processes died with the init (PR_SET_PDEATHSIG, then the
// pid namespace), so the groups are all there is to collect.
void collect_stale_container_groups() {
  static const Result<CgroupLayout> layout = CgroupLayout::detect();
  if (layout) collect_stale_cgroups(*layout);
}

class ContainerTier final : public Tier {
 public:
  std::string_view name() const override { return "container"; }

  TierProbe probe() const override {
    TierProbe probe;
    if (::geteuid() != 0) {
      probe.reason = "needs root (namespaces, mounts, cgroups)";
      return probe;
    }
    auto layout = CgroupLayout::detect();
    if (!layout) {
      probe.reason = layout.error().message();
      return probe;
    }
    probe.usable = true;
    probe.facts.emplace_back("cgroup", layout->describe());
    probe.facts.emplace_back("seccomp",
                             "default allow-list profile, compiled once and cached in /run/spectrum/seccomp");
    probe.facts.emplace_back("oci",
                             "runc-compatible runtime: spectrum create|start|state|kill|delete|exec|ps|...");
    return probe;
  }

  Result<RunResult> run(const Workload& w) override {
    if (w.rootfs.empty())
      return fail("the container tier needs --rootfs DIR (e.g. made by scripts/busybox-rootfs)");
    struct stat st {};
    if (::stat(w.rootfs.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      return fail("--rootfs: " + w.rootfs + " is not a directory");
    // Never enter the container from a writable view of this binary (CVE-2019-5736).
    SPECTRUM_TRY(ensure_sealed_runtime());
    collect_stale_container_groups();
    RootfsView view = SPECTRUM_TRY(RootfsView::open(w));  // outlives the container (declared first)
    Config config = SPECTRUM_TRY(config_for(w, view.path()));
    UniqueFd in = SPECTRUM_TRY(open_stdio_stream(w.stdin_stream, false, nullptr, "stdin"));
    UniqueFd out_capture, err_capture;
    UniqueFd out = SPECTRUM_TRY(open_stdio_stream(w.stdout_stream, true, &out_capture, "stdout"));
    UniqueFd err = SPECTRUM_TRY(open_stdio_stream(w.stderr_stream, true, &err_capture, "stderr"));

    LaunchOptions options;
    options.seccomp_cache = "/run/spectrum/seccomp";
    ::mkdir("/run/spectrum", 0711);
    options.cgroup_path = cgroup_name();
    // Only the hierarchies this run needs: each costs a mkdir and an rmdir.
    options.v1_controllers = {"memory"};
    if (w.limits.cpus) options.v1_controllers.push_back("cpu");
    if (w.limits.cpuset) options.v1_controllers.push_back("cpuset");
    if (w.limits.max_pids) options.v1_controllers.push_back("pids");
    options.stdio[0] = in.get();
    options.stdio[1] = out.get();
    options.stdio[2] = err.get();
    options.die_with_runtime = true;

    RunResult result;
    result.tier = "container";
    SignalGuard signals;  // before the launch, so that a Ctrl-C during it is not lost
    const Clock::time_point start = Clock::now();
    LaunchedContainer c = SPECTRUM_TRY(launch_container(config, options));
    // The init is set up (namespaces, mounts, cgroup, seccomp) and released to exec the workload.
    result.startup_time = Clock::now() - start;
    Child init(c.pid, std::move(c.pidfd));
    in.reset();
    out.reset();
    err.reset();
    release_sealed_view();  // its unmount's wait overlaps the workload now
    ScopeGuard cleanup([&] {
      init.kill_and_reap();
      (void)c.cgroup->destroy();  // the v1 devices group too
    });

    Supervision supervision;
    supervision.child = &init;
    supervision.pipes = {{&out_capture, &result.captured_stdout, &result.stdout_truncated},
                         {&err_capture, &result.captured_stderr, &result.stderr_truncated}};
    if (w.limits.timeout) supervision.deadline = start + *w.limits.timeout;
    supervision.signals = &signals;
    // The init is PID 1 of its namespace: SIGKILL from here ends it, and the kernel the rest.
    SupervisedExit exit = SPECTRUM_TRY(supervise(supervision));
    record_exit(exit, start, w.limits.timeout, result);
    CgroupStats stats = c.cgroup->stats();
    std::string refused_forks = w.limits.max_pids ? pids_limit_detail(*c.cgroup, *w.limits.max_pids) : "";
    result.peak_memory_bytes = std::max(result.peak_memory_bytes, stats.peak_memory_bytes);
    if (result.outcome == Outcome::signaled && stats.oom_kills > 0 && result.signal == SIGKILL) {
      result.outcome = Outcome::out_of_memory;
      result.detail = "killed by the out-of-memory killer of the container's cgroup";
    } else if (result.outcome == Outcome::exited && stats.oom_kills > 0) {
      result.detail = "a process of the container was killed by the out-of-memory killer";
    }
    // A program that failed where memory ran out without a kill says so too.
    if (result.detail.empty() && w.limits.memory_bytes && (result.signal || result.exit_code != 0) &&
        c.cgroup->memory_limit_hits() > 0)
      result.detail = "the memory limit (" + std::to_string(*w.limits.memory_bytes) + " bytes) was reached";
    // A fork bomb that the limit stopped lets its shell exit 0: the record says what happened.
    if (!refused_forks.empty() && result.detail.empty()) result.detail = refused_forks;
    return result;
  }
};

}  // namespace
std::unique_ptr<Tier> make_container_tier() { return std::make_unique<ContainerTier>(); }
}  // namespace spectrum
