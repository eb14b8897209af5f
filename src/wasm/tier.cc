// The wasm tier: a WASI command module run in Spectrum's own engine, inside the spectrum process.
//
// Mapping of the workload model:
//   program, args        the module file and its argv (argv[0] = the program as given)
//   env                  only the --env values: the host's environment never reaches the sandbox
//   mounts, rootfs       WASI preopens (HOST:GUEST[:ro]; a rootfs is preopened as "/"); with
//                        neither, the guest has no file system at all
//   --memory             the engine's budget for everything the module sizes (linear memory,
//                        tables, segments, globals, code, stacks): memory.grow and table.grow
//                        fail past it (malloc returns NULL); a module that does not fit ends as
//                        out_of_memory unstarted
//   --timeout            a watchdog thread interrupts the engine (checked at loops and calls),
//                        wakes a guest blocked in poll_oneoff or a read, and signals the running
//                        thread until the run ends, so that any blocking host call returns
//   signals              SIGINT, SIGTERM, SIGHUP, SIGQUIT to spectrum end the run the same way (WASI
//                        has no signals: the default action), recorded as signaled N
//   --cpuset             pins the running thread; --cpus has no meaning for an interpreter thread
//                        without a cgroup of its own and is refused
// Outcome: `_start` returning is exit 0, proc_exit(N) is exit N, in the start function as in
// `_start`. A trap is reported as the signal
// the same fault raises in a native process (out-of-bounds -> SIGSEGV, divide by zero -> SIGFPE,
// unreachable/abort -> SIGILL), so shell statuses compare across tiers; `detail` holds the trap.
// Peak memory is the spectrum process's peak RSS (ru_maxrss): engine, module and linear memory.
#include "core/tier.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/fd.h"
#include "core/supervisor.h"
#include "wasm/engine.h"
#include "wasm/module.h"
#include "wasm/native.h"
#include "wasm/tier_up.h"
#include "wasm/wasi/wasi.h"

