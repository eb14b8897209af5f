#include "core/process.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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

// Written by the child into the parent's memory (the child shares it until exec).
struct ChildFailure {
  int stage = -1;  // index into kStages, -1 while all went well
  int err = 0;
};
constexpr const char* kStages[] = {"exec", "chdir", "join cgroup", "set up stdio"};

struct ChildContext {
  const SpawnRequest* request;
  char* const* argv;
  char* const* envp;
  pid_t parent;
  ChildFailure failure;
};

int child_fail(ChildContext& context, int stage, int err) {
  context.failure.stage = stage;
  context.failure.err = err;
  return 127;
}

// Runs in the child on its own small stack, sharing the parent's memory (CLONE_VM|CLONE_VFORK)
// until execve: no allocation, no locks, only system calls.
int child_main(void* arg) {
  ChildContext& context = *static_cast<ChildContext*>(arg);
  const SpawnRequest& request = *context.request;
  sigset_t empty;
  sigemptyset(&empty);
  ::sigprocmask(SIG_SETMASK, &empty, nullptr);
  for (int cgroup_procs : request.cgroup_procs_fds)
    if (::write(cgroup_procs, "0", 1) != 1) return child_fail(context, 2, errno);
  if (request.die_with_parent) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != context.parent) return 127;
  }
  int wanted[3] = {request.stdin_fd, request.stdout_fd, request.stderr_fd};
  for (int target = 0; target < 3; ++target) {
    if (wanted[target] < 0) continue;
    if (wanted[target] == target) {
      int flags = ::fcntl(target, F_GETFD);
      ::fcntl(target, F_SETFD, flags & ~FD_CLOEXEC);
    } else if (::dup2(wanted[target], target) < 0) {
      return child_fail(context, 3, errno);
    }
  }
  if (!request.workdir.empty() && ::chdir(request.workdir.c_str()) != 0) return child_fail(context, 1, errno);
  ::execve(request.executable.c_str(), context.argv, context.envp);
  return child_fail(context, 0, errno);
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
    return std::unexpected(
        Error::from_errno(program, not_executable_err).with_exit_code(ExitCode::not_executable));
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

  // vfork semantics: no copy of our page tables (expensive under nested virtualization), and the
  // child reports a failed exec through shared memory before we resume.
  ChildContext context{&request, argv.data(), envp.data(), ::getpid(), {}};
  alignas(64) static thread_local char child_stack[64 * 1024];
  int pidfd = -1;
  int flags = CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD;
  pid_t pid = ::clone(child_main, child_stack + sizeof child_stack, flags, &context, &pidfd);
  if (pid < 0) return fail_errno("clone");
  Child child(pid, UniqueFd(pidfd));
  if (context.failure.stage >= 0) {
    ::waitpid(child.pid, nullptr, 0);
    child.release();
    const ChildFailure& failure = context.failure;
    const char* stage = kStages[failure.stage];
    std::string what = failure.stage == 1 ? std::string(stage) + " " + request.workdir
                                          : std::string(stage) + " " + request.executable;
    ExitCode code = ExitCode::spectrum_error;
    if (failure.stage == 0) code = failure.err == ENOENT ? ExitCode::not_found : ExitCode::not_executable;
    return std::unexpected(Error::from_errno(what, failure.err).with_exit_code(code));
  }
  return child;
}

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    kill_and_reap();
    pid = other.pid;
    pidfd = std::move(other.pidfd);
    other.pid = -1;
  }
  return *this;
}

void Child::kill_and_reap() {
  if (pidfd) {
    ::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0);
    siginfo_t info{};
    while (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd.get()), &info, WEXITED) != 0 &&
           errno == EINTR) {
    }
  }
  release();
}

Result<ExitStatus> reap(Child& child) {
  siginfo_t info{};
  for (;;) {
    if (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(child.pidfd.get()), &info, WEXITED) == 0)
      break;
    if (errno != EINTR) return fail_errno("waitid");
  }
  child.release();
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
