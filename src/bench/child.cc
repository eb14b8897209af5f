#include "bench/child.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>

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
  int wait_status = 0;
  rusage usage{};
  pid_t pid;
  bool forwarded = false;
  for (;;) {
    pid = ::wait4(child.pid, &wait_status, 0, &usage);
    if (pid >= 0 || errno != EINTR) break;
    if (stop_requested() && !forwarded) {
      ::kill(child.pid, SIGTERM);
      forwarded = true;
    }
  }
  if (pid < 0) return fail_errno("wait for " + argv.at(0));
  child.release();  // reaped here, with its rusage
  ChildRun run;
  run.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  run.cpu_seconds = seconds(usage.ru_utime) + seconds(usage.ru_stime);
  run.max_rss_bytes = static_cast<double>(usage.ru_maxrss) * 1024;
  run.status = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
  return run;
}

}  // namespace spectrum::bench