namespace spectrum {
namespace {

using Clock = std::chrono::steady_clock;

// Trap kind -> the signal a native process would die of for the same fault.
struct TrapSignal {
  wasm::TrapKind kind;
  int signal;
};
constexpr TrapSignal kTrapSignals[] = {
    {wasm::TrapKind::unreachable, SIGILL},
    {wasm::TrapKind::memory_out_of_bounds, SIGSEGV},
    {wasm::TrapKind::table_out_of_bounds, SIGSEGV},
    {wasm::TrapKind::undefined_element, SIGSEGV},
    {wasm::TrapKind::indirect_call_type_mismatch, SIGILL},
    {wasm::TrapKind::integer_divide_by_zero, SIGFPE},
    {wasm::TrapKind::integer_overflow, SIGFPE},
    {wasm::TrapKind::invalid_conversion, SIGFPE},
    {wasm::TrapKind::null_reference, SIGSEGV},
    {wasm::TrapKind::stack_exhausted, SIGSEGV},
    {wasm::TrapKind::data_segment_dropped, SIGSEGV},
};
int signal_of(wasm::TrapKind kind) {
  for (const auto& row : kTrapSignals)
    if (row.kind == kind) return row.signal;
  return SIGILL;
}

std::chrono::nanoseconds to_duration(const timeval& tv) {
  return std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec);
}

wasm::ValType to_engine(wasi::ValType type) {
  return type == wasi::ValType::i32 ? wasm::ValType::i32 : wasm::ValType::i64;
}

// The host fd of one guest stdio stream, and the memfd to read back when captured.
struct StdioStream {
  int fd = -1;
  UniqueFd owned;
  bool captured = false;
};

Result<StdioStream> open_stdio(const Stdio& stdio, int inherited_fd, bool output, const char* name) {
  StdioStream stream;
  switch (stdio.mode) {
    case Stdio::Mode::inherit:
      stream.fd = inherited_fd;
      return stream;
    case Stdio::Mode::null:
      stream.owned.reset(::open("/dev/null", (output ? O_WRONLY : O_RDONLY) | O_CLOEXEC));
      break;
    case Stdio::Mode::file:
      stream.owned.reset(::open(stdio.path.c_str(),
                                output ? O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC : O_RDONLY | O_CLOEXEC,
                                0644));
      if (!stream.owned) return fail_errno(std::string("wasm: ") + name + " file '" + stdio.path + "'");
      break;
    case Stdio::Mode::capture:
      if (!output) return fail(std::string("wasm: ") + name + " cannot be captured");
      stream.owned.reset(::memfd_create(name, MFD_CLOEXEC));
      stream.captured = true;
      break;
  }
  if (!stream.owned) return fail_errno(std::string("wasm: ") + name);
  stream.fd = stream.owned.get();
  return stream;
}

Result<std::string> read_back(const StdioStream& stream) {
  std::string out;
  char buffer[65536];
  for (off_t offset = 0;;) {
    ssize_t n = ::pread(stream.fd, buffer, sizeof buffer, offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno("wasm: reading captured output");
    }
    if (n == 0) return out;
    out.append(buffer, static_cast<std::size_t>(n));
    offset += n;
  }
}

Result<std::vector<std::uint8_t>> read_module(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    int err = errno;
    ExitCode code = err == ENOENT || err == ENOTDIR ? ExitCode::not_found : ExitCode::not_executable;
    return std::unexpected(Error::from_errno("wasm: program '" + path + "'", err).with_exit_code(code));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return fail_errno("wasm: program '" + path + "'");
  if (!S_ISREG(st.st_mode))
    return fail("wasm: program '" + path + "': not a regular file", 0, ExitCode::not_executable);
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(st.st_size));
  for (std::size_t done = 0; done < bytes.size();) {
    ssize_t n = ::read(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail_errno("wasm: reading '" + path + "'");
    done += static_cast<std::size_t>(n);
  }
  return bytes;
}

// The signal that cuts a blocking host call short once the deadline has passed. SIGURG is
// ignored by default, so one arriving after the run (or elsewhere) harms nothing.
constexpr int kWakeSignal = SIGURG;
void on_wake_signal(int) {}

// For the run: kWakeSignal gets a handler without SA_RESTART (a blocked write, open or read
// returns EINTR) and is unblocked in this thread; both restored on destruction.
class WakeSignal {
 public:
  WakeSignal() {
    struct sigaction action {};
    action.sa_handler = on_wake_signal;
    ::sigemptyset(&action.sa_mask);
    // Compiled code's interrupt signal waits until this handler has returned to the code it stops.
    ::sigaddset(&action.sa_mask, wasm::native_interrupt_signal());
    ::sigaction(kWakeSignal, &action, &previous_);
    sigset_t set;
    ::sigemptyset(&set);
    ::sigaddset(&set, kWakeSignal);
    ::pthread_sigmask(SIG_UNBLOCK, &set, &mask_);
  }
  ~WakeSignal() {
    ::pthread_sigmask(SIG_SETMASK, &mask_, nullptr);
    ::sigaction(kWakeSignal, &previous_, nullptr);
  }
  WakeSignal(const WakeSignal&) = delete;
  WakeSignal& operator=(const WakeSignal&) = delete;

