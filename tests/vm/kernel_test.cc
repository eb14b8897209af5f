// The sandbox kernel end to end, on both platforms (`vm`: KVM, skipped without /dev/kvm;
// `sandbox`: ptrace, everywhere): unmodified Debian programs and the features they need. Each
// test's expectation is what the same program prints natively.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "core/stdio.h"
#include "core/tier.h"
#include "test_support.h"

namespace spectrum::vm {
namespace {

using namespace testing;

class KernelRunTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    root_ = new TempDir;
    busybox_ = add_busybox(*root_);
    dynamic_ok_ = add_dynamic_program(*root_, "/bin/true", "/usr/bin/true") &&
                  add_dynamic_program(*root_, "/bin/echo", "/usr/bin/echo") &&
                  compile_program("probe", "", root_->path() / "bin/probe-dynamic");
    bash_ok_ = add_dynamic_program(*root_, "/bin/bash", "/usr/bin/bash") &&
               add_dynamic_program(*root_, "/usr/bin/seq", "/usr/bin/seq") &&
               add_dynamic_program(*root_, "/usr/bin/sort", "/usr/bin/sort") &&
               add_dynamic_program(*root_, "/usr/bin/tail", "/usr/bin/tail");
    static_ok_ = compile_program("probe", "-static", root_->path() / "bin/probe") &&
                 compile_program("ipc", "-static", root_->path() / "bin/ipc") &&
                 compile_program("tasks", "-static", root_->path() / "bin/tasks") &&
                 compile_program("signals", "-static", root_->path() / "bin/signals") &&
                 compile_program("threads", "-static -pthread", root_->path() / "bin/threads") &&
                 compile_program("files", "-static", root_->path() / "bin/files");
    if (busybox_) {
      std::error_code ec;
      for (const char* applet : {"seq", "sort", "tail", "kill", "sleep", "head"})
        fs::create_symlink("busybox", root_->path() / "bin" / applet, ec);
    }
    python_ok_ = add_python(*root_);
    root_->write(
        "tmp/py.py",
        "import threading, subprocess, socket\n"
        "a, b = socket.socketpair()\n"
        "t = threading.Thread(target=lambda: b.send(b'from a thread'))\n"
        "t.start(); t.join()\n"
        "print(a.recv(64).decode())\n"
        "print(subprocess.run(['/usr/bin/seq', '1', '3'], capture_output=True, text=True).stdout.split())\n");
    // execve's cases: a script through its interpreter, and what execve refuses.
    root_->write("bin/hello.sh", "#!/bin/sh -e\necho \"script $0 $1\"\n");
    root_->write("bin/loop.sh", "#!/bin/loop.sh\n");
    root_->write("bin/garbage", "not a program\n");
    root_->write("data/plain.txt", "plain\n");
    root_->write("etc/passwd", "guest passwd\n");
    for (const char* f : {"bin/hello.sh", "bin/loop.sh", "bin/garbage"})
      fs::permissions(root_->path() / f,
                      fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
  }
  static void TearDownTestSuite() {
    delete root_;
    root_ = nullptr;
  }
  void SetUp() override {
    if (GetParam() == "vm") SKIP_WITHOUT_KVM();
  }

  RunResult run(std::vector<std::string> argv, const std::string& stdin_text = "",
                std::optional<std::uint64_t> pids = std::nullopt, std::uint64_t memory = 128 << 20) {
    Workload w;
    w.rootfs = root_->path().string();
    w.program = argv.front();
    w.args.assign(argv.begin() + 1, argv.end());
    w.stdout_stream = Stdio::captured();
    w.stderr_stream = Stdio::captured();
    w.stdin_stream = Stdio::null();
    if (!stdin_text.empty()) {
      root_->write("stdin.txt", stdin_text);
      w.stdin_stream = Stdio::file((root_->path() / "stdin.txt").string());
    }
    w.limits.memory_bytes = memory;
    w.limits.timeout = std::chrono::seconds(60);
    w.limits.max_pids = pids;
    auto r = (GetParam() == "vm" ? make_vm_tier() : make_sandbox_tier())->run(w);
    EXPECT_TRUE(r) << (r ? "" : r.error().message());
    return r ? *r : RunResult{};
  }

