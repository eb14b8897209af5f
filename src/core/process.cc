#include "core/process.h"

#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace spectrum {
namespace {

bool is_executable_file(const std::string& path, int& err) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    err = errno;
    return false;
  }
  if (S_ISDIR(st.st_mode)) {
    err = EISDIR;
    return false;
  }
  if (::access(path.c_str(), X_OK) != 0) {
    err = errno;
    return false;
  }
  return true;
}

// What the child reports through the exec-error pipe.
struct ChildFailure {
  int stage;  // index into kStages
  int err;
};
constexpr const char* kStages[] = {"exec", "chdir", "join cgroup", "set up stdio"};

[[noreturn]] void child_fail(int pipe_fd, int stage, int err) {
  ChildFailure failure{stage, err};
  ssize_t ignored = ::write(pipe_fd, &failure, sizeof failure);
  (void)ignored;
  ::_exit(127);
}

}  // namespace

Result<std::string> find_executable(const std::string& program, const std::string& path_env) {
  if (program.empty()) return fail("empty program name", 0, ExitCode::not_found);
  int err = ENOENT;
  if (program.find('/') != std::string::npos) {
    if (is_executable_file(program, err)) return program;
    ExitCode code = err == ENOENT || err == ENOTDIR ? ExitCode::not_found : ExitCode::not_executable;
    return std::unexpected(Error::from_errno(program, err).with_exit_code(code));
  }
  bool found_not_executable = false;
  int not_executable_err = 0;
  std::size_t start = 0;
  for (;;) {
    std::size_t colon = path_env.find(':', start);
    std::string dir = path_env.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + program;
    if (is_executable_file(candidate, err)) return candidate;
    if (err != ENOENT && err != ENOTDIR && !found_not_executable) {
      found_not_executable = true;
      not_executable_err = err;
    }
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  if (found_not_executable)
    return std::unexpected(Error::from_errno(program, not_executable_err).with_exit_code(ExitCode::not_executable));
  return fail(program + ": executable file not found in $PATH", ENOENT, ExitCode::not_found);
}

std::vector<std::string> make_environment(bool inherit, const std::vector<std::string>& overrides) {
  std::vector<std::string> env;
  if (inherit)
    for (char** item = environ; item && *item; ++item) env.emplace_back(*item);
  for (const std::string& entry : overrides) {
    std::size_t eq = entry.find('=');
    std::string_view key(entry.data(), eq == std::string::npos ? entry.size() : eq + 1);
    bool replaced = false;
    for (std::string& existing : env) {
      if (existing.starts_with(key)) {
        existing = entry;
        replaced = true;
        break;
      }
    }
    if (!replaced) env.push_back(entry);
  }
  return env;
}

Result<Child> spawn(const SpawnRequest& request) {
  // Everything the child needs is prepared here: between clone and exec only syscalls happen.
  std::vector<char*> argv, envp;
  argv.reserve(request.argv.size() + 1);
  for (const std::string& arg : request.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  envp.reserve(request.env.size() + 1);
  for (const std::string& entry : request.env) envp.push_back(const_cast<char*>(entry.c_str()));
  envp.push_back(nullptr);

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return fail_errno("pipe2");
  UniqueFd error_read(pipe_fds[0]), error_write(pipe_fds[1]);

  int pidfd = -1;
  clone_args args{};
  args.flags = CLONE_PIDFD;
  args.pidfd = reinterpret_cast<std::uint64_t>(&pidfd);
  args.exit_signal = SIGCHLD;
  if (request.cgroup_fd >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = static_cast<std::uint64_t>(request.cgroup_fd);
  }
  pid_t parent = ::getpid();
  long pid = ::syscall(SYS_clone3, &args, sizeof args);
  if (pid < 0) return fail_errno("clone3");
  if (pid == 0) {
    int fd = error_write.get();
    sigset_t empty;
    sigemptyset(&empty);
    ::sigprocmask(SIG_SETMASK, &empty, nullptr);
    for (int cgroup_procs : request.cgroup_procs_fds)
      if (::write(cgroup_procs, "0", 1) != 1) child_fail(fd, 2, errno);
    if (request.die_with_parent) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
    }
    int wanted[3] = {request.stdin_fd, request.stdout_fd, request.stderr_fd};
    for (int target = 0; target < 3; ++target) {
      if (wanted[target] < 0) continue;
      if (wanted[target] == target) {
        int flags = ::fcntl(target, F_GETFD);
        ::fcntl(target, F_SETFD, flags & ~FD_CLOEXEC);
      } else if (::dup2(wanted[target], target) < 0) {
        child_fail(fd, 3, errno);
      }
    }
    if (!request.workdir.empty() && ::chdir(request.workdir.c_str()) != 0) child_fail(fd, 1, errno);
    ::execve(request.executable.c_str(), argv.data(), envp.data());
    child_fail(fd, 0, errno);
  }

  Child child;
  child.pid = static_cast<pid_t>(pid);
  child.pidfd.reset(pidfd);
  error_write.reset();
  ChildFailure failure{};
  ssize_t n;
  do {
    n = ::read(error_read.get(), &failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof failure)) {
    ::waitpid(child.pid, nullptr, 0);
    const char* stage = kStages[failure.stage];
    std::string what = failure.stage == 1 ? std::string(stage) + " " + request.workdir
                                          : std::string(stage) + " " + request.executable;
    ExitCode code = ExitCode::spectrum_error;
    if (failure.stage == 0)
      code = failure.err == ENOENT ? ExitCode::not_found : ExitCode::not_executable;
    return std::unexpected(Error::from_errno(what, failure.err).with_exit_code(code));
  }
  return child;
}

Result<ExitStatus> reap(const Child& child) {
  siginfo_t info{};
  for (;;) {
    if (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(child.pidfd.get()), &info, WEXITED) == 0) break;
    if (errno != EINTR) return fail_errno("waitid");
  }
  ExitStatus status;
  status.signaled = info.si_code == CLD_KILLED || info.si_code == CLD_DUMPED;
  status.code = info.si_status;
  return status;
}

void kill_and_reap_children() {
  // As subreaper we inherit orphans; /proc/self/task/*/children lists them.
  for (int round = 0; round < 100; ++round) {
    bool any = false;
    std::string path = "/proc/self/task/" + std::to_string(::gettid()) + "/children";
    if (auto list = read_file(path)) {
      const char* p = list->c_str();
      while (*p) {
        char* end = nullptr;
        long pid = std::strtol(p, &end, 10);
        if (end == p) break;
        if (pid > 0) {
          ::kill(static_cast<pid_t>(pid), SIGKILL);
          any = true;
        }
        p = end;
        while (*p == ' ' || *p == '\n') ++p;
      }
    }
    // Reap whatever has exited (also zombies not listed any more).
    while (::waitpid(-1, nullptr, any ? 0 : WNOHANG) > 0) {
    }
    if (!any) return;
  }
}

}  // namespace spectrum