 private:
  struct sigaction previous_ {};
  sigset_t mask_{};
};

// Ends the run early: when the wall-clock limit passes, or when a signal reaches spectrum (SIGINT,
// SIGTERM, SIGHUP, SIGQUIT, received through the SignalGuard; WASI has no signals, so the guest
// gets the default action of each: the end). Interrupts the engine and WASI, then signals the
// running thread every few milliseconds until the run ends: a host call blocked in the kernel
// returns EINTR whenever it entered the kernel (a single signal could land just before the call
// blocks). Also keeps one alarm (tier-up's start): a run shorter than it costs no thread of its
// own. Stopped on destruction.
class Watchdog {
 public:
  Watchdog(std::optional<Clock::time_point> deadline, SignalGuard& signals, wasm::Store& store,
           wasi::Wasi& wasi)
      : run_thread_(static_cast<pid_t>(::syscall(SYS_gettid))),
        stop_(::eventfd(0, EFD_CLOEXEC)),
        rearm_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
        thread_([this, deadline, &signals, &store, &wasi] { watch(deadline, signals, store, wasi); }) {}
  ~Watchdog() {
    const std::uint64_t one = 1;
    (void)!::write(stop_.get(), &one, sizeof one);
    thread_.join();
  }
  bool timed_out() const { return timed_out_.load(); }
  int signal() const { return signal_.load(); }  // the signal that ended the run, or 0
  // Calls `f` on the watchdog's thread at `at`, unless the run ends or cancel_alarm() comes first
  // (replaces an alarm that has not gone off).
  void set_alarm(Clock::time_point at, std::function<void()> f) {
    {
      std::lock_guard lock(alarm_mutex_);
      alarm_ = {at, std::move(f)};
    }
    const std::uint64_t one = 1;
    (void)!::write(rearm_.get(), &one, sizeof one);
  }
  // After it, the alarm's function is not running and will not run.
  void cancel_alarm() {
    std::lock_guard lock(alarm_mutex_);
    alarm_.reset();
  }

 private:
  void watch(std::optional<Clock::time_point> deadline, SignalGuard& signals, wasm::Store& store,
             wasi::Wasi& wasi) {
    pollfd fds[3] = {{stop_.get(), POLLIN, 0}, {signals.fd(), POLLIN, 0}, {rearm_.get(), POLLIN, 0}};
    for (;;) {
      std::optional<Clock::time_point> alarm_at;
      {
        std::lock_guard lock(alarm_mutex_);
        if (alarm_) alarm_at = alarm_->first;
      }
      std::optional<Clock::time_point> wake = deadline;
      if (alarm_at) wake = wake ? std::min(*wake, *alarm_at) : *alarm_at;
      int wait_ms = -1;
      if (wake) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(*wake - Clock::now()).count();
        wait_ms = static_cast<int>(std::clamp<long long>(left, 0, 1 << 30));
      }
      const int ready = ::poll(fds, 3, wait_ms);
      if (ready < 0 && errno != EINTR) return;
      if (fds[0].revents) return;  // the run ended by itself
      if (fds[2].revents) {
        std::uint64_t count;
        (void)!::read(rearm_.get(), &count, sizeof count);
      }
      if (deadline && Clock::now() >= *deadline) {
        timed_out_.store(true);
        break;
      }
      if (fds[1].revents)
        if (const int sig = signals.take(); sig != 0) {
          signal_.store(sig);
          break;
        }
      {
        // Under the lock: cancel_alarm() returns only once a call in progress is over.
        std::lock_guard lock(alarm_mutex_);
        if (alarm_ && Clock::now() >= alarm_->first) std::exchange(alarm_, std::nullopt)->second();
      }
    }
    wasi.interrupt();
    // Store::interrupt's signal to compiled code is lost when it finds the thread in another
    // handler (docs/wasm.md: interruption): repeated with the wake-up.
    do {
      store.interrupt();
      ::syscall(SYS_tgkill, ::getpid(), run_thread_, kWakeSignal);
    } while (::poll(fds, 1, 5) == 0);
  }

  pid_t run_thread_;
  UniqueFd stop_;   // an eventfd, readable once the run has ended
  UniqueFd rearm_;  // an eventfd, readable when the alarm changed
  std::mutex alarm_mutex_;
  std::optional<std::pair<Clock::time_point, std::function<void()>>> alarm_;
  std::atomic<bool> timed_out_{false};
  std::atomic<int> signal_{0};
  std::thread thread_;  // last: it starts once everything above exists
};

