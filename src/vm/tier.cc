// The vm tier: checks everything it can before touching /dev/kvm (root filesystem, executable,
// memory), then forks the monitor, which builds the VM, confines itself and runs the guest. The
// monitor is the process core/supervisor.h supervises (captured output, forwarded signals, a
// last-resort deadline, rusage); its report on a pipe says how the guest ended.
#include "core/tier.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/confined_path.h"
#include "core/fd.h"
#include "core/process.h"
#include "core/rootfs_view.h"
#include "core/stdio.h"
#include "core/supervisor.h"
#include "vm/boot.h"
#include "vm/confine.h"
#include "vm/kvm.h"
#include "vm/loader/program_file.h"
#include "vm/monitor.h"
#include "vm/platform/ptrace_context.h"
#include "vm/syscalls/syscalls.h"
#include "vm/tier_internal.h"

namespace spectrum {
namespace vm {

namespace {

constexpr std::uint64_t kDefaultMemory = 256ull << 20;
constexpr std::uint64_t kMaxExecutable = 1ull << 30;
const char* const kDefaultPath = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin";

std::string env_value(const std::vector<std::string>& env, const std::string& key) {
  for (const auto& kv : env)
    if (kv.size() > key.size() && kv.compare(0, key.size(), key) == 0 && kv[key.size()] == '=')
      return kv.substr(key.size() + 1);
  return {};
}

Result<UniqueFd> stream_fd(const Stdio& stdio, bool output, UniqueFd* capture, int inherit_fd,
                           const char* name) {
  // The monitor writes the guest's output itself, so an inherited stream is a duplicate of ours.
  if (stdio.mode == Stdio::Mode::inherit) {
    UniqueFd fd(::fcntl(inherit_fd, F_DUPFD_CLOEXEC, 3));
    if (!fd) return fail_errno(std::string("dup of ") + name);
    return fd;
  }
  return open_stdio_stream(stdio, output, capture, name);
}

enum class PlatformKind { kvm, ptrace };

// The monitor's part: builds the platform, confines this process, runs the guest.
Result<GuestOutcome> run_monitor(const Workload& w, const std::string& rootfs, PreparedGuest& guest,
                                 ProcessConfig config, PlatformKind platform, bool forward_signals,
                                 int exec_listener = -1) {
  // The platform first: the VM, or the ptrace stub (forked before the monitor confines itself,
  // in namespaces of its own).
  std::optional<KvmVm> vm;
  std::unique_ptr<platform::PtraceContext> stub;
  if (platform == PlatformKind::kvm) {
    vm.emplace(
        SPECTRUM_TRY(KvmVm::create(guest.memory->base(), guest.memory->size(), GuestKind::spectrum_kernel)));
    SPECTRUM_TRY(vm->set_initial_state(guest.vcpu));
  } else {
    stub = SPECTRUM_TRY(platform::PtraceContext::create(guest));
  }
  // Confinement, then the root filesystem is "/" of this process.
  // /dev/shm as big as the guest's memory: its files are host memory the guest fills, so the
  // same limit bounds them (and what MAP_SHARED maps of them is guest memory besides).
  const ShmOptions shm{config.memory_bytes, !w.rootfs_writable && !w.rootfs_read_only};
  if (auto ns = enter_rootfs_namespace(rootfs, w.mounts, w.rootfs_read_only, shm); !ns)
    return std::unexpected(ns.error().wrap("confining the monitor"));
  config.root = SPECTRUM_TRY(open_file_in_root(AT_FDCWD, "/", O_PATH | O_DIRECTORY));
  for (const Mount& m : w.mounts) config.mounts.push_back({m.target, m.read_only});
  Process process(*guest.space, *guest.memory, std::move(config));
  // A guest writing to a closed pipe gets SIGPIPE from the monitor (process.cc); the monitor
  // itself must not die of it. Set before the filter, like everything the run needs once.
  ::signal(SIGPIPE, SIG_IGN);
  SPECTRUM_TRY(drop_capabilities());
  // --net host: the guest's AF_INET/AF_INET6 sockets are this process's (syscalls/net.cc), and
  // only then does the filter let the monitor make them.
  syscalls::set_host_network(w.host_network);
  SPECTRUM_TRY(install_monitor_seccomp(platform == PlatformKind::ptrace, w.host_network));
  RunOptions options;
  options.timeout = w.limits.timeout;
  options.forward_signals = forward_signals;
  options.exec_listener = exec_listener;
  if (forward_signals) {
    // spectrum's SignalGuard blocked the signals it forwards before the fork: the handler first,
    // then they are unblocked (one already sent waits for it). run_guest installs it again.
    SPECTRUM_TRY(ForwardedSignals::install(vm ? vm->immediate_exit() : nullptr, options.timeout.has_value()));
    sigset_t set;
    ::sigemptyset(&set);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) ::sigaddset(&set, sig);
    ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
  }
  if (vm) return run_guest(guest, process, *vm, options);
  // The timeout's signal interrupts the monitor's waitpid; there is no immediate_exit to set.
  static volatile std::uint8_t no_immediate_exit = 0;
  process.set_brk_start(guest.brk_start);
  process.mm().set_layout(guest.program);
  std::optional<HostTimer> timer;
  if (options.timeout) timer.emplace(SPECTRUM_TRY(TimeoutTimer::start(*options.timeout, &no_immediate_exit)));
  if (forward_signals) SPECTRUM_TRY(ForwardedSignals::install(nullptr, options.timeout.has_value()));
  auto outcome = run_workload(*stub, process, guest.vdso.get(), options.exec_listener);
  if (outcome) outcome->guest_touched_bytes = resident_bytes(*guest.memory);
  return outcome;
}

// A report longer than this is no monitor's: the rest is dropped, and the parse fails on it.
constexpr std::size_t kMaxReport = 64u << 10;
// How long past --timeout the supervisor waits for the monitor to stop the guest itself.
constexpr std::chrono::seconds kMonitorGrace{5};

// Forks the monitor, which runs `body` (it never returns), and owns it through a pidfd.
template <typename Body>
Result<Child> fork_monitor(Body body) {
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return fail_errno("fork of the vm monitor");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(125);  // spectrum died before the line above
    body();
    ::_exit(125);
  }
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd) {
    const int err = errno;
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    return fail_errno("pidfd_open of the vm monitor", err);
  }
  return Child(pid, std::move(pidfd));
}

