// The native tier: the workload as a plain host process, with limits and accounting through
// cgroups when asked for and nothing extra when not (its launch cost is the floor of the spectrum).
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <optional>

#include "core/cgroup.h"
#include "core/limit_events.h"
#include "core/process.h"
#include "core/stale_cgroups.h"
#include "core/stdio.h"
#include "core/supervisor.h"
#include "core/tier.h"

namespace spectrum {
namespace {

using Clock = std::chrono::steady_clock;

// stdio of the workload: fds to hand to the child, and pipes to drain for captured streams.
struct StdioPlan {
  UniqueFd in, out, err;              // given to the child (-1 = inherit)
  UniqueFd out_capture, err_capture;  // our ends of capture pipes
};

Result<StdioPlan> plan_stdio(const Workload& w) {
  StdioPlan plan;
  plan.in = SPECTRUM_TRY(open_stdio_stream(w.stdin_stream, false, nullptr, "stdin"));
  plan.out = SPECTRUM_TRY(open_stdio_stream(w.stdout_stream, true, &plan.out_capture, "stdout"));
  plan.err = SPECTRUM_TRY(open_stdio_stream(w.stderr_stream, true, &plan.err_capture, "stderr"));
  return plan;
}

std::string cgroup_name() {
  static std::atomic<unsigned> counter{0};
  return "spectrum/run-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

Result<Cgroup> make_cgroup(const Limits& limits) {
  auto layout = CgroupLayout::detect();
  if (!layout) return std::unexpected(layout.error().wrap("limits need cgroups"));
  collect_stale_cgroups(*layout);
  // Only the hierarchies the limits need, plus the freezer to end the tree without races.
  std::vector<std::string> controllers = {"freezer"};
  if (limits.memory_bytes) controllers.push_back("memory");
  if (limits.cpus) controllers.push_back("cpu");
  if (limits.cpuset) controllers.push_back("cpuset");
  if (limits.max_pids) controllers.push_back("pids");
  auto group = Cgroup::create(*layout, cgroup_name(), controllers);
  if (!group) return std::unexpected(group.error().wrap("limits need cgroups"));
  CgroupResources resources;
  resources.memory_limit = limits.memory_bytes;
  if (limits.cpus) resources.set_cpus(*limits.cpus);
  resources.cpuset_cpus = limits.cpuset;
  if (limits.max_pids) resources.pids_limit = static_cast<std::int64_t>(*limits.max_pids);
  SPECTRUM_TRY(group->apply(resources));
  return group;
}

class NativeTier final : public Tier {
 public:
  std::string_view name() const override { return "native"; }

  TierProbe probe() const override {
    TierProbe probe;
    probe.usable = true;
    utsname uts{};
    if (::uname(&uts) == 0) probe.facts.emplace_back("kernel", uts.release);
    if (auto layout = CgroupLayout::detect()) {
      probe.facts.emplace_back("cgroup", layout->describe());
    } else {
      probe.facts.emplace_back("cgroup",
                               "unavailable (" + layout.error().message() + "): limits cannot be applied");
    }
    probe.facts.emplace_back("launch", "clone (vfork) + pidfd");
    return probe;
  }

  Result<RunResult> run(const Workload& w) override {
    const Clock::time_point start = Clock::now();
    if (!w.rootfs.empty())
      return fail("the native tier runs on the host's file system: --rootfs needs the container or vm tier");
    if (!w.mounts.empty())
      return fail(
          "the native tier runs on the host's file system: --mount needs the wasm, container or vm tier");
    if (!w.workdir.empty()) {
      struct stat st {};
      if (::stat(w.workdir.c_str(), &st) != 0) return fail_errno("workdir " + w.workdir);
      if (!S_ISDIR(st.st_mode)) return fail("workdir " + w.workdir + ": not a directory");
    }

    std::vector<std::string> env = make_environment(w.inherit_env, w.env);
    std::string path_env = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (const std::string& entry : env)
      if (entry.starts_with("PATH=")) path_env = entry.substr(5);
    std::string executable = SPECTRUM_TRY(find_executable(w.program, path_env));
    StdioPlan stdio = SPECTRUM_TRY(plan_stdio(w));

    // Without limits or a timeout there is no cgroup: its set-up would dominate a short run.
    std::optional<Cgroup> cgroup;
    if (w.limits.any_cgroup_limit() || w.limits.timeout) cgroup.emplace(SPECTRUM_TRY(make_cgroup(w.limits)));

    SignalGuard signals;
    // Orphaned descendants come back to us, so they are reaped, counted and never left behind.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);

    SpawnRequest request;
    request.executable = executable;
    request.argv = w.argv();
    request.env = std::move(env);
    request.workdir = w.workdir;
    request.stdin_fd = stdio.in.get();
    request.stdout_fd = stdio.out.get();
    request.stderr_fd = stdio.err.get();
    std::vector<UniqueFd> cgroup_procs;  // the child writes itself into each
    if (cgroup) {
      std::vector<std::string> seen;
      for (const char* controller : {"memory", "cpu", "cpuacct", "cpuset", "pids", "freezer"}) {
        std::string dir = cgroup->path_of(controller);
        if (dir.empty() || std::find(seen.begin(), seen.end(), dir) != seen.end()) continue;
        seen.push_back(dir);
        UniqueFd fd(::open((dir + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC));
        if (!fd) return fail_errno("cannot open " + dir + "/cgroup.procs");
        request.cgroup_procs_fds.push_back(fd.get());
        cgroup_procs.push_back(std::move(fd));
      }
    }

    auto spawned = spawn(request);
    cgroup_procs.clear();
    stdio.in.reset();
    stdio.out.reset();
    stdio.err.reset();
    if (!spawned) return std::unexpected(spawned.error());
    Child child = std::move(*spawned);

    RunResult result;
    result.tier = "native";
    result.startup_time = Clock::now() - start;

    Supervision supervision;
    supervision.child = &child;
    supervision.pipes = {{&stdio.out_capture, &result.captured_stdout, &result.stdout_truncated},
                         {&stdio.err_capture, &result.captured_stderr, &result.stderr_truncated}};
    if (w.limits.timeout) supervision.deadline = start + *w.limits.timeout;
    supervision.signals = &signals;
    supervision.kill_tree = [&] { kill_tree(cgroup, child); };
    supervision.after_exit = [&] { kill_descendants(cgroup); };
    SupervisedExit exit = SPECTRUM_TRY(supervise(supervision));
    record_exit(exit, start, w.limits.timeout, result);

    if (cgroup) {
      CgroupStats stats = cgroup->stats();
      // The group's charge misses pages charged before the workload joined (its binary in the page
      // cache); the largest process's RSS misses the rest of the tree: report the larger.
      result.peak_memory_bytes = std::max(result.peak_memory_bytes, stats.peak_memory_bytes);
      if (stats.oom_kills > 0 && !exit.timed_out) {
        if (exit.status.signaled && exit.status.code == SIGKILL)
          result.outcome = Outcome::out_of_memory;
        else
          result.detail = "the kernel killed a process of the workload for memory";
      }
      if (w.limits.max_pids && result.detail.empty())
        result.detail = pids_limit_detail(*cgroup, *w.limits.max_pids);
      SPECTRUM_TRY(cgroup->destroy());
    }
    return result;
  }

 private:
  static void kill_tree(std::optional<Cgroup>& cgroup, const Child& child) {
    if (cgroup)
      (void)cgroup->kill_all();
    else
      ::syscall(SYS_pidfd_send_signal, child.pidfd.get(), SIGKILL, nullptr, 0);
  }

  static void kill_descendants(std::optional<Cgroup>& cgroup) {
    if (cgroup) (void)cgroup->kill_all();
    kill_and_reap_children();
  }
};

}  // namespace

std::unique_ptr<Tier> make_native_tier() { return std::make_unique<NativeTier>(); }

}  // namespace spectrum