// What the guest's code did (the start function's or _start's) as the run's outcome.
void record_outcome(const wasm::CallOutcome& outcome, const Watchdog& watchdog, const char* where,
                    RunResult& result) {
  switch (outcome.kind) {
    case wasm::CallOutcome::Kind::returned:
      result.exit_code = 0;
      break;
    case wasm::CallOutcome::Kind::exited:
      result.exit_code = outcome.exit_code;
      break;
    case wasm::CallOutcome::Kind::trapped:
      if (outcome.trap.kind == wasm::TrapKind::interrupted && watchdog.timed_out()) {
        result.outcome = Outcome::timed_out;
        result.detail = "interrupted in " + outcome.trap.function + " after the timeout";
      } else if (outcome.trap.kind == wasm::TrapKind::interrupted && watchdog.signal() != 0) {
        const char* abbrev = ::sigabbrev_np(watchdog.signal());
        result.outcome = Outcome::signaled;
        result.signal = watchdog.signal();
        result.detail = std::string("SIG") + (abbrev ? abbrev : "?") +
                        " to spectrum: WASI has no signals, so " + "the default action, interrupted in " +
                        outcome.trap.function;
      } else if (outcome.trap.kind == wasm::TrapKind::out_of_memory) {
        result.outcome = Outcome::out_of_memory;
        result.detail = outcome.trap.describe();
      } else {
        result.outcome = Outcome::signaled;
        result.signal = signal_of(outcome.trap.kind);
        result.detail = "trap: " + outcome.trap.describe();
      }
      break;
  }
  if (outcome.kind == wasm::CallOutcome::Kind::exited && *where)
    result.detail = std::string("proc_exit") + where;
  else if (outcome.kind == wasm::CallOutcome::Kind::trapped)
    result.detail += where;
}

class WasmTier final : public Tier {
 public:
  std::string_view name() const override { return "wasm"; }

  TierProbe probe() const override {
    TierProbe probe;
    // WASI path confinement relies on openat2 (Linux 5.6); an invalid call tells if it exists.
    if (::syscall(SYS_openat2, -1, nullptr, nullptr, 0) < 0 && errno == ENOSYS) {
      probe.reason = "the kernel lacks openat2 (Linux 5.6+), needed to confine WASI paths";
      return probe;
    }
    probe.usable = true;
    probe.facts = {{"engine", "Spectrum interpreter (threaded code)"},
                   {"modes", "interpreter"},
                   {"wasi", std::string(wasi::module_name) + ", " +
                                std::to_string(wasi::host_functions().size()) + " functions"},
                   {"confinement", "openat2 RESOLVE_BENEATH"}};
    return probe;
  }