// The monitor process: never returns. Reports one line "outcome KIND STATUS NS SYSCALLS EXITS TOUCHED RESETS"
// + detail, or "error CODE" + message, on `report`.
[[noreturn]] void monitor_main(const Workload& w, const std::string& rootfs, PreparedGuest guest,
                               ProcessConfig config, int report, PlatformKind platform) {
  auto finish = [&](const std::string& text) {
    (void)write_all(report, text);
    ::_exit(0);
  };
  // The supervisor forwards the first SIGINT/TERM/HUP/QUIT to this process: the guest's.
  auto outcome = run_monitor(w, rootfs, guest, std::move(config), platform, true);
  if (!outcome) {
    finish("error " + std::to_string(outcome.error().exit_status()) + "\n" + outcome.error().message());
  }
  finish("outcome " + std::to_string(static_cast<int>(outcome->kind)) + ' ' +
         std::to_string(outcome->status) + ' ' + std::to_string(outcome->to_first_instruction.count()) + ' ' +
         std::to_string(outcome->syscalls) + ' ' + std::to_string(outcome->exits) + ' ' +
         std::to_string(outcome->guest_touched_bytes) + ' ' + std::to_string(outcome->table_resets) + '\n' +
         outcome->detail);
  ::_exit(0);
}

}  // namespace

