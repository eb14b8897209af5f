// The one supervision loop: bounded capture, the deadline, forwarded signals, owned children.
#include "core/supervisor.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>

using namespace spectrum;
using namespace std::chrono_literals;

namespace {

struct Started {
  Child child;
  UniqueFd out;  // our end of the child's stdout
};

Started start_shell(const std::string& script) {
  int fds[2];
  EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  SpawnRequest request;
  request.executable = "/bin/sh";
  request.argv = {"sh", "-c", script};
  request.stdout_fd = write_end.get();
  Started started;
  started.out = std::move(read_end);
  if (auto child = spawn(request))
    started.child = std::move(*child);
  else
    ADD_FAILURE() << child.error().message();
  return started;
}

bool alive(pid_t pid) { return ::kill(pid, 0) == 0 || errno != ESRCH; }

}  // namespace

// A workload that writes far more than the limit is neither blocked nor buffered whole: the capture
// keeps the limit's worth and says it was cut.
TEST(Supervisor, CaptureIsBoundedAndSaysSo) {
  Started s = start_shell("head -c 20000000 /dev/zero; echo done >&2; exit 3");
  std::string out;
  bool truncated = false;
  Supervision supervision;
  supervision.child = &s.child;
  supervision.pipes = {{&s.out, &out, &truncated, 1u << 20}};
  auto exit = supervise(supervision);
  ASSERT_TRUE(exit) << exit.error().message();
  EXPECT_FALSE(exit->status.signaled);
  EXPECT_EQ(exit->status.code, 3);
  EXPECT_EQ(out.size(), 1u << 20);
  EXPECT_TRUE(truncated);
}

TEST(Supervisor, OutputUnderTheLimitIsWholeAndNotMarked) {
  Started s = start_shell("echo hello");
  std::string out;
  bool truncated = false;
  Supervision supervision;
  supervision.child = &s.child;
  supervision.pipes = {{&s.out, &out, &truncated}};
  auto exit = supervise(supervision);
  ASSERT_TRUE(exit);
  EXPECT_EQ(out, "hello\n");
  EXPECT_FALSE(truncated);
}

TEST(Supervisor, DeadlineEndsTheRunAndIsRecordedAsTimeout) {
  const auto start = SteadyClock::now();
  Started s = start_shell("exec sleep 30");
  std::string out;
  Supervision supervision;
  supervision.child = &s.child;
  supervision.pipes = {{&s.out, &out, nullptr}};
  supervision.deadline = start + 200ms;
  auto exit = supervise(supervision);
  ASSERT_TRUE(exit);
  EXPECT_TRUE(exit->timed_out);
  RunResult result;
  record_exit(*exit, start, 200ms, result);
  EXPECT_EQ(result.outcome, Outcome::timed_out);
  EXPECT_EQ(result.shell_status(), 124);
  EXPECT_EQ(result.detail, "timed out after 200 ms");
}

// The first SIGTERM to spectrum is the workload's to handle; it is not spectrum's death.
TEST(Supervisor, FirstSignalIsForwarded) {
  SignalGuard signals;
  Started s = start_shell("trap 'echo got-term; exit 7' TERM; echo ready; while :; do sleep 0.05; done");
  char ready[6] = {};
  ASSERT_EQ(::read(s.out.get(), ready, 6), 6);
  ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);
  std::string out;
  Supervision supervision;
  supervision.child = &s.child;
  supervision.pipes = {{&s.out, &out, nullptr}};
  supervision.signals = &signals;
  supervision.after_exit = [] { kill_and_reap_children(); };
  auto exit = supervise(supervision);
  ASSERT_TRUE(exit);
  EXPECT_FALSE(exit->status.signaled);
  EXPECT_EQ(exit->status.code, 7);
  EXPECT_EQ(out, "got-term\n");
}

// A second signal ends the tree, even when the workload ignores the first.
TEST(Supervisor, SecondSignalEndsTheTree) {
  SignalGuard signals;
  Started s = start_shell("trap '' TERM INT; echo ready; exec sleep 30");
  char ready[6] = {};
  ASSERT_EQ(::read(s.out.get(), ready, 6), 6);
  ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);
  ASSERT_EQ(::kill(::getpid(), SIGINT), 0);
  Supervision supervision;
  supervision.child = &s.child;
  supervision.signals = &signals;
  std::string out;
  supervision.pipes = {{&s.out, &out, nullptr}};
  auto exit = supervise(supervision);
  ASSERT_TRUE(exit);
  EXPECT_TRUE(exit->status.signaled);
  EXPECT_EQ(exit->status.code, SIGKILL);
}

// An error between spawn and reap must not leave the process running.
TEST(Child, DestructorKillsAndReaps) {
  pid_t pid = -1;
  {
    Started s = start_shell("exec sleep 30");
    pid = s.child.pid;
    ASSERT_TRUE(alive(pid));
  }
  EXPECT_FALSE(alive(pid));
}