  Result<RunResult> run(const Workload& workload) override {
    Clock::time_point start = Clock::now();
    // First: a signal from now on ends the run with a record, never spectrum without one.
    SignalGuard signals;
    rusage usage_before{};
    ::getrusage(RUSAGE_SELF, &usage_before);

    if (workload.limits.cpus) return fail("wasm: --cpus is not supported by the wasm tier (use --cpuset)");
    if (!workload.workdir.empty() && workload.workdir != "/")
      return fail("wasm: --workdir is not supported by the wasm tier (WASI programs start in /)");

    auto bytes = SPECTRUM_TRY(read_module(workload.program));
    auto loaded = wasm::Module::load(bytes);
    if (!loaded) return std::unexpected(loaded.error().wrap("wasm: " + workload.program));
    wasm::Module module = std::move(*loaded);

    wasi::Config config;
    config.args = workload.argv();
    config.env = workload.env;
    if (!workload.rootfs.empty())
      config.preopens.push_back({workload.rootfs, "/", workload.rootfs_read_only});
    for (const Mount& mount : workload.mounts) {
      struct stat st {};
      if (::stat(mount.host_path.c_str(), &st) != 0)
        return fail_errno("wasm: --mount '" + mount.host_path + "'");
      if (!S_ISDIR(st.st_mode))
        return fail("wasm: --mount '" + mount.host_path + "': WASI preopens are directories, not files");
      config.preopens.push_back({mount.host_path, mount.target, mount.read_only});
    }
    auto in = SPECTRUM_TRY(open_stdio(workload.stdin_stream, STDIN_FILENO, false, "stdin"));
    auto out = SPECTRUM_TRY(open_stdio(workload.stdout_stream, STDOUT_FILENO, true, "stdout"));
    auto err = SPECTRUM_TRY(open_stdio(workload.stderr_stream, STDERR_FILENO, true, "stderr"));
    config.stdin_fd = in.fd;
    config.stdout_fd = out.fd;
    config.stderr_fd = err.fd;
    auto wasi = SPECTRUM_TRY(wasi::Wasi::create(std::move(config)));

    if (workload.limits.cpuset) SPECTRUM_TRY(pin_to(*workload.limits.cpuset));

    wasm::StoreLimits limits;
    if (workload.limits.memory_bytes) {
      limits.max_memory_pages = static_cast<std::uint32_t>(
          std::min<std::uint64_t>(*workload.limits.memory_bytes / wasm::kPageSize, wasm::kMaxPages));
      limits.max_memory_bytes = *workload.limits.memory_bytes;
    }
    wasm::Store store(limits);
    store.set_engine(wasm::run_engine(), wasm::default_cache_dir());
    wasm::Linker linker;
    // Only the functions the module imports: an unknown one is left for the linker to name.
    for (const wasm::ImportInfo& import : module.imports()) {
      if (import.module != wasi::module_name || import.kind != wasm::ExternKind::func) continue;
      const wasi::HostFunction* function = wasi::find_host_function(import.name);
      if (!function) continue;
      wasm::FuncType type;
      for (wasi::ValType t : function->params) type.params.push_back(to_engine(t));
      for (wasi::ValType t : function->results) type.results.push_back(to_engine(t));
      linker.define_function(store, import.module, import.name, std::move(type),
                             [state = wasi.get(), function](wasm::HostCall& call, const std::uint64_t* args,
                                                            std::uint64_t* results) {
                               wasm::MemoryView view = call.memory();
                               wasi::CallResult r = function->invoke(
                                   *state, wasi::GuestMemory(view.data, view.size), args, results);
                               switch (r.kind) {
                                 case wasi::CallResult::Kind::returned:
                                   return wasm::HostResult::ok();
                                 case wasi::CallResult::Kind::exited:
                                   return wasm::HostResult::exit(static_cast<std::int32_t>(r.value));
                                 case wasi::CallResult::Kind::interrupted:
                                   return wasm::HostResult::interrupted();
                               }
                               return wasm::HostResult::trap("wasi: unknown call result");
                             });
    }

    // A guest writing to a closed pipe gets EPIPE, as WASI says, instead of killing spectrum.
    struct sigaction ignore {
    }, previous{};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &ignore, &previous);
    struct RestoreSigpipe {
      struct sigaction saved;
      ~RestoreSigpipe() { ::sigaction(SIGPIPE, &saved, nullptr); }
    } restore_sigpipe{previous};

    std::optional<WakeSignal> wake_signal(std::in_place);
    // The deadline counts from the start of the run: reading and validating the module are part
    // of it (they are not interrupted, but a run that spent its time there stops at once).
    std::optional<Watchdog> watchdog(std::in_place,
                                     workload.limits.timeout
                                         ? std::optional<Clock::time_point>(start + *workload.limits.timeout)
                                         : std::nullopt,
                                     signals, store, *wasi);

