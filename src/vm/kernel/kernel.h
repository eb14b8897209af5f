// The sandbox kernel's tasks and their scheduler. Each guest process is a Task with its own
// Process (address space, fds, fs context, signal dispositions); one platform execution context
// runs them one at a time: the running task keeps the CPU until it blocks (a read of an empty
// pipe, wait4 for a child that is still running), exits, dies or its time slice ends (a platform
// that preempts reports Stop::Kind::preempted: every 10 ms of guest time, on KVM once there is a
// second task); then the scheduler picks the next task, round robin, whose wait is over and
// switches the platform to its address space, registers and extended (FPU/SSE/AVX) state
// (platform::ExecutionContext::switch_task, set_extended_state).
//
// The first task is the workload (pid 1, as in a container's pid namespace): when it ends, the run
// ends, with its status, and every other task with it.
#pragma once

#include <poll.h>

#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/fd.h"
#include "vm/arch/signal_frame.h"
#include "vm/kernel/process.h"
#include "vm/kernel/shared_files.h"
#include "vm/kernel/sysv_msg.h"
#include "vm/kernel/sysv_sem.h"
#include "vm/kernel/sysv_shm.h"
#include "vm/platform/platform.h"
#include "vm/vdso/vdso.h"

namespace spectrum::vm {
struct GuestOutcome;
}

namespace spectrum::vm::kernel {

// CPU time in the two parts Linux reports (getrusage, times, wait4): the guest's own instructions
// (user), and the monitor serving its calls and faults (system).
struct CpuTime {
  std::uint64_t user_ns = 0, system_ns = 0;
  std::uint64_t total() const { return user_ns + system_ns; }
  CpuTime& operator+=(const CpuTime& o) {
    user_ns += o.user_ns;
    system_ns += o.system_ns;
    return *this;
  }
};

struct Task {
  enum class State { running, ready, blocked, zombie };
  int pid = 0, ppid = 0, pgid = 0, sid = 0;
  int tgid = 0;                 // the thread group (the process); pid is the thread's id
  std::uint64_t clear_tid = 0;  // CLONE_CHILD_CLEARTID / set_tid_address: zeroed and woken at exit
  // blocked in FUTEX_WAIT: the memory context and address it waits on
  std::optional<std::pair<const void*, std::uint64_t>> futex;
  Process* process = nullptr;      // the workload's is the caller's; others are owned
  std::unique_ptr<Process> owned;  // reset when the task ends: its memory and fds go at once
  State state = State::ready;
  platform::Registers regs;  // ready / blocked: where it resumes
  // Its FPU/SSE/AVX state while another task has the platform (empty: whatever the platform has)
  std::vector<std::uint8_t> extended_state;
  SyscallRequest pending;     // blocked: the call to make again
  SyscallResult waiting;      // blocked: what it waits for
  int wait_status = 0;        // zombie: the status wait4 reports (exit << 8, or the signal)
  int vfork_child = 0;        // blocked in vfork until this child execs or ends (its pid)
  bool reaped = false;        // waited for: removed once the platform has left it
  std::uint64_t sigwait = 0;  // blocked in rt_sigtimedwait for these signals: one pending wakes it
  // Job control: stopped by a stop signal until SIGCONT (every thread of the group; a blocked
  // call waits on once it is continued). On the group's leader, what wait4's WUNTRACED or
  // WCONTINUED has yet to report: the stop signal, or that it was continued.
  bool stopped = false;
  int stop_report = 0;
  bool continue_report = false;
  CpuTime cpu;   // CPU time it used, up to the last switch away from it
  int nice = 0;  // setpriority's value, inherited by fork (one vCPU, round robin: not applied)
  // sigaltstack: the thread's alternate signal stack (size 0: none), its flags as set
  // (SS_AUTODISARM), SS_DISABLE while there is none.
  arch::SignalStack altstack = arch::kNoSignalStack;
};

class Kernel {
 public:
  // At most `max_tasks` tasks at once, zombies included (--pids; 0 = the default bound).
  static constexpr int kDefaultMaxTasks = 1024;
  Kernel(platform::ExecutionContext& ctx, Process& init, int max_tasks);
  ~Kernel();

  // Runs every task until the workload (pid 1) ends or the --timeout fires. The caller fills
  // guest_touched_bytes.
  Result<GuestOutcome> run();