Result<PreflightResult> preflight(const Workload& w) {
  if (w.rootfs.empty())
    return fail("the vm tier needs --rootfs DIR: the guest's files come from a root filesystem");
  UniqueFd root(::open(w.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return fail_errno("root filesystem " + w.rootfs);
  if (w.program.empty()) return fail("no program given");
  for (const Mount& m : w.mounts) {
    if (m.target.empty() || m.target.front() != '/')
      return fail("mount target '" + m.target + "' must be absolute");
    SPECTRUM_TRY(check_mount_source(m.host_path));
  }

  PreflightResult pre;
  // The guest never sees the host's environment: a minimal default (unless --clear-env) plus --env.
  if (w.inherit_env) pre.spec.envp = {std::string("PATH=") + kDefaultPath, "HOME=/"};
  for (const std::string& kv : w.env) {
    const std::string key = kv.substr(0, kv.find('=') + 1);
    std::erase_if(pre.spec.envp, [&](const std::string& e) { return e.rfind(key, 0) == 0; });
    pre.spec.envp.push_back(kv);
  }

  // The executable, looked up like execvp inside the root filesystem.
  std::vector<std::string> candidates;
  if (w.program.find('/') != std::string::npos) {
    candidates.push_back(w.program.front() == '/' ? w.program
                                                  : (w.workdir.empty() ? "/" : w.workdir) + "/" + w.program);
  } else {
    std::string path = env_value(pre.spec.envp, "PATH");
    if (path.empty()) path = kDefaultPath;
    std::size_t i = 0;
    while (i <= path.size()) {
      std::size_t j = path.find(':', i);
      if (j == std::string::npos) j = path.size();
      std::string dir = path.substr(i, j - i);
      candidates.push_back((dir.empty() ? "." : dir) + "/" + w.program);
      i = j + 1;
    }
  }
  UniqueFd exe;
  std::string found;
  for (const auto& c : candidates) {
    auto fd = open_file_in_root(root.get(), c, O_RDONLY);
    if (!fd) continue;
    struct stat st;
    if (::fstat(fd->get(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    exe = std::move(*fd);
    found = c;
    break;
  }
  if (!exe) return fail(w.program + ": not found in the root filesystem " + w.rootfs);
  struct stat st;
  if (::fstat(exe.get(), &st) != 0) return fail_errno(found);
  if (static_cast<std::uint64_t>(st.st_size) > kMaxExecutable)
    return fail(found + ": executable larger than 1 GiB");
  // Only the head is read here; the segments go straight from the file into guest memory
  // (loader/program_file.h).
  auto file = read_program_head(std::move(exe), static_cast<std::uint64_t>(st.st_size));
  if (!file) return fail_errno(found, file.error());
  pre.spec.program_name = found;
  pre.spec.elf = SPECTRUM_TRY(parse_program(*file, found));
  pre.spec.elf_bytes = std::move(file->head);
  pre.spec.elf_file = std::move(file->fd);
  pre.spec.interpreter = SPECTRUM_TRY(read_interpreter(root.get(), pre.spec.elf, found));
  pre.spec.argv = w.argv();
  pre.spec.memory_bytes = w.limits.memory_bytes.value_or(kDefaultMemory) & ~std::uint64_t{4095};
  const std::uint64_t need =
      minimum_memory(pre.spec.elf, pre.spec.interpreter ? &pre.spec.interpreter->elf : nullptr);
  if (pre.spec.memory_bytes < need)
    return fail("memory limit " + std::to_string(pre.spec.memory_bytes >> 10) + " KiB is too small for " +
                found + " in the vm tier: it needs at least " + std::to_string((need + 1023) >> 10) + " KiB");
  pre.root = std::move(root);
  return pre;
}

Result<GuestOutcome> run_monitor_here(const Workload& w, bool ptrace_platform, int exec_listener) {
  PreflightResult pre = SPECTRUM_TRY(preflight(w));
  if (ptrace_platform) {
    pre.spec.backing = GuestMemory::Backing::memfd;  // the stub maps the same frames
  } else if (KvmHost host = probe_kvm_host(); !host.usable) {
    return fail("the vm tier cannot run here: " + host.reason);
  }
  PreparedGuest guest = SPECTRUM_TRY(prepare_guest(pre.spec));
  RootfsView view = SPECTRUM_TRY(RootfsView::open(w));
  // /dev/shm's mount point (enter_rootfs_namespace), kept out of --keep-changes' DIR/upper.
  if (!w.rootfs_writable && !w.rootfs_read_only) SPECTRUM_TRY(view.ensure_directory("dev/shm"));
  ProcessConfig config;
  for (int fd = 0; fd < 3; ++fd) {
    UniqueFd& slot = fd == 0 ? config.stdin_fd : fd == 1 ? config.stdout_fd : config.stderr_fd;
    slot.reset(::fcntl(fd, F_DUPFD_CLOEXEC, 3));
    if (!slot) return fail_errno("dup of stdio " + std::to_string(fd));
  }
  config.cwd = w.workdir.empty() ? "/" : w.workdir;
  config.read_only = w.rootfs_read_only;
  config.memory_bytes = pre.spec.memory_bytes;
  config.max_tasks = w.limits.max_pids.value_or(0);
  config.executable = pre.spec.program_name;
  pre.root.reset();
  return run_monitor(w, view.path(), guest, std::move(config),
                     ptrace_platform ? PlatformKind::ptrace : PlatformKind::kvm, true, exec_listener);
}

namespace {

// The monitor's report, read into the record that record_exit began (times, peak memory, the
// monitor's own exit). Without a report the monitor was ended from outside: by the supervisor
// (the deadline's last resort, or a second signal), or by something the run must name.
Result<RunResult> read_report(const std::string& report, const SupervisedExit& exit, bool tree_ended,
                              const Workload& w, RunResult result) {
  const std::size_t newline = report.find('\n');
  const std::string rest = newline == std::string::npos ? std::string() : report.substr(newline + 1);
  if (report.rfind("error ", 0) == 0) return fail(newline == std::string::npos ? report : rest);
  if (report.rfind("outcome ", 0) != 0) {
    // record_exit named these: the deadline (timed_out) or the second signal (SIGKILL).
    if (exit.timed_out || (tree_ended && exit.status.signaled)) return result;
    return fail(exit.status.signaled
                    ? std::string("the vm monitor died of ") + ::strsignal(exit.status.code) +
                          (exit.status.code == SIGSYS ? " (a host call outside its seccomp allow-list)" : "")
                    : "the vm monitor ended without a report (exit status " +
                          std::to_string(exit.status.code) + ")");
  }
  int kind = 0, code = 0;
  long long first_ns = 0;
  unsigned long long syscalls = 0, exits = 0, touched = 0, table_resets = 0;
  if (std::sscanf(report.c_str() + 8, "%d %d %lld %llu %llu %llu %llu", &kind, &code, &first_ns, &syscalls,
                  &exits, &touched, &table_resets) != 7)
    return fail("the vm monitor's report is malformed");
  // The monitor's own memory is the peak RSS minus the guest memory it had to back. Counters,
  // not detail: a successful run's stderr belongs to the workload (--json, or --verbose).
  const std::uint64_t monitor = result.peak_memory_bytes > touched ? result.peak_memory_bytes - touched : 0;
  result.detail = rest;
  result.counters = {{"syscalls", syscalls},
                     {"exits", exits},
                     {"guest_memory_touched_bytes", touched},
                     {"monitor_memory_bytes", monitor},
                     {"page_table_resets", table_resets}};
  result.startup_time = std::chrono::nanoseconds(first_ns);
  result.exit_code = 0;
  result.signal = 0;
  switch (static_cast<GuestOutcome::Kind>(kind)) {
    case GuestOutcome::Kind::exited:
      result.outcome = Outcome::exited;
      result.exit_code = code;
      break;
    case GuestOutcome::Kind::signaled:
      result.outcome = Outcome::signaled;
      result.signal = code;
      break;
    case GuestOutcome::Kind::out_of_memory:
      result.outcome = Outcome::out_of_memory;
      result.signal = code;
      break;
    case GuestOutcome::Kind::timed_out:
      // The same words as every tier's timeout (core/supervisor.cc).
      result.outcome = Outcome::timed_out;
      result.signal = SIGKILL;
      result.detail = "timed out after " +
                      std::to_string(w.limits.timeout ? w.limits.timeout->count() / 1000000 : 0) + " ms";
      break;
  }
  return result;
}

class VmTier final : public Tier {
 public:
  explicit VmTier(PlatformKind platform) : platform_(platform) {}
  std::string_view name() const override { return platform_ == PlatformKind::kvm ? "vm" : "sandbox"; }

  TierProbe probe() const override {
    TierProbe p;
    if (platform_ == PlatformKind::ptrace) {
      // ptrace of one's own child is refused only by Yama's mode 3 ("no attach").
      std::string scope;
      if (FILE* f = std::fopen("/proc/sys/kernel/yama/ptrace_scope", "re")) {
        char buf[8] = {};
        if (std::fgets(buf, sizeof buf, f)) scope = buf;
        std::fclose(f);
      }
      p.usable = scope.rfind('3', 0) != 0;
      if (!p.usable) p.reason = "kernel.yama.ptrace_scope is 3: no process may be traced";
      p.facts.push_back(
          {"platform", "ptrace: the workload is a stub process under PTRACE_SYSEMU, no /dev/kvm"});
      p.facts.push_back({"kernel", "the vm tier's monitor (same system-call handlers), no guest kernel"});
      p.facts.push_back({"stub",
                         "new user/pid/mount/net/ipc/uts namespaces where allowed; seccomp: mmap, "
                         "munmap, mprotect only; guest memory a memfd mapped at the guest's addresses"});
      p.facts.push_back({"syscall entry", "PTRACE_SYSEMU stop (never reaches the host kernel)"});
      return p;
    }
    KvmHost host = probe_kvm_host();
    p.usable = host.usable;
    p.reason = host.reason;
    p.facts.push_back({"kvm flavour", host.flavour});
    p.facts.push_back({"/dev/kvm", host.usable ? "usable (API " + std::to_string(host.api_version) + ")"
                                               : "not usable: " + host.reason});
    p.facts.push_back({"guest kernel", "spectrum guest kernel, " +
                                           std::to_string(guest_kernel_image().size()) +
                                           " bytes; syscall path: 2 ring-0 instructions"});
    p.facts.push_back(
        {"syscall entry", host.flavour == "kvm_pvm" ? "page fault at LSTAR (kvm_pvm)" : "syscall/sysretq"});
    return p;
  }

  Result<RunResult> run(const Workload& w) override {
    const auto started = SteadyClock::now();
    // Before anything else: a Ctrl-C during the preparation is forwarded once the monitor runs.
    SignalGuard signals;
    PreflightResult pre = SPECTRUM_TRY(preflight(w));
    // Only now the host's KVM: every error above is the workload's description, not the host.
    if (platform_ == PlatformKind::kvm) {
      KvmHost host = probe_kvm_host();
      if (!host.usable) return fail("the vm tier cannot run here: " + host.reason);
    } else {
      pre.spec.backing = GuestMemory::Backing::memfd;  // the stub maps the same frames
    }

    PreparedGuest guest = SPECTRUM_TRY(prepare_guest(pre.spec));
    RootfsView view = SPECTRUM_TRY(RootfsView::open(w));  // the monitor binds it as the guest's root
    // /dev/shm's mount point (enter_rootfs_namespace), kept out of --keep-changes' DIR/upper.
    if (!w.rootfs_writable && !w.rootfs_read_only) SPECTRUM_TRY(view.ensure_directory("dev/shm"));
    UniqueFd out_capture, err_capture;
    ProcessConfig config;
    config.stdin_fd = SPECTRUM_TRY(stream_fd(w.stdin_stream, false, nullptr, 0, "stdin"));
    config.stdout_fd = SPECTRUM_TRY(stream_fd(w.stdout_stream, true, &out_capture, 1, "stdout"));
    config.stderr_fd = SPECTRUM_TRY(stream_fd(w.stderr_stream, true, &err_capture, 2, "stderr"));
    config.cwd = w.workdir.empty() ? "/" : w.workdir;
    config.read_only = w.rootfs_read_only;
    config.memory_bytes = pre.spec.memory_bytes;
    config.max_tasks = w.limits.max_pids.value_or(0);
    config.executable = pre.spec.program_name;
    int report_pipe[2];
    if (::pipe2(report_pipe, O_CLOEXEC) != 0) return fail_errno("pipe2");
    UniqueFd report_read(report_pipe[0]), report_write(report_pipe[1]);

    // The monitor is the supervised process: the guest lives and dies with it.
    Child monitor = SPECTRUM_TRY(fork_monitor([&] {
      report_read.reset();
      out_capture.reset();
      err_capture.reset();
      ::close(signals.fd());
      monitor_main(w, view.path(), std::move(guest), std::move(config), report_write.get(), platform_);
    }));
    // The parent keeps nothing of the guest.
    { PreparedGuest drop = std::move(guest); }
    config = ProcessConfig{};
    report_write.reset();

    RunResult result;
    result.tier = std::string(name());
    std::string report;
    bool tree_ended = false;
    Supervision supervision;
    supervision.child = &monitor;
    supervision.pipes = {{&out_capture, &result.captured_stdout, &result.stdout_truncated},
                         {&err_capture, &result.captured_stderr, &result.stderr_truncated},
                         {&report_read, &report, nullptr, kMaxReport}};
    // The monitor enforces --timeout itself (it reports how the guest was stopped); this deadline
    // is the last resort for a monitor that does not.
    if (w.limits.timeout) supervision.deadline = started + *w.limits.timeout + kMonitorGrace;
    supervision.signals = &signals;
    supervision.kill_tree = [&] {
      tree_ended = true;
      ::syscall(SYS_pidfd_send_signal, monitor.pidfd.get(), SIGKILL, nullptr, 0);
    };
    const SupervisedExit exit = SPECTRUM_TRY(supervise(supervision));
    record_exit(exit, started, w.limits.timeout, result);
    return read_report(report, exit, tree_ended, w, std::move(result));
  }

 private:
  PlatformKind platform_;
};

}  // namespace
}  // namespace vm

std::unique_ptr<Tier> make_vm_tier() { return std::make_unique<vm::VmTier>(vm::PlatformKind::kvm); }
std::unique_ptr<Tier> make_sandbox_tier() { return std::make_unique<vm::VmTier>(vm::PlatformKind::ptrace); }

}  // namespace spectrum
