#include "vm/kernel/kernel.h"

#include <linux/sched.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <utility>

#include "vm/boot.h"
#include "vm/monitor.h"
#include "vm/syscalls/syscalls.h"

namespace spectrum::vm::kernel {

namespace {
constexpr int kMaxRestarts = 64;

void timed_out(GuestOutcome& outcome) {
  outcome.kind = GuestOutcome::Kind::timed_out;
  outcome.status = SIGKILL;
  outcome.detail = "timeout: the VM was destroyed";
}

}  // namespace

Kernel::Kernel(platform::ExecutionContext& ctx, Process& init, int max_tasks)
    : ctx_(ctx), max_tasks_(max_tasks > 0 ? std::min(max_tasks, kDefaultMaxTasks) : kDefaultMaxTasks) {
  auto t = std::make_unique<Task>();
  t->pid = 1, t->ppid = 0, t->pgid = 1, t->sid = 1, t->tgid = 1;
  t->process = &init;
  t->state = Task::State::running;
  init.set_kernel(this, 1);
  current_ = on_cpu_ = t.get();
  on_cpu_since_ = ctx_.cpu_clock_ns();
  tasks_.push_back(std::move(t));
}

Kernel::~Kernel() {
  // The workload's Process is the caller's: it must not point at a kernel that is gone.
  if (!tasks_.empty() && !tasks_.front()->owned) tasks_.front()->process->set_kernel(nullptr, 1);
}

SharedFiles& Kernel::shared_files(Process& p) {
  if (!shared_files_) shared_files_.emplace(p.space().memory(), p.space().frames());
  return *shared_files_;
}

SysvShm& Kernel::sysv_shm(Process& p) {
  if (!sysv_shm_) sysv_shm_.emplace(p.space().frames());
  return *sysv_shm_;
}

Task* Kernel::find(int pid) {
  for (auto& t : tasks_)
    if (t->pid == pid && !t->reaped) return t.get();
  return nullptr;
}

Task& Kernel::task_of(const Process& p) {
  if (current_->process == &p) return *current_;
  Task* t = find(p.pid());
  return t ? *t : *current_;
}

SyscallResult Kernel::handle(Task& t, const SyscallRequest& request) {
  SyscallResult r = t.process->handle(request);
  for (int i = 0; r.kind == SyscallResult::Kind::restart; ++i) {
    if (i >= kMaxRestarts) return SyscallResult::error(EINTR);
    r = t.process->handle(request);
  }
  return r;
}

void Kernel::vfork_done(const Task& child) {
  for (auto& t : tasks_) {
    if (t->vfork_child != child.pid || t->state != Task::State::blocked) continue;
    t->vfork_child = 0;
    t->regs.rax = static_cast<std::uint64_t>(child.pid);
    t->state = Task::State::ready;
  }
}

void Kernel::end_task(Task& t, int wait_status) {
  t.state = Task::State::zombie;
  t.wait_status = wait_status;
  vfork_done(t);
  ipc_wait_ended(t);
  sysv_sem_.exit_process(t.tgid);  // its SEM_UNDO adjustments
  // Its fds close now (a reader of its pipe sees the end); its memory goes once the platform has
  // left it (the ptrace platform's stub follows the running task's address space).
  if (t.process) t.process->release_files();
  t.futex.reset();
  if (&t != on_cpu_) {
    t.owned.reset();
    t.process = nullptr;
  }
  for (auto& other : tasks_)
    if (other->ppid == t.pid && other.get() != &t) other->ppid = 1;
  // A process `spectrum exec` started: its client is its parent, outside the sandbox.
  if (answer_exec_client(t)) {
    t.reaped = true;
    return;
  }
  // The parent hears of it: SIGCHLD if it handles it; with SIGCHLD ignored (or SA_NOCLDWAIT) the
  // child is reaped at once, as Linux does.
  Task* parent = find(t.ppid);
  if (!parent || !parent->process || parent->state == Task::State::zombie) return;
  const auto& action = parent->process->sighand().actions[SIGCHLD];
  if (action[0] == reinterpret_cast<std::uint64_t>(SIG_IGN) || (action[1] & SA_NOCLDWAIT)) {
    t.reaped = true;
    return;
  }
  const bool exited = WIFEXITED(wait_status);
  (void)send(*parent, SIGCHLD, t.pid, exited ? CLD_EXITED : CLD_KILLED,
             exited ? WEXITSTATUS(wait_status) : WTERMSIG(wait_status));
}

bool Kernel::ends_workload(const SyscallResult& r, Task& t, GuestOutcome& outcome) {
  if (r.kind == SyscallResult::Kind::exit_thread) {
    end_thread(t);
    return false;
  }
  if (r.kind != SyscallResult::Kind::exit && r.kind != SyscallResult::Kind::signal) return false;
  if (t.tgid == 1) {
    outcome.kind =
        r.kind == SyscallResult::Kind::exit ? GuestOutcome::Kind::exited : GuestOutcome::Kind::signaled;
    outcome.status = static_cast<int>(r.value);
    if (r.kind == SyscallResult::Kind::signal)
      outcome.detail =
          std::string("the workload sent itself signal ") + ::strsignal(static_cast<int>(r.value));
    return true;
  }
  const int status = r.kind == SyscallResult::Kind::exit ? static_cast<int>((r.value & 0xff) << 8)
                                                         : static_cast<int>(r.value & 0x7f);
  end_group(t);
  Task* leader = find(t.tgid);
  if (leader && leader != &t && leader->state != Task::State::zombie) {
    end_thread(t);
    end_task(*leader, status);
  } else {
    end_task(t, status);
  }
  return false;
}

bool Kernel::other_threads(const Task& t) const {
  for (const auto& o : tasks_)
    if (o.get() != &t && o->tgid == t.tgid && o->state != Task::State::zombie) return true;
  return false;
}

void Kernel::end_thread(Task& t) {
  if (t.clear_tid && t.process) {
    const std::uint32_t zero = 0;
    if (t.process->space().write(t.clear_tid, {reinterpret_cast<const std::uint8_t*>(&zero), 4}))
      (void)futex_wake(*t.process, t.clear_tid, 1, false);
  }
  if (t.process) t.process->release_files();
  t.state = Task::State::zombie;
  t.reaped = true;  // a thread is never waited for
  vfork_done(t);
  ipc_wait_ended(t);
  t.futex.reset();
  if (&t != on_cpu_) {
    t.owned.reset();
    t.process = nullptr;
  }
}

// Every other thread of t's process ends (exit_group, a fatal signal, execve).
void Kernel::end_group(Task& t) {
  for (auto& o : tasks_)
    if (o.get() != &t && o->tgid == t.tgid && o->pid != o->tgid && o->state != Task::State::zombie)
      end_thread(*o);
}

Result<void> Kernel::resume(Task& t) {
  Task* previous = on_cpu_;
  const bool switching = previous != &t;
  // The FPU/SSE/AVX registers are the task's as much as its general ones: a task preempted in
  // the middle of a vector loop finds them as it left them. (Saved before the switch and set
  // after it: on ptrace each address space has a host process of its own.)
  if (switching) {
    ++switches_;
    if (previous->state != Task::State::zombie && previous->process)
      previous->extended_state = SPECTRUM_TRY(ctx_.extended_state());
    charge_cpu();
  }
  current_ = on_cpu_ = &t;
  t.state = Task::State::running;
  SPECTRUM_TRY(ctx_.switch_task(t.process->space(), t.regs));
  if (switching) {
    SPECTRUM_TRY(ctx_.set_extended_state(t.extended_state));
    on_cpu_since_ = ctx_.cpu_clock_ns();
    if (previous->state == Task::State::zombie) {
      previous->owned.reset();
      previous->process = nullptr;
    }
  }
  std::erase_if(tasks_, [&](const auto& o) {
    const bool gone = o->reaped && o.get() != on_cpu_;
    if (gone && o->pid != o->tgid) ended_threads_cpu_[o->tgid] += o->cpu;  // (a process's own: at its wait)
    return gone;
  });
  return {};
}

void Kernel::note_served() {
  if (serving_since_ == 0) return;
  const std::uint64_t now = monitor_cpu_ns();
  served_ns_ += now - serving_since_;
  serving_since_ = now;
}

void Kernel::charge_cpu() {
  note_served();
  const std::uint64_t now = ctx_.cpu_clock_ns();
  const std::uint64_t clock = now > on_cpu_since_ ? now - on_cpu_since_ : 0;
  CpuTime used;
  if (ctx_.cpu_clock_counts_monitor()) {
    // KVM: one thread ran the guest and served it, so the serving is part of the clock (never
    // more than it).
    used.system_ns = std::min(served_ns_, clock);
    used.user_ns = clock - used.system_ns;
  } else {
    // ptrace: the stub's clock is the guest's alone; the monitor's own CPU time since the last
    // charge (its handlers and its ptrace calls) is the serving, on top.
    const std::uint64_t monitor = monitor_cpu_ns();
    used.user_ns = clock;
    used.system_ns = monitor > monitor_cpu_since_ ? monitor - monitor_cpu_since_ : 0;
    monitor_cpu_since_ = monitor;
  }
  if (on_cpu_) on_cpu_->cpu += used;
  total_cpu_ += used;
  served_ns_ = 0;
  on_cpu_since_ = now;
}

std::uint64_t Kernel::monitor_cpu_ns() {
  timespec t{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<std::uint64_t>(t.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(t.tv_nsec);
}

CpuTime Kernel::group_cpu(int tgid) const {
  CpuTime total;
  for (const auto& t : tasks_)
    if (t->tgid == tgid) total += t->cpu;
  if (const auto it = ended_threads_cpu_.find(tgid); it != ended_threads_cpu_.end()) total += it->second;
  return total;
}

CpuTime Kernel::thread_cpu(const Process& p) {
  charge_cpu();
  return task_of(p).cpu;
}
CpuTime Kernel::process_cpu(const Process& p) {
  charge_cpu();
  return group_cpu(task_of(p).tgid);
}
vfs::ProcCpu Kernel::cpu_stats() {
  charge_cpu();
  vfs::ProcCpu out{total_cpu_.user_ns, total_cpu_.system_ns, switches_,
                   static_cast<std::uint64_t>(next_pid_ - 1), 0};
  for (const auto& t : tasks_)
    out.running += t->state == Task::State::running || t->state == Task::State::ready;
  return out;
}

CpuTime Kernel::children_cpu(const Process& p) {
  const auto it = children_cpu_.find(task_of(p).tgid);
  return it == children_cpu_.end() ? CpuTime{} : it->second;
}

Result<bool> Kernel::schedule(GuestOutcome& outcome) {
  for (;;) {
    serve_exec_requests();  // a process started from outside joins the round here
    // Round robin from the task after the current one.
    const auto here = std::find_if(tasks_.begin(), tasks_.end(), [&](auto& t) { return t.get() == on_cpu_; });
    const std::size_t first = here == tasks_.end() ? 0 : static_cast<std::size_t>(here - tasks_.begin()) + 1;
    std::vector<pollfd> fds;
    // Expired interval timers signal first; the sleep below ends no later than the next one.
    std::optional<std::chrono::steady_clock::time_point> deadline = fire_timers();
    bool blocked_any = false, task_ended = false;
    for (std::size_t k = 0; k < tasks_.size(); ++k) {
      Task& t = *tasks_[(first + k) % tasks_.size()];
      if (t.stopped && t.state != Task::State::zombie) {  // until SIGCONT (or SIGKILL) comes
        blocked_any = true;
        continue;
      }
      if (t.state == Task::State::blocked && t.vfork_child) {
        // Suspended in vfork until its child execs or ends (vfork_done), as Linux's is: no signal
        // interrupts it (a fatal one ends it where it is sent).
        blocked_any = true;
        continue;
      }
      // A signal of rt_sigtimedwait's set goes to the call even when it is not blocked (Linux
      // unblocks the set while it waits): the retry below takes it, and any other signal reaches
      // its handler once the call has returned.
      const bool awaited = t.sigwait && t.process && (t.process->pending_signals_ & t.sigwait);
      if (t.state == Task::State::blocked && deliverable(t) && !awaited) {
        t.futex.reset();
        t.sigwait = 0;
        ipc_wait_ended(t);
        interrupt(t);
        t.state = Task::State::ready;
      }
      if (t.state == Task::State::ready) {
        if (deliverable(t)) {
          if (const int sig = deliver(t, t.regs)) {
            if (t.tgid == 1) {
              workload_signal_ = sig;
              outcome.kind = GuestOutcome::Kind::signaled;
              outcome.status = sig;
              outcome.detail = std::string("the workload got signal ") + ::strsignal(sig);
              return false;
            }
            (void)ends_workload({SyscallResult::Kind::signal, sig, {}, {}, {}, {}}, t, outcome);
            task_ended = true;  // a task already passed over may wait for this one (wait4)
            continue;
          }
        }
        SPECTRUM_TRY(resume(t));
        return true;
      }
      if (t.state != Task::State::blocked) continue;
      blocked_any = true;
      // Is its wait over? Its fds polled without waiting, its deadline, or (no fds: it waits for
      // another task, a child's exit) simply tried again.
      std::vector<pollfd> mine = t.waiting.wait;
      const bool fd_ready = !mine.empty() && ::poll(mine.data(), mine.size(), 0) > 0;
      const auto now = std::chrono::steady_clock::now();
      const bool late = t.waiting.deadline && now >= *t.waiting.deadline;
      const bool signalled = t.sigwait && t.process && (t.process->pending_signals_ & t.sigwait);
      if (!fd_ready && !late && !signalled && (!mine.empty() || t.waiting.deadline || t.futex)) {
        fds.insert(fds.end(), mine.begin(), mine.end());
        if (t.waiting.deadline)
          deadline = deadline ? std::min(*deadline, *t.waiting.deadline) : *t.waiting.deadline;
        continue;
      }
      if (late && !fd_ready && !signalled) {
        t.futex.reset();
        t.sigwait = 0;
        ipc_wait_ended(t);
        t.regs.rax = static_cast<std::uint64_t>(t.waiting.value);
        t.state = Task::State::ready;
        --k;  // take it through the ready path (its pending signals)
        continue;
      }
      Task* previous = current_;
      current_ = &t;  // the handler runs as this task
      SyscallResult r = handle(t, t.pending);
      current_ = previous;
      if (r.kind == SyscallResult::Kind::block) {
        t.waiting = std::move(r);
        for (const pollfd& p : t.waiting.wait) fds.push_back(p);
        if (t.waiting.deadline)
          deadline = deadline ? std::min(*deadline, *t.waiting.deadline) : *t.waiting.deadline;
        continue;
      }
      if (ends_workload(r, t, outcome)) return false;
      if (t.state == Task::State::zombie) continue;
      t.regs.rax = static_cast<std::uint64_t>(r.value);
      if (r.fs_base) t.regs.fs_base = *r.fs_base;
      if (r.gs_base) t.regs.gs_base = *r.gs_base;
      t.state = Task::State::ready;
      --k;
      continue;
    }
    if (!blocked_any) return fail("the sandbox kernel has no task left to run");
    if (task_ended) continue;  // a signal (a timer's) ended a task: retry the others before sleeping
    // Nothing can run: sleep until a blocked task's fd is ready or the nearest deadline. Tasks that
    // wait for another task only can wake when one runs; if none can, this waits for the timeout,
    // as the same deadlock would natively.
    exec_fds(fds);
    int wait_ms = -1;
    if (deadline) {
      const auto left = *deadline - std::chrono::steady_clock::now();
      wait_ms = static_cast<int>(
          std::clamp<std::int64_t>(std::chrono::ceil<std::chrono::milliseconds>(left).count(), 0, 1 << 30));
    }
    // The sleep is nobody's CPU time.
    note_served();
    const bool serving = serving_since_ != 0;
    serving_since_ = 0;
    const int polled = ::poll(fds.data(), fds.size(), wait_ms);
    if (serving) serving_since_ = monitor_cpu_ns();
    if (polled < 0 && errno == EINTR) {
      if (forwarded_ends_run(outcome)) return false;
      if (TimeoutTimer::fired()) {
        timed_out(outcome);
        return false;
      }
    }
  }
}

// Signals sent to the monitor are the workload's (ForwardedSignals, pid 1's): its disposition
// decides.
// Taken between two stops, so also those that arrived while a system call was served.
bool Kernel::forwarded_ends_run(GuestOutcome& outcome) {
  for (int signal = ForwardedSignals::take(); signal != 0; signal = ForwardedSignals::take()) {
    // A handler of the workload's gets it (delivered on its way back to user mode).
    if (send(*tasks_.front(), signal, 0) != SendResult::terminates) continue;
    const char* abbrev = ::sigabbrev_np(signal);
    outcome.kind = GuestOutcome::Kind::signaled;
    outcome.status = signal;
    outcome.detail = "the guest took the default action of SIG" + std::string(abbrev ? abbrev : "?") +
                     ", sent to its monitor";
    return true;
  }
  return false;
}

Result<GuestOutcome> Kernel::run() {
  GuestOutcome outcome;
  monitor_cpu_since_ = monitor_cpu_ns();  // what loading the first program took is nobody's
  const auto start = std::chrono::steady_clock::now();
  bool first_stop = true;
  for (;;) {
    if (forwarded_ends_run(outcome)) break;
    if (vdso_) vdso_->clock().refresh();
    note_served();
    serving_since_ = 0;
    platform::Stop stop = SPECTRUM_TRY(ctx_.run());
    // (KVM only: on ptrace the monitor's whole CPU clock is the serving, read at each charge.)
    serving_since_ = ctx_.cpu_clock_counts_monitor() ? monitor_cpu_ns() : 0;
    if (first_stop) {
      outcome.to_first_instruction = std::chrono::steady_clock::now() - start;
      first_stop = false;
    }
    if (stop.kind == platform::Stop::Kind::interrupted) {
      if (forwarded_ends_run(outcome)) break;
      if (!TimeoutTimer::fired()) continue;
      timed_out(outcome);
      break;
    }
    Task& t = *current_;
    if (stop.kind == platform::Stop::Kind::preempted) {
      // The time slice is over: the task goes to the back of the queue (it runs again at once if
      // no other can), between two of its instructions, so it resumes where it stopped.
      if (forwarded_ends_run(outcome)) break;
      if (TimeoutTimer::fired()) {
        timed_out(outcome);
        break;
      }
      t.regs = SPECTRUM_TRY(ctx_.registers());
      t.state = Task::State::ready;
      if (!SPECTRUM_TRY(schedule(outcome))) break;
      continue;
    }
    if (stop.kind == platform::Stop::Kind::fault) {
      if (stop.resumable && t.process) {
        platform::Registers regs = SPECTRUM_TRY(ctx_.registers());
        // A write to a page fork left copy-on-write: the page becomes the task's own and the
        // write runs again. No frame left for the copy: the task is killed, as Linux's OOM killer
        // would (fork succeeded on the promise of memory that is not there any more).
        if (stop.signal == SIGSEGV && stop.fault_code == SEGV_ACCERR) {
          auto owned = t.process->space().own_page(stop.fault_address);
          if (owned && *owned) {
            SPECTRUM_TRY(ctx_.switch_task(t.process->space(), regs));
            continue;
          }
          // Writable in the page tables already: the hypervisor's translation was stale (KVM's
          // shadow of an entry the monitor changed from the host). It forgets the page and the
          // write runs again; a third fault in a row at the same place is a real one.
          if (stop.fault_address != stale_write_at_) stale_write_faults_ = 0;
          if (const auto gpa = t.process->space().translate(stop.fault_address, Access::write);
              owned && gpa && stale_write_faults_ < 3) {
            ++stale_write_faults_;
            stale_write_at_ = stop.fault_address;
            t.process->space().memory().forget_translations(*gpa & ~x86::kPageMask, x86::kPageSize);
            SPECTRUM_TRY(ctx_.switch_task(t.process->space(), regs));
            continue;
          }
          stale_write_faults_ = 0;
          if (!owned) {
            if (t.tgid == 1) {
              outcome.kind = GuestOutcome::Kind::out_of_memory;
              outcome.status = SIGKILL;
              char at[24];
              std::snprintf(at, sizeof at, "%#llx", static_cast<unsigned long long>(stop.fault_address));
              outcome.detail = std::string("killed for want of memory: the copy-on-write page at ") + at +
                               " had no frame left to be copied into (the memory limit)";
              break;
            }
            (void)ends_workload({SyscallResult::Kind::signal, SIGKILL, {}, {}, {}, {}}, t, outcome);
            if (!SPECTRUM_TRY(schedule(outcome))) break;
            continue;
          }
        }
        if (deliver_fault(t, stop, regs) == 0) {
          SPECTRUM_TRY(ctx_.switch_task(t.process->space(), regs));
          continue;
        }
      }
      if (t.tgid == 1) {
        outcome.kind = GuestOutcome::Kind::signaled;
        outcome.status = stop.signal;
        outcome.detail = stop.detail;
        break;
      }
      (void)ends_workload({SyscallResult::Kind::signal, stop.signal, {}, {}, {}, {}}, t, outcome);
      if (!SPECTRUM_TRY(schedule(outcome))) break;
      continue;
    }
    ++outcome.syscalls;
    stale_write_faults_ = 0;
    SyscallResult r = handle(t, stop.request);
    if (timers_armed()) (void)fire_timers();
    if (workload_signal_) {
      outcome.kind = GuestOutcome::Kind::signaled;
      outcome.status = workload_signal_;
      outcome.detail = std::string("the workload was sent signal ") + ::strsignal(workload_signal_) +
                       " by another of its processes";
      break;
    }
    if (t.stopped && r.kind == SyscallResult::Kind::value) {
      // Its call stopped it (raise(SIGSTOP)) or its group: it completes, and the task waits
      // off the CPU for SIGCONT.
      platform::Registers regs = SPECTRUM_TRY(return_registers(r));
      t.regs = regs;
      t.state = Task::State::ready;
      if (!SPECTRUM_TRY(schedule(outcome))) break;
      continue;
    }
    if (restart_at_ || (r.kind == SyscallResult::Kind::value && deliverable(t))) {
      // execve's new program, rt_sigreturn's restored registers, or a signal handler to enter:
      // the task goes on from registers of the kernel's making.
      platform::Registers regs = SPECTRUM_TRY(return_registers(r));
      if (deliverable(t)) {
        if (const int sig = deliver(t, regs)) {
          if (ends_workload({SyscallResult::Kind::signal, sig, {}, {}, {}, {}}, t, outcome)) break;
          if (!SPECTRUM_TRY(schedule(outcome))) break;
          continue;
        }
      }
      SPECTRUM_TRY(ctx_.switch_task(t.process->space(), regs));
      continue;
    }
    switch (r.kind) {
      case SyscallResult::Kind::value:
      case SyscallResult::Kind::restart:
        SPECTRUM_TRY(ctx_.complete_syscall(r));
        continue;
      case SyscallResult::Kind::exit:
      case SyscallResult::Kind::signal:
      case SyscallResult::Kind::exit_thread:
        if (ends_workload(r, t, outcome)) break;
        if (!SPECTRUM_TRY(schedule(outcome))) break;
        continue;
      case SyscallResult::Kind::block:
        t.regs = SPECTRUM_TRY(ctx_.registers());
        t.pending = stop.request;
        t.waiting = std::move(r);
        t.state = Task::State::blocked;
        if (!SPECTRUM_TRY(schedule(outcome))) break;
        continue;
    }
    break;
  }
  outcome.exits = ctx_.exits();
  return outcome;
}

Result<platform::Registers> Kernel::return_registers(const SyscallResult& r) {
  if (restart_at_) return *std::exchange(restart_at_, std::nullopt);
  platform::Registers regs = SPECTRUM_TRY(ctx_.registers());
  regs.rax = static_cast<std::uint64_t>(r.value);
  if (r.fs_base) regs.fs_base = *r.fs_base;
  if (r.gs_base) regs.gs_base = *r.gs_base;
  return regs;
}

SyscallResult Kernel::fork(Process& p, std::uint64_t flags, std::uint64_t child_stack,
                           std::uint64_t parent_tid, std::uint64_t child_tid, std::uint64_t tls) {
  // CLONE_VFORK (vfork is CLONE_VM|CLONE_VFORK): the calling task is suspended until the child
  // execs or ends (vfork_done); with CLONE_VM they share the memory until then, and the child's
  // execve gives it a space of its own (exec.cc).
  const bool vfork = flags & CLONE_VFORK;
  // Linux's rules: a thread shares the handlers, which needs shared memory.
  if (((flags & CLONE_THREAD) && !(flags & CLONE_SIGHAND)) ||
      ((flags & CLONE_SIGHAND) && !(flags & CLONE_VM)))
    return SyscallResult::error(EINVAL);
  if (flags & (CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS |
               CLONE_NEWCGROUP | CLONE_PTRACE | CLONE_PIDFD)) {
    p.refuse_once(SYS_clone, "clone with namespaces, ptrace or pidfd flags is not supported");
    return SyscallResult::error(EINVAL);
  }
  if (std::count_if(tasks_.begin(), tasks_.end(), [](const auto& o) { return !o->reaped; }) >= max_tasks_)
    return SyscallResult::error(EAGAIN);
  if (!ctx_.start_time_slices()) return SyscallResult::error(EAGAIN);  // two tasks share the CPU from here
  auto regs = ctx_.registers();
  if (!regs) return SyscallResult::error(EIO);
  std::unique_ptr<AddressSpace> space;
  if (!(flags & CLONE_VM)) {
    auto copy = p.space().copy(kernel_area_ranges());
    if (!copy) return SyscallResult::error(copy.error());
    space = std::make_unique<AddressSpace>(std::move(*copy));
    if (!ctx_.prepare_space(*space)) return SyscallResult::error(EAGAIN);  // (the host's limits)
  }
  auto child_process = std::make_unique<Process>(p, std::move(space), flags);
  if (flags & CLONE_CLEAR_SIGHAND)  // clone3: handled signals start at their default action
    for (auto& action : child_process->sighand().actions)
      if (action[0] != reinterpret_cast<std::uint64_t>(SIG_IGN)) action = {};
  Task& parent = task_of(p);
  auto t = std::make_unique<Task>();
  t->pid = next_pid_++;
  const bool thread = flags & CLONE_THREAD;
  t->tgid = thread ? parent.tgid : t->pid;
  t->ppid = thread ? parent.ppid : parent.tgid, t->pgid = parent.pgid, t->sid = parent.sid;
  if (flags & CLONE_CHILD_CLEARTID) t->clear_tid = child_tid;
  if ((flags & (CLONE_VM | CLONE_VFORK)) != CLONE_VM) {  // a new thread starts without one, as in Linux
    t->altstack = parent.altstack;
  }
  t->nice = parent.nice;
  child_process->set_kernel(this, t->pid);
  t->regs = *regs;
  t->regs.rax = 0;
  // The child starts with the parent's FPU/SSE/AVX state, as clone copies it.
  auto extended = ctx_.extended_state();
  if (!extended) return SyscallResult::error(EIO);
  t->extended_state = std::move(*extended);
  if (child_stack) t->regs.rsp = child_stack;
  if (flags & CLONE_SETTLS) {
    if (tls >= AddressSpace::kUserEnd) return SyscallResult::error(EPERM);
    t->regs.fs_base = tls;
    child_process->fs_base_ = tls;
  }
  const std::uint32_t pid32 = static_cast<std::uint32_t>(t->pid);
  if (flags & CLONE_CHILD_SETTID)
    (void)child_process->space().write(child_tid, {reinterpret_cast<const std::uint8_t*>(&pid32), 4});
  if (flags & CLONE_PARENT_SETTID)
    (void)p.space().write(parent_tid, {reinterpret_cast<const std::uint8_t*>(&pid32), 4});
  t->process = child_process.get();
  t->owned = std::move(child_process);
  t->state = Task::State::ready;
  tasks_.push_back(std::move(t));
  if (vfork) {
    // No fd and no deadline: the scheduler leaves it alone until vfork_done makes it ready with
    // the child's pid in rax.
    parent.vfork_child = static_cast<int>(pid32);
    SyscallResult suspended;
    suspended.kind = SyscallResult::Kind::block;
    return suspended;
  }
  return SyscallResult::ret(pid32);
}

SyscallResult Kernel::wait(Process& p, std::int64_t pid, int options, std::uint64_t status_ptr,
                           std::uint64_t info_ptr, bool waitid_form) {
  Task& self = task_of(p);
  auto matches = [&](const Task& t) {
    if (t.ppid != self.tgid || t.pid != t.tgid || &t == &self || t.reaped) return false;
    if (pid > 0) return t.pid == pid;
    if (pid == -1) return true;
    return t.pgid == (pid == 0 ? self.pgid : -pid);
  };
  bool any = false;
  for (auto it = tasks_.begin(); it != tasks_.end(); ++it) {
    Task& t = **it;
    if (!matches(t)) continue;
    any = true;
    if (t.state != Task::State::zombie) {
      // WUNTRACED (waitid's WSTOPPED) and WCONTINUED: a change of a live child, reported once.
      const bool stop = (options & WUNTRACED) && t.stop_report,
                 cont = (options & WCONTINUED) && t.continue_report;
      if (!stop && !cont) continue;
      const int status = stop ? (t.stop_report << 8) | 0x7f : 0xffff;
      if (waitid_form) {
        struct {
          std::int32_t signo, err, code, pad;
          std::int32_t pid, uid, status;
        } info{SIGCHLD, 0, stop ? CLD_STOPPED : CLD_CONTINUED, 0, t.pid, 0, stop ? t.stop_report : SIGCONT};
        if (info_ptr) TRY_GUEST_VOID(syscalls::write_struct(p, info_ptr, info));
      } else if (status_ptr) {
        TRY_GUEST_VOID(syscalls::write_struct(p, status_ptr, static_cast<std::int32_t>(status)));
      }
      if (!(waitid_form && (options & WNOWAIT))) {
        if (stop)
          t.stop_report = 0;
        else
          t.continue_report = false;
      }
      return SyscallResult::ret(waitid_form ? 0 : t.pid);
    }
    const int child = t.pid, status = t.wait_status;
    if (waitid_form) {
      struct {
        std::int32_t signo, err, code, pad;
        std::int32_t pid, uid, status;
      } info{SIGCHLD, 0, WIFEXITED(status) ? 1 /* CLD_EXITED */ : 2 /* CLD_KILLED */, 0,
             child,   0, WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status)};
      if (info_ptr) TRY_GUEST_VOID(syscalls::write_struct(p, info_ptr, info));
    } else if (status_ptr) {
      TRY_GUEST_VOID(syscalls::write_struct(p, status_ptr, static_cast<std::int32_t>(status)));
    }
    // Removed at the next switch (resume), never here: the scheduler may be walking tasks_ by
    // index while it retries this call, and an erase would skip the task after it (a parent made
    // ready by its wait4 then slept until the timeout).
    charge_cpu();  // (a retried wait runs before the switch away from a child that just ended)
    waited_cpu_ = group_cpu(child);  // with its own waited-for children's, as wait4 reports
    if (const auto own = children_cpu_.find(child); own != children_cpu_.end()) waited_cpu_ += own->second;
    if (!(waitid_form && (options & WNOWAIT))) {
      t.reaped = true;
      children_cpu_[task_of(p).tgid] += waited_cpu_;  // now its parent's children's
      ended_threads_cpu_.erase(child);
      children_cpu_.erase(child);
    }
    return SyscallResult::ret(waitid_form ? 0 : child);
  }
  if (!any) return SyscallResult::error(ECHILD);
  if (options & WNOHANG) {
    if (waitid_form && info_ptr) {
      const std::array<std::uint8_t, 128> zero{};
      TRY_GUEST_VOID(syscalls::write_struct(p, info_ptr, zero));
    }
    return SyscallResult::ret(0);
  }
  SyscallResult blocked;
  blocked.kind = SyscallResult::Kind::block;  // no fd: tried again when another task has run
  return blocked;
}

SyscallResult Kernel::kill(Process& p, std::int64_t pid, std::uint64_t sig, std::optional<int> thread_group) {
  if (sig > 64) return SyscallResult::error(EINVAL);
  Task& self = task_of(p);
  std::vector<Task*> targets;
  for (auto& t : tasks_) {
    if (t->state == Task::State::zombie || t->reaped) continue;
    if (thread_group) {  // one thread
      if (t->pid == pid && (*thread_group == 0 || t->tgid == *thread_group)) targets.push_back(t.get());
      continue;
    }
    if (t->pid != t->tgid) continue;  // a process: its leader
    const bool hit = pid > 0     ? t->pid == pid
                     : pid == 0  ? t->pgid == self.pgid
                     : pid == -1 ? t->pid != 1
                                 : t->pgid == -pid;
    if (hit) targets.push_back(t.get());
  }
  if (targets.empty()) return SyscallResult::error(ESRCH);
  if (sig == 0) return SyscallResult::ret(0);
  bool self_hit = false;
  for (Task* t : targets) {
    // A caught signal waits in the target's pending set; a default action that ends a task ends
    // it now (the caller's own at the end of this call, the workload's with the run).
    if (send(*t, static_cast<int>(sig), self.pid) != SendResult::terminates) continue;
    self_hit = end_by_signal(self, *t, static_cast<int>(sig)) || self_hit;
  }
  if (self_hit) return {SyscallResult::Kind::signal, static_cast<std::int64_t>(sig), {}, {}, {}, {}};
  return SyscallResult::ret(0);
}

bool Kernel::end_by_signal(Task& self, Task& target, int sig) {
  if (&target == &self) return true;
  if (target.tgid == 1) {
    workload_signal_ = sig;
  } else {
    GuestOutcome ignored;
    (void)ends_workload({SyscallResult::Kind::signal, sig, {}, {}, {}, {}}, target, ignored);
  }
  return false;
}

SyscallResult Kernel::process_ids(Process& p, std::uint64_t number, std::uint64_t a0, std::uint64_t a1) {
  Task& self = task_of(p);
  auto target = [&](std::uint64_t pid) -> Task* {
    if (pid == 0) return &self;
    Task* t = find(static_cast<int>(pid));
    return t && t->state != Task::State::zombie ? t : nullptr;
  };
  switch (number) {
    case SYS_getpid:
      return SyscallResult::ret(self.tgid);
    case SYS_gettid:
      return SyscallResult::ret(self.pid);
    case SYS_getppid:
      return SyscallResult::ret(self.ppid);
    case SYS_getpgrp:
      return SyscallResult::ret(self.pgid);
    case SYS_getpgid:
    case SYS_getsid: {
      Task* t = target(a0);
      if (!t) return SyscallResult::error(ESRCH);
      return SyscallResult::ret(number == SYS_getpgid ? t->pgid : t->sid);
    }
    case SYS_setpgid: {
      Task* t = target(a0);
      if (!t || (t != &self && t->ppid != self.pid)) return SyscallResult::error(ESRCH);
      if (static_cast<std::int64_t>(a1) < 0) return SyscallResult::error(EINVAL);
      if (t->sid != self.sid || t->pid == t->sid) return SyscallResult::error(EPERM);
      const int pgid = a1 == 0 ? t->pid : static_cast<int>(a1);
      if (pgid != t->pid) {
        bool exists = false;
        for (auto& o : tasks_) exists |= o->pgid == pgid && o->sid == self.sid;
        if (!exists) return SyscallResult::error(EPERM);
      }
      t->pgid = pgid;
      return SyscallResult::ret(0);
    }
    case SYS_setsid:
      for (auto& o : tasks_)
        if (o->pgid == self.pid && o.get() != &self) return SyscallResult::error(EPERM);
      if (self.pgid == self.pid) return SyscallResult::error(EPERM);
      self.sid = self.pgid = self.pid;
      return SyscallResult::ret(self.pid);
    default:
      return SyscallResult::error(ENOSYS);
  }
}

}  // namespace spectrum::vm::kernel
