// The sandbox kernel's sockets and epoll end to end, on both platforms (`vm`: KVM, skipped
// without /dev/kvm; `sandbox`: ptrace, everywhere). tests/vm/programs/net.c prints one line per
// check; where the answer is Linux's, the expectation is the same program's native output, and
// the attacks (ways to the host's sockets) are checked line by line.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <cstring>
#include <functional>

#include "core/stdio.h"
#include "core/tier.h"
#include "test_support.h"
#include "vm/confine.h"

namespace spectrum::vm {
namespace {

using namespace testing;

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

class KernelNetTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    root_ = new TempDir;
    built_ = compile_program("net", "-static", root_->path() / "bin/net");
    root_->write("tmp/.keep", "");
  }
  static void TearDownTestSuite() {
    delete root_;
    root_ = nullptr;
  }
  void SetUp() override {
    if (GetParam() == "vm") SKIP_WITHOUT_KVM();
    ASSERT_TRUE(built_) << "gcc -static of tests/vm/programs/net.c";
  }
  RunResult run(std::vector<std::string> argv, bool host_network = false) {
    Workload w;
    w.rootfs_writable = true;  // the host-side checks look at the root itself
    w.host_network = host_network;
    w.rootfs = root_->path().string();
    w.program = argv.front();
    w.args.assign(argv.begin() + 1, argv.end());
    w.stdout_stream = Stdio::captured();
    w.stderr_stream = Stdio::captured();
    w.stdin_stream = Stdio::null();
    w.limits.memory_bytes = 128 << 20;
    w.limits.timeout = std::chrono::seconds(60);
    auto r = (GetParam() == "vm" ? make_vm_tier() : make_sandbox_tier())->run(w);
    EXPECT_TRUE(r) << (r ? "" : r.error().message());
    return r ? *r : RunResult{};
  }
  std::string native(const std::string& args) {
    return native_output((root_->path() / "bin/net").string() + " " + args);
  }

  static inline TempDir* root_ = nullptr;
  static inline bool built_ = false;
};

// AF_UNIX sockets between guest processes: a path socket (bind, listen, a blocking accept while
// the child connects by a relative path), SO_PEERCRED with the child's guest pid, a pipe's end
// passed with SCM_RIGHTS to the child, which reads through it; abstract names; SEQPACKET
// boundaries; datagrams with path addresses; MSG_CTRUNC with no fd leaked; SCM_CREDENTIALS.
TEST_P(KernelNetTest, UnixSocketsBehaveAsNatively) {
  TempDir native_dir;
  const std::string expected = native("unix " + (native_dir.path() / "d").string());
  ASSERT_NE(expected.find("child exit 0"), std::string::npos) << expected;
  RunResult r = run({"/bin/net", "unix"});
  EXPECT_EQ(r.exit_code, 0) << r.detail << r.captured_stderr;
  EXPECT_EQ(r.captured_stdout, expected);
  struct stat st {};
  EXPECT_NE(::stat((root_->path() / "tmp/net").c_str(), &st), -1) << "the socket directory is the root's own";
}

// Edge-triggered and one-shot interest, EPOLLEXCLUSIVE (refused with MOD), epoll_pwait2.
TEST_P(KernelNetTest, EpollEdgeOneShotAndExclusiveBehaveAsNatively) {
  RunResult r = run({"/bin/net", "epoll"});
  EXPECT_EQ(r.exit_code, 0) << r.detail << r.captured_stderr;
  EXPECT_EQ(r.captured_stdout, native("epoll"));
  EXPECT_NE(r.captured_stdout.find("no new edge 0"), std::string::npos);
}

// Attack: malformed message headers (1025 iovecs, a msghdr, iovec array, buffer or control data in
// the kernel area or across an unmapped page, cmsg_len past the buffer or below a header, 254 fds,
// a closed fd, an unknown type, a 1 GiB control length) and bad addresses: Linux's answers, nothing
// sent, no fd left behind, the monitor alive.
TEST_P(KernelNetTest, MalformedMessagesAreRefusedAsNatively) {
  RunResult r = run({"/bin/net", "malformed"});
  EXPECT_EQ(r.exit_code, 0) << r.detail << r.captured_stderr;
  EXPECT_EQ(r.captured_stdout, native("malformed"));
  EXPECT_NE(r.captured_stdout.find("sendmsg with 1025 iovecs -1 EMSGSIZE"), std::string::npos);
  EXPECT_NE(r.captured_stdout.find("no fd leaked: 1"), std::string::npos);
}