    RunResult result;
    result.tier = "wasm";
    rusage helper_usage{};  // what the run's helper processes used (tier-up's compiler)
    // A module that needs more memory than allowed before it even starts is out of memory, like
    // a native program that cannot map its data: the workload's outcome, not Spectrum's error.
    for (const wasm::MemoryType& memory : module.data().memories) {
      if (memory.limits.min <= limits.max_memory_pages) continue;
      result.outcome = Outcome::out_of_memory;
      result.detail = "the module's initial linear memory (" +
                      std::to_string(memory.limits.min * wasm::kPageSize >> 20) +
                      " MiB) exceeds the memory limit";
      return finish(std::move(result), start, usage_before, helper_usage, out, err);
    }
    const std::optional<std::chrono::milliseconds> tier_up_delay =
        SPECTRUM_TRY(wasm::TierUp::configured_delay(bytes.size()));
    // The start function is the program's first code: its proc_exit or trap is the outcome.
    wasm::CallOutcome start_outcome;
    auto instance = linker.instantiate(store, module, start_outcome);
    if (!instance) {
      // Tables, segments and globals that do not fit are the workload's memory, as is memory.
      if (instance.error().sys_errno() != ENOMEM)
        return std::unexpected(instance.error().wrap("wasm: " + workload.program));
      result.outcome = Outcome::out_of_memory;
      result.detail = instance.error().message();
    } else if (start_outcome.kind != wasm::CallOutcome::Kind::returned) {
      record_outcome(start_outcome, *watchdog, " in the start function", result);
    } else {
      // (A start function that exits or traps leaves no instance, and so no engine to name.)
      result.engine = (*instance)->runs_compiled_code() ? "compiled" : "interpreted";
      auto entry = (*instance)->find_export("_start");
      if (!entry || entry->kind != wasm::ExternKind::func)
        return fail("wasm: " + workload.program +
                    ": no exported function '_start' (not a WASI command module)");
      result.startup_time = Clock::now() - start;
      std::unique_ptr<wasm::TierUp> tier_up;
      if (tier_up_delay)
        if ((tier_up = wasm::TierUp::prepare(store, **instance)))
          watchdog->set_alarm(Clock::now() + *tier_up_delay, [&tier_up = *tier_up] { tier_up.begin(); });
      auto outcome = (*instance)->call(entry->func, {});
      if (tier_up && tier_up->switched()) result.engine = "interpreted, then compiled";
      watchdog->cancel_alarm();
      if (tier_up) {
        tier_up->end();  // a compile still going ends with the run; its CPU is the run's
        helper_usage = tier_up->compiler_usage();
        tier_up.reset();
      }
      if (!outcome) return std::unexpected(outcome.error());
      record_outcome(*outcome, *watchdog, "", result);
    }
    watchdog.reset();
    wake_signal.reset();
    return finish(std::move(result), start, usage_before, helper_usage, out, err);
  }

 private:
  // Measurements and captured output, on every path that produced a RunResult.
  static Result<RunResult> finish(RunResult result, Clock::time_point start, const rusage& usage_before,
                                  const rusage& helper_usage, const StdioStream& out,
                                  const StdioStream& err) {
    rusage usage_after{};
    ::getrusage(RUSAGE_SELF, &usage_after);
    result.wall_time = Clock::now() - start;
    result.user_cpu = to_duration(usage_after.ru_utime) - to_duration(usage_before.ru_utime) +
                      to_duration(helper_usage.ru_utime);
    result.system_cpu = to_duration(usage_after.ru_stime) - to_duration(usage_before.ru_stime) +
                        to_duration(helper_usage.ru_stime);
    result.peak_memory_bytes = static_cast<std::uint64_t>(usage_after.ru_maxrss) * 1024;
    if (out.captured) result.captured_stdout = SPECTRUM_TRY(read_back(out));
    if (err.captured) result.captured_stderr = SPECTRUM_TRY(read_back(err));
    return result;
  }

  static Result<void> pin_to(const std::string& cpuset) {
    cpu_set_t set;
    CPU_ZERO(&set);
    std::size_t pos = 0;
    while (pos < cpuset.size()) {
      std::size_t comma = cpuset.find(',', pos);
      std::string item = cpuset.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
      std::size_t dash = item.find('-');
      int first = std::stoi(item.substr(0, dash));
      int last = dash == std::string::npos ? first : std::stoi(item.substr(dash + 1));
      for (int cpu = first; cpu <= last && cpu < CPU_SETSIZE; ++cpu) CPU_SET(cpu, &set);
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
    if (::sched_setaffinity(0, sizeof set, &set) != 0) return fail_errno("wasm: --cpuset '" + cpuset + "'");
    return {};
  }
};

}  // namespace
std::unique_ptr<Tier> make_wasm_tier() { return std::make_unique<WasmTier>(); }
}  // namespace spectrum