  // For the handlers (syscalls/tasks.cc). `p` is the calling process, the running task's.
  SyscallResult fork(Process& p, std::uint64_t flags, std::uint64_t child_stack, std::uint64_t parent_tid,
                     std::uint64_t child_tid, std::uint64_t tls);
  SyscallResult wait(Process& p, std::int64_t pid, int options, std::uint64_t status_ptr,
                     std::uint64_t info_ptr, bool waitid_form);
  SyscallResult exec(Process& p, std::uint64_t path_ptr, std::uint64_t argv_ptr, std::uint64_t envp_ptr);
  // execve's work once the guest's strings are read: p's program replaced by `path` (resolved as
  // execve resolves it); the new registers in restart_at_.
  SyscallResult exec_program(Process& p, std::string path, std::vector<std::string> argv,
                             std::vector<std::string> envp);
  // kill(pid, sig); with `thread_group` (tkill: 0, tgkill: the tgid) `pid` names one thread.
  SyscallResult kill(Process& p, std::int64_t pid, std::uint64_t sig, std::optional<int> thread_group = {});
  SyscallResult process_ids(Process& p, std::uint64_t number, std::uint64_t a0, std::uint64_t a1);
  SyscallResult sigreturn(Process& p);
  // The page cache of MAP_SHARED file mappings (kernel/shared_files.h), made on the first one;
  // shared_files_in_use() is nullptr until then (the I/O calls' check).
  SharedFiles& shared_files(Process& p);
  SharedFiles* shared_files_in_use() { return shared_files_ ? &*shared_files_ : nullptr; }
  // System V shared memory (kernel/sysv_shm.h), made on first use.
  SysvShm& sysv_shm(Process& p);
  SysvShm* sysv_shm_in_use() { return sysv_shm_ ? &*sysv_shm_ : nullptr; }
  // System V semaphores and message queues (kernel/sysv_sem.h, kernel/sysv_msg.h).
  SysvSem& sysv_sem() { return sysv_sem_; }
  SysvMsg& sysv_msg() { return sysv_msg_; }
  // sigaltstack(2) for the calling thread: `ss` and `old_ss` are guest pointers (0: none).
  SyscallResult sigaltstack(Process& p, std::uint64_t ss, std::uint64_t old_ss);
  // Threads (kernel/threads.cc).
  // `private_op`: FUTEX_PRIVATE_FLAG (else a futex on shared memory is keyed by its frame).
  SyscallResult futex_wait(Process& p, std::uint64_t addr, std::uint32_t value,
                           std::optional<std::chrono::steady_clock::time_point> deadline, bool private_op);
  SyscallResult futex_wake(Process& p, std::uint64_t addr, int count, bool private_op);
  SyscallResult set_tid_address(Process& p, std::uint64_t addr);
  // exit (one thread) and exit_group (every thread of the process).
  SyscallResult exit(Process& p, int status, bool group);
  // rt_sigsuspend: the mask replaced until a signal is delivered.
  SyscallResult sigsuspend(Process& p, std::uint64_t mask);
  // rt_sigqueueinfo / rt_tgsigqueueinfo: `sig` with its si_code and si_value to process `tgid`
  // (or, with `thread`, that thread of it).
  SyscallResult queue_signal(Process& p, int tgid, std::optional<int> thread, int sig, int code,
                             std::uint64_t value);
  // rt_sigtimedwait: takes a pending signal of `set` (its siginfo to `info_ptr` when not 0),
  // waiting until `deadline` (none: forever) for one; EAGAIN when none came.
  SyscallResult sigtimedwait(Process& p, std::uint64_t set, std::uint64_t info_ptr,
                             std::optional<std::chrono::steady_clock::time_point> deadline);
  // A signal sent to `p` by itself (SIGPIPE of a write): Kind::signal when it ends the task.
  SyscallResult raise(Process& p, int sig);
  // An interval timer of p's process (kernel/timers.cc), `which` ITIMER_REAL, ITIMER_VIRTUAL or
  // ITIMER_PROF: the old value's remaining time and interval, then the new one set (a zero value
  // disarms). ITIMER_REAL counts the host's monotonic time and sends SIGALRM; the other two count
  // the process's CPU time (its threads' together; all of it is user time here, so both count the
  // same clock) and send SIGVTALRM and SIGPROF.
  struct TimerValue {
    std::chrono::nanoseconds value{0}, interval{0};
  };
  TimerValue set_timer(Process& p, int which, std::optional<TimerValue> next);
  // Whether a live task runs the file (st_dev, st_ino) (ETXTBSY for opening it to write).
  bool running_executable(std::uint64_t dev, std::uint64_t ino);
  // `spectrum exec` requests (vm/exec_protocol.h) come on this listening socket; each one served
  // starts a process in the sandbox (kernel/exec_requests.cc).
  void set_exec_listener(UniqueFd listener);
  // The guest's vDSO (vdso/vdso.h): each execve maps it, each entry into the guest refreshes its
  // clock, and the time calls answer from that clock. None: no vDSO, the host's clocks.
  void set_vdso(Vdso* vdso) { vdso_ = vdso; }
  const GuestClock* clock() const { return vdso_ ? &vdso_->clock() : nullptr; }
  // Every task, zombies included: what /proc lists (kernel/proc_source.cc).
  const std::vector<std::unique_ptr<Task>>& tasks() const { return tasks_; }
  // CPU time (ns) for getrusage, times and the CPU-time clocks: the calling task's; its process's
  // (its threads', ended ones included); what its waited-for children used (their children's too).
  CpuTime thread_cpu(const Process& p);
  CpuTime process_cpu(const Process& p);
  CpuTime children_cpu(const Process& p);
  std::uint64_t thread_cpu_ns(const Process& p) { return thread_cpu(p).total(); }
  std::uint64_t process_cpu_ns(const Process& p) { return process_cpu(p).total(); }
  CpuTime waited_cpu() const { return waited_cpu_; }  // the child the last wait reported
  // getpriority (set: nullopt) and setpriority of PRIO_PROCESS, PRIO_PGRP or PRIO_USER `who`
  // (0: the caller's), as the raw calls answer: getpriority's 20 - nice of the highest priority.
  SyscallResult priority(Process& p, int which, int who, std::optional<int> set);
  // The whole sandbox's CPU time and scheduling counts, for /proc/stat.
  vfs::ProcCpu cpu_stats();

