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
#include "core/process.h"
#include "core/stale_cgroups.h"
#include "core/stdio.h"
#include "core/tier.h"

namespace spectrum {
namespace {

using Clock = std::chrono::steady_clock;

std::chrono::nanoseconds to_ns(const timeval& tv) {
  return std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec);
}

// Blocks the signals spectrum reacts to and receives them through a signalfd for the duration of
// a run, so that an interrupted run still cleans up; restores the mask on every path.
class SignalGuard {
 public:
  SignalGuard() {
    sigemptyset(&set_);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&set_, sig);
    ::sigprocmask(SIG_BLOCK, &set_, &old_);
    fd_.reset(::signalfd(-1, &set_, SFD_CLOEXEC | SFD_NONBLOCK));
  }
  ~SignalGuard() {
    fd_.reset();
    ::sigprocmask(SIG_SETMASK, &old_, nullptr);
  }
  SignalGuard(const SignalGuard&) = delete;
  SignalGuard& operator=(const SignalGuard&) = delete;
  int fd() const { return fd_.get(); }
  int take() {
    signalfd_siginfo info{};
    if (::read(fd_.get(), &info, sizeof info) != static_cast<ssize_t>(sizeof info)) return 0;
    return static_cast<int>(info.ssi_signo);
  }

 private:
  sigset_t set_{}, old_{};
  UniqueFd fd_;
};

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
    rusage before{};
    ::getrusage(RUSAGE_CHILDREN, &before);

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

    bool has_deadline = w.limits.timeout.has_value();
    const Clock::time_point deadline = has_deadline ? start + *w.limits.timeout : Clock::time_point::max();
    bool timed_out = false;
    int interrupts = 0;
    bool child_done = false;
    std::optional<ExitStatus> status;
    while (!child_done || stdio.out_capture || stdio.err_capture) {
      pollfd fds[4];
      nfds_t count = 0;
      if (!child_done) {
        fds[count++] = {child.pidfd.get(), POLLIN, 0};
        fds[count++] = {signals.fd(), POLLIN, 0};
      }
      int out_index = -1, err_index = -1;
      if (stdio.out_capture) {
        out_index = static_cast<int>(count);
        fds[count++] = {stdio.out_capture.get(), POLLIN, 0};
      }
      if (stdio.err_capture) {
        err_index = static_cast<int>(count);
        fds[count++] = {stdio.err_capture.get(), POLLIN, 0};
      }
      int timeout_ms = -1;
      if (has_deadline && !child_done) {
        auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
        timeout_ms = left < 0 ? 0 : static_cast<int>(std::min<long long>(left, 1 << 30));
      }
      int ready = ::poll(fds, count, timeout_ms);
      if (ready < 0) {
        if (errno == EINTR) continue;
        return fail_errno("poll");
      }
      if (ready == 0 && has_deadline && !child_done) {
        timed_out = true;
        kill_tree(cgroup, child);
        has_deadline = false;
        continue;
      }
      for (nfds_t i = 0; i < count; ++i) {
        if (fds[i].revents == 0) continue;
        if (!child_done && fds[i].fd == child.pidfd.get()) {
          child_done = true;
          result.wall_time = Clock::now() - start;
          status = SPECTRUM_TRY(reap(child));
        } else if (!child_done && fds[i].fd == signals.fd()) {
          int sig = signals.take();
          // The first interrupt is the workload's to handle; a second one ends the whole tree.
          if (sig != 0 && interrupts++ == 0)
            ::syscall(SYS_pidfd_send_signal, child.pidfd.get(), sig, nullptr, 0);
          else if (sig != 0)
            kill_tree(cgroup, child);
        } else if (static_cast<int>(i) == out_index) {
          drain_pipe(stdio.out_capture, result.captured_stdout);
        } else if (static_cast<int>(i) == err_index) {
          drain_pipe(stdio.err_capture, result.captured_stderr);
        }
      }
      // Once the main process is gone, descendants holding a capture pipe are ended too.
      if (child_done && (stdio.out_capture || stdio.err_capture)) kill_descendants(cgroup);
    }
    kill_descendants(cgroup);

    rusage after{};
    ::getrusage(RUSAGE_CHILDREN, &after);
    result.user_cpu = to_ns(after.ru_utime) - to_ns(before.ru_utime);
    result.system_cpu = to_ns(after.ru_stime) - to_ns(before.ru_stime);
    result.peak_memory_bytes = static_cast<std::uint64_t>(after.ru_maxrss) * 1024;

    if (status->signaled) {
      result.outcome = Outcome::signaled;
      result.signal = status->code;
    } else {
      result.exit_code = status->code;
    }
    if (cgroup) {
      CgroupStats stats = cgroup->stats();
      // The group's charge misses pages charged before the workload joined (its binary in the page
      // cache); the largest process's RSS misses the rest of the tree: report the larger.
      result.peak_memory_bytes = std::max(result.peak_memory_bytes, stats.peak_memory_bytes);
      if (stats.oom_kills > 0) {
        if (status->signaled && status->code == SIGKILL)
          result.outcome = Outcome::out_of_memory;
        else
          result.detail = "the kernel killed a process of the workload for memory";
      }
      SPECTRUM_TRY(cgroup->destroy());
    }
    if (timed_out) {
      result.outcome = Outcome::timed_out;
      result.detail = "timed out after " + std::to_string(w.limits.timeout->count() / 1000000) + " ms";
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
