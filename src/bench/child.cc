#include "bench/child.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/fd.h"
#include "core/process.h"

namespace spectrum::bench {
namespace {
volatile std::sig_atomic_t g_stop = 0;
}  // namespace

void stop_on_signals() {
  struct sigaction action {};
  action.sa_handler = [](int) { g_stop = 1; };
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;
  for (int signal : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(signal, &action, nullptr);
}

bool stop_requested() { return g_stop != 0; }

namespace {
// "VmHWM:     1234 kB" of /proc/PID/status, in bytes; 0 when absent (exited, or a kernel thread).
double high_water_mark_bytes(const std::string& status_path) {
  UniqueFd fd(::open(status_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return 0;
  char buffer[4096];
  ssize_t n = ::read(fd.get(), buffer, sizeof buffer - 1);
  if (n <= 0) return 0;
  buffer[n] = 0;
  const char* line = std::strstr(buffer, "VmHWM:");
  return line ? std::strtod(line + 6, nullptr) * 1024 : 0;
}
}  // namespace

Result<ChildRun> run_child(const std::vector<std::string>& argv, const std::string& stdout_path,
                           const std::string& stderr_path) {
  UniqueFd out(::open(stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!out) return fail_errno("open " + stdout_path);
  UniqueFd err(::open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!err) return fail_errno("open " + stderr_path);
  SpawnRequest request;
  request.executable = argv.at(0);
  request.argv = argv;
  request.env = make_environment(true, {});
  request.stdin_fd = -1;
  request.stdout_fd = out.get();
  request.stderr_fd = err.get();
  const auto start = std::chrono::steady_clock::now();
  Child child = SPECTRUM_TRY(spawn(request));
  // While it runs, the child's own high-water mark (VmHWM) is sampled every few milliseconds:
  // wait4's ru_maxrss is the largest of the child and its descendants, not the child's own, and
  // a zombie's status no longer has it. The mark only grows, so the last sample is the best.
  const std::string status_path = "/proc/" + std::to_string(child.pid) + "/status";
  double own_peak = 0;
  bool forwarded = false;
  for (;;) {
    own_peak = std::max(own_peak, high_water_mark_bytes(status_path));
    pollfd ready{child.pidfd.get(), POLLIN, 0};
    int n = ::poll(&ready, 1, 5);
    if (n > 0) break;
    if (n < 0 && errno != EINTR) return fail_errno("poll " + argv.at(0));
    if (stop_requested() && !forwarded) {
      ::kill(child.pid, SIGTERM);
      forwarded = true;
    }
  }
  int wait_status = 0;
  rusage usage{};
  pid_t pid;
  do pid = ::wait4(child.pid, &wait_status, 0, &usage);
  while (pid < 0 && errno == EINTR);
  if (pid < 0) return fail_errno("wait for " + argv.at(0));
  child.release();  // reaped here, with its rusage
  ChildRun run;
  run.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  run.cpu_seconds = seconds(usage.ru_utime) + seconds(usage.ru_stime);
  run.max_rss_bytes = static_cast<double>(usage.ru_maxrss) * 1024;
  run.own_peak_bytes = own_peak;
  run.status = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
  return run;
}

}  // namespace spectrum::bench