 private:
  Task* find(int pid);
  Task& task_of(const Process& p);
  // The task ends: a zombie for its parent's wait, its children given to pid 1.
  void end_task(Task& t, int wait_status);
  // A call made again until it is not a restart (bounded).
  SyscallResult handle(Task& t, const SyscallRequest& request);
  // Picks the next task and switches the platform to it. False when the run is over (`outcome`).
  Result<bool> schedule(GuestOutcome& outcome);
  Result<void> resume(Task& t);
  bool ends_workload(const SyscallResult& r, Task& t, GuestOutcome& outcome);
  // The registers the running task returns to user mode with after call result `r`: execve's or
  // rt_sigreturn's (restart_at_, taken), else the platform's with the result in rax.
  Result<platform::Registers> return_registers(const SyscallResult& r);
  bool forwarded_ends_run(GuestOutcome& outcome);
  // A thread ends without a zombie (CLONE_CHILD_CLEARTID honoured); the other threads of its group
  // go on. For exit_group and a fatal signal, end_group ends them all first.
  void end_thread(Task& t);
  void end_group(Task& t);
  bool other_threads(const Task& t) const;
  // `child` execs or ends: the parent suspended in its vfork goes on, with the child's pid.
  void vfork_done(const Task& child);
  // kernel/signals.cc
  enum class SendResult { ignored, pending, terminates, queue_full };
  SendResult send(Task& target, int sig, int from_pid, int code = 0 /* SI_USER */, int status = 0,
                  std::uint64_t value = 0);
  // The next instance of pending signal `sig` (a real-time one from its queue), taken off.
  Process::SignalSource take_signal(Process& p, int sig);
  // Job control: every task of `target`'s thread group stops (by `sig`) or goes on, and its
  // parent hears of it (SIGCHLD, unless SA_NOCLDSTOP; wait4's WUNTRACED / WCONTINUED).
  void stop_group(Task& target, int sig);
  bool orphaned_group(int pgid) const;  // POSIX's orphaned process group
  // A stop signal's default action on `target`: stop_group, unless Linux's rules say otherwise.
  void stop_by_default_action(Task& target, int sig);
  void continue_group(Task& target);
  // SIGCHLD with `code` to the parent of `leader`, unless it asked for none (SA_NOCLDSTOP).
  void tell_parent(const Task& leader, int code, int status);
  // A signal whose default action ends `target`, sent by `self`: another task ends now (the
  // workload with the run); true when it is the sender itself, whose call then ends it.
  bool end_by_signal(Task& self, Task& target, int sig);
  // Builds the frame of the first deliverable signal into `regs` (the user registers the task would
  // return with). Returns the signal that ends the task instead (a default action, a frame that
  // does not fit), or 0.
  int deliver(Task& t, platform::Registers& regs);
  // A task's FPU/SSE/AVX state wherever it is: the platform's while the platform holds the task,
  // else the copy the task took when it left (empty: none saved yet).
  Result<std::vector<std::uint8_t>> extended_state_of(Task& t);
  Result<void> set_extended_state_of(Task& t, std::vector<std::uint8_t> state);
  // deliver()'s FP part: the frame's bytes below `top`, above `floor` (the handler then starts
  // with the init state); 0 where the platform gives no state. Errno-free: a failure is no room (SIGSEGV).
  std::optional<std::uint64_t> push_fp_state(Task& t, std::uint64_t top, std::uint64_t floor = 0);
  // A fault the platform can resume from: a handler of the task's gets it (si_code, si_addr) with
  // `regs` (the faulting instruction's) in the frame, so that returning runs it again. Returns
  // the signal that ends the task instead (no handler, blocked, no room for the frame), or 0.
  int deliver_fault(Task& t, const platform::Stop& stop, platform::Registers& regs);
  bool deliverable(const Task& t) const {
    return t.process && (t.process->pending_signals_ & ~t.process->sigmask_);
  }
  // A blocked task a signal interrupts: its call ends with EINTR, or is made again after the
  // handler (SA_RESTART on a restartable call).
  void interrupt(Task& t);