// Attack: the host's sockets are out of reach. A host abstract socket (as containerd's and
// systemd's are) is not found by its name; a host path socket is not reached by its path, by an
// absolute or a climbing symlink in the root, or by `..`; a bind through a symlinked directory
// creates nothing outside the root; AF_NETLINK, AF_PACKET and raw sockets are refused, and without
// --net host so are AF_INET/AF_INET6 (no host socket made). The host listeners see no connection.
TEST_P(KernelNetTest, TheHostsSocketsAreOutOfReach) {
  TempDir host;
  const std::string abstract_name = "spectrum-net-test-host-" + std::to_string(::getpid());
  auto listen_on = [](const sockaddr_un& a, socklen_t length) {
    UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    EXPECT_EQ(::bind(s.get(), reinterpret_cast<const sockaddr*>(&a), length), 0) << std::strerror(errno);
    EXPECT_EQ(::listen(s.get(), 8), 0);
    return s;
  };
  sockaddr_un abstract{};
  abstract.sun_family = AF_UNIX;
  std::memcpy(abstract.sun_path + 1, abstract_name.data(), abstract_name.size());
  UniqueFd host_abstract = listen_on(abstract, offsetof(sockaddr_un, sun_path) + 1 + abstract_name.size());
  const std::string host_path = (host.path() / "host.sock").string();
  ASSERT_LT(host_path.size(), sizeof(sockaddr_un::sun_path) - 30);
  sockaddr_un path{};
  path.sun_family = AF_UNIX;
  std::memcpy(path.sun_path, host_path.data(), host_path.size());
  UniqueFd host_listener = listen_on(path, sizeof path);
  std::error_code ec;
  fs::remove(root_->path() / "escape-abs", ec);
  fs::remove(root_->path() / "escape-rel", ec);
  fs::remove(root_->path() / "escape-dir", ec);
  fs::create_symlink(host_path, root_->path() / "escape-abs");
  fs::create_symlink("../../../../../../../../.." + host_path, root_->path() / "escape-rel");
  fs::create_symlink(host.path(), root_->path() / "escape-dir");

  RunResult r = run({"/bin/net", "escape", abstract_name, host_path});
  EXPECT_EQ(r.exit_code, 0) << r.detail << r.captured_stderr;
  const std::string& out = r.captured_stdout;
  for (const char* line :
       {"connect to the host's abstract socket -1 ECONNREFUSED",
        "sendto the host's abstract socket -1 ECONNREFUSED", "connect to the host path -1 ENOENT",
        "connect through an absolute symlink -1 ENOENT", "connect through a climbing symlink -1 ENOENT",
        "connect through .. -1 ENOENT", "bind through a symlinked directory -1 ENOENT",
        "socket AF_NETLINK -1 EAFNOSUPPORT", "socket AF_PACKET -1 EAFNOSUPPORT",
        "socket AF_INET raw -1 EAFNOSUPPORT", "socket AF_INET stream -1 EAFNOSUPPORT",
        "socket AF_INET6 datagram -1 EAFNOSUPPORT", "socketpair AF_INET -1 EOPNOTSUPP"})
    EXPECT_NE(out.find(std::string(line) + "\n"), std::string::npos) << line << "\nin:\n" << out;
  // `/../../planted` is the root's /planted: a bind there is inside the root.
  EXPECT_NE(out.find("bind through .. 0"), std::string::npos) << out;
  EXPECT_TRUE(fs::is_socket(fs::symlink_status(root_->path() / "planted", ec)))
      << "a bind of /../../planted is the root's";
  EXPECT_FALSE(fs::exists(host.path() / "planted", ec)) << "a bind reached the host's directory";
  EXPECT_LT(::accept4(host_abstract.get(), nullptr, nullptr, SOCK_CLOEXEC), 0)
      << "the guest reached the host's socket";
  EXPECT_LT(::accept4(host_listener.get(), nullptr, nullptr, SOCK_CLOEXEC), 0)
      << "the guest reached the host's path";
  fs::remove(root_->path() / "planted", ec);
}