  static inline TempDir* root_ = nullptr;
  static inline bool busybox_ = false, dynamic_ok_ = false, static_ok_ = false, bash_ok_ = false,
                     python_ok_ = false;
};

// PT_INTERP: glibc's ld-linux-x86-64.so.2 from the root filesystem maps libc.so.6 through the
// guest's own openat/mmap, with the auxiliary vector it needs (AT_PHDR, AT_BASE, AT_ENTRY,
// AT_RANDOM, ...). A wrong AT_PHDR or AT_BASE crashes the linker before main.
TEST_P(KernelRunTest, DynamicDebianProgramsRun) {
  ASSERT_TRUE(dynamic_ok_);
  RunResult t = run({"/usr/bin/true"});
  EXPECT_EQ(t.outcome, Outcome::exited) << t.detail << t.captured_stderr;
  EXPECT_EQ(t.exit_code, 0) << t.detail << t.captured_stderr;
  EXPECT_EQ(t.captured_stderr, "");
  RunResult e = run({"/usr/bin/echo", "hello", "from", "glibc"});
  EXPECT_EQ(e.exit_code, 0) << e.detail << e.captured_stderr;
  EXPECT_EQ(e.captured_stdout, "hello from glibc\n");
  RunResult p = run({"/bin/probe-dynamic", "hello", "x"});
  EXPECT_EQ(p.exit_code, 0) << p.detail << p.captured_stderr;
  EXPECT_EQ(p.captured_stdout, "hello from the guest: argc=3 env HOME=/\n");
}

// What the program prints natively: the oracle.
std::string native_output(const std::string& command) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

// Debian's dynamic bash running a pipeline of dynamic coreutils: every stage a dynamic program
// loaded by ld.so in its own forked-and-exec'd process.
TEST_P(KernelRunTest, DynamicBashRunsAPipeline) {
  if (!bash_ok_) GTEST_SKIP() << "no /bin/bash or coreutils on this host";
  RunResult r = run({"/usr/bin/bash", "-c",
                     "/usr/bin/seq 1 1000 | /usr/bin/sort -n | /usr/bin/tail -1; echo $((6 * 7)); "
                     "for i in 1 2; do echo $i; done | /usr/bin/tail -1"});
  EXPECT_EQ(r.exit_code, 0) << r.detail << r.captured_stderr;
  EXPECT_EQ(r.captured_stdout, "1000\n42\n2\n");
}

// The interpreter: Debian's python3 with threading, subprocess (fork, exec of a dynamic
// coreutils program, pipes) and socketpair.
TEST_P(KernelRunTest, PythonWithThreadsSubprocessAndSocketpair) {
  if (!python_ok_ || !bash_ok_) GTEST_SKIP() << "no python3.11 or coreutils on this host";
  RunResult r = run({"/usr/bin/python3", "/tmp/py.py"});
  EXPECT_EQ(r.exit_code, 0) << r.detail << r.captured_stderr;
  EXPECT_EQ(r.captured_stdout, "from a thread\n['1', '2', '3']\n");
}

// Pipes, dup2/F_DUPFD_CLOEXEC, O_NONBLOCK on a pipe (the monitor's host fd is non-blocking
// whatever the guest asked: the guest's view decides EAGAIN or a block), poll, EOF once every
// write end is closed, EPIPE. The output is the native run's.
TEST_P(KernelRunTest, PipesDupFcntlAndPollBehaveAsNatively) {
  ASSERT_TRUE(static_ok_);
  RunResult r = run({"/bin/ipc", "pipe"});
  EXPECT_EQ(r.exit_code, 0) << r.detail << r.captured_stderr;
  EXPECT_EQ(r.captured_stdout, native_output((root_->path() / "bin/ipc").string() + " pipe"));
}

// eventfd and an AF_UNIX socket pair across fork (send, a blocking recv in the child, MSG_DONTWAIT,
// shutdown's end of stream): the monitor's host objects, the guest's blocking its own.
TEST_P(KernelRunTest, EventfdAndSocketPairsBehaveAsNatively) {
  ASSERT_TRUE(static_ok_);
  RunResult r = run({"/bin/ipc", "sockets"});
  EXPECT_EQ(r.exit_code, 0) << r.detail << r.captured_stderr;
  EXPECT_EQ(r.captured_stdout, native_output((root_->path() / "bin/ipc").string() + " sockets"));
}

// Attack: guest arrays that run into an unmapped page or the kernel area (poll's pollfd array,
// pipe's two ints), and a count far past the fd table: EFAULT/EINVAL, no fd leaked by the pipe
// that could not be reported, the monitor alive.
TEST_P(KernelRunTest, PollAndPipeArraysAtTheEdgeOfAMappingAreEfault) {
  ASSERT_TRUE(static_ok_);
  RunResult r = run({"/bin/ipc", "poll-attack"});
  EXPECT_EQ(r.exit_code, 0) << r.detail << r.captured_stderr;
  EXPECT_EQ(r.captured_stdout, native_output((root_->path() / "bin/ipc").string() + " poll-attack"));
  EXPECT_NE(r.captured_stdout.find("pipe into the kernel area -1 EFAULT"), std::string::npos);
  EXPECT_NE(r.captured_stdout.find("next pipe 3 4"), std::string::npos);
}

// Attack: preadv/pwritev(2) iovec arrays across an unmapped page or pointing into the kernel area,
// too many vectors, a negative offset, unknown flags (and getrandom's); setrlimit/setitimer/getitimer
// structures in the kernel area or out of range: what Linux answers, the monitor alive.
TEST_P(KernelRunTest, VectorIoAndGetrandomRefuseBadPointersAndFlagsAsNatively) {
  ASSERT_TRUE(static_ok_);
  RunResult r = run({"/bin/files", "vectors"});
  EXPECT_EQ(r.exit_code, 0) << r.detail << r.captured_stderr;
  EXPECT_EQ(r.captured_stdout, native_output((root_->path() / "bin/files").string() + " vectors"));
  EXPECT_NE(r.captured_stdout.find("preadv across the edge -1 EFAULT"), std::string::npos);
  EXPECT_NE(r.captured_stdout.find("getrandom with an unknown flag -1 EINVAL"), std::string::npos);
}

// Attack: the workload rewriting its own running program (by path, through /proc/self/exe, by
// truncate) gets ETXTBSY as natively, and O_TRUNC does not empty it first.
TEST_P(KernelRunTest, TheRunningProgramCannotBeOpenedForWriting) {
  ASSERT_TRUE(static_ok_);
  RunResult r = run({"/bin/files", "exe-overwrite"});
  EXPECT_EQ(r.exit_code, 0) << r.detail << r.captured_stderr;
  EXPECT_EQ(r.captured_stdout, native_output((root_->path() / "bin/files").string() + " exe-overwrite"));
  EXPECT_NE(r.captured_stdout.find("open itself O_WRONLY|O_TRUNC -1 ETXTBSY"), std::string::npos);
  EXPECT_NE(r.captured_stdout.find("size unchanged 1"), std::string::npos);
}

// Attack: a guest symlink to /etc/passwd, to ../../../../../../etc/passwd and to the root's parent;
// reading, chmod and link through them reach the root filesystem's /etc/passwd, never the host's
// (the target is stored text; only the kernel's walk inside the root follows it).
TEST_P(KernelRunTest, GuestSymlinksCannotLeaveTheRoot) {
  ASSERT_TRUE(static_ok_);
  struct stat host_before {};
  ASSERT_EQ(::stat("/etc/passwd", &host_before), 0);
  for (const char* f : {"tmp/abs", "tmp/rel", "tmp/up", "tmp/hard", "tmp/abs2"})
    fs::remove(root_->path() / f);
  fs::permissions(root_->path() / "etc/passwd", fs::perms(0644));
  RunResult r = run({"/bin/files", "symlink-escape"});
  struct stat host_after {};
  ASSERT_EQ(::stat("/etc/passwd", &host_after), 0);
  if (host_after.st_mode != host_before.st_mode) ::chmod("/etc/passwd", host_before.st_mode & 07777);
  EXPECT_EQ(host_after.st_mode, host_before.st_mode) << "the guest's chmod reached the host's /etc/passwd";
  EXPECT_EQ(r.exit_code, 0) << r.detail << r.captured_stderr;
  EXPECT_EQ(r.captured_stdout,
            "symlink to /etc/passwd 0\n"
            "symlink to ../../../../../../etc/passwd 0\n"
            "symlink to the root's parent 0\n"
            "read through /tmp/abs: guest passwd\n"
            "read through /tmp/rel: guest passwd\n"
            "read through /tmp/up/etc/passwd: guest passwd\n"
            "readlink: /etc/passwd\n"
            "chmod through the symlink 0\n"
            "guest passwd mode 604\n"
            "link following the symlink 0\n"
            "link of the symlink itself 0\n"
            "read through the linked symlink: guest passwd\n"
            "symlink target into the kernel area -1 EFAULT\n");
}

// The goal: busybox sh pipelines, each stage its own guest process with its own address
// space, connected by the monitor's pipes, scheduled when a stage blocks.
TEST_P(KernelRunTest, BusyboxShellPipelinesAndScripts) {
  if (!busybox_) GTEST_SKIP() << "no /bin/busybox (busybox-static)";
  RunResult sorted = run({"/bin/sh", "-c", "seq 1 1000 | sort -n | tail -1"});
  EXPECT_EQ(sorted.exit_code, 0) << sorted.detail << sorted.captured_stderr;
  EXPECT_EQ(sorted.captured_stdout, "1000\n");
  RunResult truth = run({"/bin/sh", "-c", "true | true"});
  EXPECT_EQ(truth.outcome, Outcome::exited) << truth.detail;
  EXPECT_EQ(truth.exit_code, 0) << truth.captured_stderr;
  // Command substitution, a child's exit status, a child killed by a signal (128 + 9), a `#!`
  // script with its interpreter's argument.
  RunResult mixed = run({"/bin/sh", "-c",
                         "echo \"$(echo inner)\"; sh -c 'exit 3'; echo $?; sh -c 'kill -9 $$'; echo $?; "
                         "/bin/hello.sh arg; exit 4"});
  EXPECT_EQ(mixed.exit_code, 4) << mixed.detail << mixed.captured_stderr;
  EXPECT_EQ(mixed.captured_stdout, "inner\n3\n137\nscript /bin/hello.sh arg\n");
}

// The busybox scripts: background jobs with `wait` (SIGCHLD and sigsuspend underneath),
// `trap` (a handler), here-documents, the synthetic /dev (a background job's stdin is /dev/null).
TEST_P(KernelRunTest, BusyboxJobsTrapsHereDocumentsAndDev) {
  if (!busybox_) GTEST_SKIP() << "no /bin/busybox (busybox-static)";
  RunResult r = run({"/bin/sh", "-c",
                     "(echo background) & wait; echo waited; sleep 0.05 & wait $!; echo slept $?; "
                     "echo x > /dev/null; head -c 5 /dev/zero | wc -c; head -c 16 /dev/urandom | wc -c; "
                     "echo y 2>/dev/null > /dev/full || echo full; trap 'echo trapped' USR1; kill -USR1 $$; "
                     "cat <<EOF\nhere $((1 + 2))\nEOF\n"});
  EXPECT_EQ(r.exit_code, 0) << r.detail << r.captured_stderr;
  EXPECT_EQ(r.captured_stdout, "background\nwaited\nslept 0\n5\n16\nfull\ntrapped\nhere 3\n");
}

// Process ids, groups and sessions, wait4/waitid, exit codes and signals of children, kill: the
// same relations as natively.
TEST_P(KernelRunTest, ProcessIdsWaitAndKillBehaveAsNatively) {
  ASSERT_TRUE(static_ok_);
  RunResult r = run({"/bin/tasks", "ids"});
  EXPECT_EQ(r.exit_code, 0) << r.detail << r.captured_stderr;
  EXPECT_EQ(r.captured_stdout, native_output((root_->path() / "bin/tasks").string() + " ids"));
}

// Attack: execve with paths, argv and strings in the kernel area, 64 GiB of arguments, a `#!`
// loop, a directory, a file without x and one that is no program: each the errno Linux gives, the
// caller still running.
TEST_P(KernelRunTest, ExecveRefusesWhatLinuxRefuses) {
  ASSERT_TRUE(static_ok_);
  RunResult r = run({"/bin/tasks", "exec-attack"});
  EXPECT_EQ(r.exit_code, 0) << r.detail << r.captured_stderr;
  EXPECT_EQ(r.captured_stdout,
            "execve of a directory EACCES\n"
            "execve of a missing file ENOENT\n"
            "execve of a non-executable file EACCES\n"
            "execve of garbage ENOEXEC\n"
            "execve of a #! loop ELOOP\n"
            "execve with argv in the kernel area EFAULT\n"
            "execve with a path in the kernel area EFAULT\n"
            "execve with a string in the kernel area EFAULT\n"
            "execve with too many arguments E2BIG\n"
            "still here\n");
}

// Attack: a fork bomb. Under --pids 8 the 8th process is refused (EAGAIN, as the pids cgroup
// does); without it, guest memory ends it (each child is a copy). Either way every child is
// reaped and the monitor lives on.
TEST_P(KernelRunTest, AForkBombEndsAtThePidsLimitOrAtGuestMemory) {
  ASSERT_TRUE(static_ok_);
  RunResult limited = run({"/bin/tasks", "fork-bomb"}, "", 8);
  EXPECT_EQ(limited.exit_code, 0) << limited.detail << limited.captured_stderr;
  EXPECT_EQ(limited.captured_stdout, "forks 7 then EAGAIN\nreaped 7\n");
  // Without --pids: the sandbox kernel's own bound (Kernel::kDefaultMaxTasks), as fork shares the
  // parent's pages copy-on-write and 1,023 copies fit in 128 MiB...
  RunResult unlimited = run({"/bin/tasks", "fork-bomb"});
  EXPECT_EQ(unlimited.exit_code, 0) << unlimited.detail << unlimited.captured_stderr;
  EXPECT_EQ(unlimited.captured_stdout, "forks 1023 then EAGAIN\nreaped 1023\n");
  // ... or guest memory, where the copies' page tables and stacks do not fit: fork fails with
  // ENOMEM, or a copy-on-write page finds no frame and its process is killed (out of memory).
  RunResult small = run({"/bin/tasks", "fork-bomb"}, "", std::nullopt, 8 << 20);
  if (small.outcome == Outcome::out_of_memory) {
    EXPECT_EQ(small.signal, SIGKILL);
    EXPECT_NE(small.detail.find("copy-on-write"), std::string::npos) << small.detail;
  } else {
    EXPECT_EQ(small.exit_code, 0) << small.detail << small.captured_stderr;
    EXPECT_NE(small.captured_stdout.find("then ENOMEM"), std::string::npos) << small.captured_stdout;
  }
}

// Signal delivery through real x86-64 frames and rt_sigreturn: a handler with siginfo (registers
// intact after it), a blocked signal delivered when unblocked, SIGCHLD with sigsuspend, a caught
// SIGPIPE, a blocked read interrupted (EINTR) or restarted (SA_RESTART), a child's default action.
TEST_P(KernelRunTest, SignalsAreDeliveredAsNatively) {
  ASSERT_TRUE(static_ok_);
  RunResult r = run({"/bin/signals"});
  EXPECT_EQ(r.exit_code, 0) << r.detail << r.captured_stderr;
  EXPECT_EQ(r.captured_stderr, "");
  EXPECT_EQ(r.captured_stdout, native_output((root_->path() / "bin/signals").string()));
}

// Threads as glibc makes them: four pthreads sharing one address space, a mutex (futex wait and
// wake across threads), a condition variable, TLS per thread (CLONE_SETTLS), getpid the same and
// gettid not, pthread_join (CLONE_CHILD_CLEARTID's futex wake).
TEST_P(KernelRunTest, PthreadsShareMemoryAndWakeEachOther) {
  ASSERT_TRUE(static_ok_);
  RunResult r = run({"/bin/threads"});
  EXPECT_EQ(r.exit_code, 0) << r.detail << r.captured_stderr;
  EXPECT_EQ(r.captured_stdout,
            "counter 4000, results 104, main's TLS 99\npthread_kill reached the thread: 1\n");
}

INSTANTIATE_TEST_SUITE_P(Platforms, KernelRunTest, ::testing::Values("vm", "sandbox"),
                         [](const ::testing::TestParamInfo<std::string>& platform) {
                           return platform.param;
                         });

}  // namespace
}  // namespace spectrum::vm
