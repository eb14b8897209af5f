#include "core/process.h"

#include <fcntl.h>
#include <gtest/gtest.h>

using namespace spectrum;

TEST(FindExecutable, NotFoundIs127NotExecutableIs126) {
  auto missing = find_executable("definitely-not-a-program-xyz", "/usr/bin:/bin");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().exit_status(), 127);
  auto not_exec = find_executable("/etc/passwd", "");
  ASSERT_FALSE(not_exec);
  EXPECT_EQ(not_exec.error().exit_status(), 126);
  auto dir = find_executable("/tmp", "");
  ASSERT_FALSE(dir);
  EXPECT_EQ(dir.error().exit_status(), 126);
  EXPECT_EQ(find_executable("sh", "/nonexistent:/bin").value(), "/bin/sh");
}

TEST(Environment, OverridesReplaceKeys) {
  auto env = make_environment(false, {"A=1", "B=2", "A=3"});
  ASSERT_EQ(env.size(), 2u);
  EXPECT_EQ(env[0], "A=3");
  EXPECT_EQ(env[1], "B=2");
}

TEST(Spawn, RunsAndReportsExitCode) {
  SpawnRequest request;
  request.executable = "/bin/sh";
  request.argv = {"sh", "-c", "exit 42"};
  auto child = spawn(request);
  ASSERT_TRUE(child) << child.error().message();
  auto status = reap(*child);
  ASSERT_TRUE(status);
  EXPECT_FALSE(status->signaled);
  EXPECT_EQ(status->code, 42);
}

TEST(Spawn, ExecFailureIsReportedWithExitCode) {
  SpawnRequest request;
  request.executable = "/nonexistent/program";
  request.argv = {"program"};
  auto child = spawn(request);
  ASSERT_FALSE(child);
  EXPECT_EQ(child.error().exit_status(), 127);
  request.executable = "/bin/sh";
  request.workdir = "/nonexistent-dir";
  auto bad_dir = spawn(request);
  ASSERT_FALSE(bad_dir);
  EXPECT_NE(bad_dir.error().message().find("chdir /nonexistent-dir"), std::string::npos);
}

TEST(Spawn, RedirectsStdout) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  SpawnRequest request;
  request.executable = "/bin/echo";
  request.argv = {"echo", "hello"};
  request.stdout_fd = write_end.get();
  auto child = spawn(request);
  ASSERT_TRUE(child);
  write_end.reset();
  EXPECT_EQ(read_all(read_end.get()).value(), "hello\n");
  auto status = reap(*child);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->code, 0);
}