  // kernel/timers.cc: sends each process whose interval timer expired its signal (re-arming an
  // interval timer); returns the nearest ITIMER_REAL deadline still armed, for the scheduler's
  // sleep (the CPU-time timers cannot expire while every task sleeps).
  std::optional<std::chrono::steady_clock::time_point> fire_timers();
  void fire_cpu_timers();
  bool timers_armed() const { return !real_timers_.empty() || !cpu_timers_.empty(); }
  struct RealTimer {
    std::chrono::steady_clock::time_point deadline;
    std::chrono::nanoseconds interval{0};
  };
  // By thread group id: one per process, not inherited by fork, kept across execve.
  std::map<int, RealTimer> real_timers_;
  struct CpuTimer {
    std::uint64_t deadline_ns = 0, interval_ns = 0;  // of the process's CPU time
  };
  std::map<std::pair<int, int>, CpuTimer> cpu_timers_;  // by (thread group id, ITIMER_VIRTUAL/PROF)

  platform::ExecutionContext& ctx_;
  std::vector<std::unique_ptr<Task>> tasks_;
  Task* current_ = nullptr;  // the task whose call is being handled
  // CPU time: the platform's clock when the running task was switched to; by tgid, what its ended
  // threads used, and what its waited-for children used.
  std::uint64_t on_cpu_since_ = 0, switches_ = 0;
  // Write faults in a row at one address on a page already writable (the run loop's retry).
  int stale_write_faults_ = 0;
  std::uint64_t stale_write_at_ = 0;
  CpuTime waited_cpu_, total_cpu_;
  std::map<int, CpuTime> ended_threads_cpu_, children_cpu_;
  // The running task's CPU time brought up to now: the platform's clock since the switch to it,
  // of which the monitor's serving (served_ns_) is system time.
  void charge_cpu();
  CpuTime group_cpu(int tgid) const;
  std::uint64_t group_cpu_ns(int tgid) const { return group_cpu(tgid).total(); }
  // KVM: the monitor thread's CPU time serving the running task, from a stop of the guest to its
  // next entry (its CPU clock: a wall clock also counted the host's preemption of the monitor,
  // and a loaded host turned a compute loop into system time). 0 in serving_since_: the guest runs.
  std::uint64_t serving_since_ = 0, served_ns_ = 0;
  void note_served();
  // The monitor thread's CPU clock: on ptrace, the serving's measure (charge_cpu).
  static std::uint64_t monitor_cpu_ns();
  std::uint64_t monitor_cpu_since_ = 0;
  Task* on_cpu_ = nullptr;  // the task the platform holds (its address space stays until a switch)
  int next_pid_ = 2;
  int max_tasks_;
  // execve replaced the running task's program: the platform starts it at these registers.
  std::optional<platform::Registers> restart_at_;
  int workload_signal_ = 0;  // another task killed the workload (pid 1): the run ends with it

  // kernel/exec_requests.cc: the exec listener, its clients (pid 0 until the request is served).
  struct ExecClient {
    UniqueFd connection;
    int pid = 0;
  };
  UniqueFd exec_listener_;
  Vdso* vdso_ = nullptr;
  std::vector<ExecClient> exec_clients_;
  void exec_fds(std::vector<pollfd>& fds) const;  // what the scheduler's sleep also waits for
  void serve_exec_requests();
  // A process started from a request: its pid, or -1 with `error` and the exit status to report.
  int spawn(const nlohmann::json& request, std::vector<UniqueFd> stdio, std::string& error, int& status);
  void signal_from_outside(Task& t, int sig);  // a signal no task sent (si_pid 0)
  bool answer_exec_client(const Task& t);      // t ended: its client hears the status (if any)
  // Last: destroyed first, it writes its pages back while the tasks' mappings still hold them.
  std::optional<SharedFiles> shared_files_;
  std::optional<SysvShm> sysv_shm_;
  SysvSem sysv_sem_;
  SysvMsg sysv_msg_;
  // A task's System V wait (semop, msgsnd, msgrcv) ended otherwise: a signal, a deadline, its end.
  void ipc_wait_ended(const Task& t) {
    sysv_sem_.stop_waiting(t.pid);
    sysv_msg_.stop_waiting(t.pid);
  }
};

}  // namespace spectrum::vm::kernel