// --net host: a guest TCP echo server on 127.0.0.1 and its client in a child process, UDP, poll and
// epoll readiness, through the monitor's own host sockets; raw sockets still refused. The
// expectation is the native run's, except the raw socket a root test run may open natively.
TEST_P(KernelNetTest, NetHostGivesTcpAndUdpOnTheHostsNetwork) {
  RunResult r = run({"/bin/net", "inet"}, true);
  EXPECT_EQ(r.exit_code, 0) << r.detail << r.captured_stderr;
  std::string expected = native("inet");
  const std::string raw = "socket AF_INET raw ";
  expected = expected.substr(0, expected.find(raw)) + raw + "-1 EPERM\n";
  EXPECT_EQ(r.captured_stdout, expected);
  EXPECT_NE(r.captured_stdout.find("client exit 0"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Platforms, KernelNetTest, ::testing::Values("vm", "sandbox"),
                         [](const auto& param_info) { return param_info.param; });

// The monitor's seccomp filter, as installed, on the socket calls: what the sandbox kernel makes
// (AF_UNIX, TCP/UDP sockets; its message flags) passes, and a netlink, packet or raw socket, a
// socketpair of another family, an option level it never uses, or a message flag it never passes
// kills the monitor (SIGSYS), whatever a bug in a handler would ask; without --net host so does
// any AF_INET/AF_INET6 socket. The --net host programs are libseccomp's, as the others are
// (unit_test.cc).
TEST(MonitorSocketFilterTest, OnlyTheSocketsTheKernelMakesPassTheFilter) {
  for (bool ptrace_platform : {false, true}) {
    auto built = build_monitor_filter(ptrace_platform, true);
    ASSERT_TRUE(built) << built.error().message();
    const std::span<const sock_filter> embedded = embedded_monitor_filter(ptrace_platform, true);
    ASSERT_EQ(embedded.size(), built->size());
    EXPECT_EQ(std::memcmp(embedded.data(), built->data(), embedded.size_bytes()), 0);
  }
  bool host_network = true;
  auto under_filter = [&](auto call) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      if (!install_monitor_seccomp(false, host_network)) ::_exit(100);
      ::_exit(call() ? 0 : 1);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFSIGNALED(status) ? -WTERMSIG(status) : WEXITSTATUS(status);
  };
  const int nonblock = SOCK_NONBLOCK | SOCK_CLOEXEC;
  EXPECT_EQ(under_filter([&] { return ::socket(AF_UNIX, SOCK_STREAM | nonblock, 0) >= 0; }), 0);
  EXPECT_EQ(under_filter([&] { return ::socket(AF_UNIX, SOCK_SEQPACKET | nonblock, 0) >= 0; }), 0);
  EXPECT_EQ(under_filter([&] { return ::socket(AF_INET6, SOCK_DGRAM | nonblock, 0) >= 0; }), 0);
  EXPECT_EQ(under_filter([&] {
              int sv[2];
              if (::socketpair(AF_UNIX, SOCK_DGRAM | nonblock, 0, sv) != 0) return false;
              char byte = 'x';
              iovec iov{&byte, 1};
              msghdr msg{};
              msg.msg_iov = &iov;
              msg.msg_iovlen = 1;
              int one = 1;
              return ::setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof one) == 0 &&
                     ::sendmsg(sv[0], &msg, MSG_DONTWAIT | MSG_NOSIGNAL) == 1 &&
                     ::recvmsg(sv[1], &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) == 1;
            }),
            0);
  for (auto refused : std::initializer_list<std::function<long()>>{
           [] { return ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0); },
           [] { return ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0); },
           [] { return ::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP); },
           [] {
             int sv[2];
             return ::socketpair(AF_INET, SOCK_STREAM, 0, sv);
           },
           [] {
             int one = 1;
             return ::setsockopt(0, SOL_PACKET, 1, &one, sizeof one);
           },
           [] {
             msghdr msg{};
             return ::sendmsg(0, &msg, MSG_CONFIRM);
           },
           [] {
             msghdr msg{};
             return ::recvmsg(0, &msg, MSG_ERRQUEUE);
           }})
    EXPECT_EQ(under_filter([&] { return refused() >= 0; }), -SIGSYS);
  // --net none: no host inet socket at all, even if a handler asked for one.
  host_network = false;
  EXPECT_EQ(under_filter([&] { return ::socket(AF_INET, SOCK_STREAM | nonblock, 0) >= 0; }), -SIGSYS);
  EXPECT_EQ(under_filter([&] { return ::socket(AF_INET6, SOCK_DGRAM | nonblock, 0) >= 0; }), -SIGSYS);
  EXPECT_EQ(under_filter([&] { return ::socket(AF_UNIX, SOCK_STREAM | nonblock, 0) >= 0; }), 0);
}

}  // namespace
}  // namespace spectrum::vm
