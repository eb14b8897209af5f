// The WASI host functions called directly through their table, with a plain byte buffer as the
// guest's linear memory: confinement, read-only mounts, pointer checks and the ABI, independent of
// the engine (the guest programs in this folder test the same through the real tier).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <thread>
#include <vector>

#include "wasm/wasi/wasi.h"

namespace spectrum::wasi {
namespace {

namespace fs = std::filesystem;
using abi::Errno;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "spectrum-wasi-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void write_text(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

class WasiHostTest : public ::testing::Test {
 protected:
  static constexpr std::uint32_t kMemorySize = 65536;
  static constexpr std::uint32_t kScratch = 1024;  // where tests place strings and structs
  static constexpr std::uint32_t kRwFd = 3, kRoFd = 4;

  void SetUp() override {
    fs::create_directories(root_.path() / "rw");
    fs::create_directories(root_.path() / "ro");
    write_text(root_.path() / "secret", "outside");
    write_text(root_.path() / "ro" / "file", "read-only contents");
    Config config;
    config.args = {"prog", "alpha", "beta"};
    config.env = {"A=1", "HELLO=world"};
    config.preopens = {{(root_.path() / "rw").string(), "/rw", false},
                       {(root_.path() / "ro").string(), "/ro", true}};
    auto created = Wasi::create(config);
    ASSERT_TRUE(created) << created.error().message();
    wasi_ = std::move(*created);
  }

  GuestMemory memory() { return GuestMemory(memory_.data(), memory_.size()); }

  CallResult invoke(std::string_view name, std::initializer_list<std::uint64_t> args) {
    const HostFunction* function = find_host_function(name);
    EXPECT_NE(function, nullptr) << name;
    EXPECT_EQ(function->params.size(), args.size()) << name;
    std::uint64_t result = 0xdead;
    CallResult outcome = function->invoke(*wasi_, memory(), std::data(args), &result);
    if (outcome.kind == CallResult::Kind::returned) {
      EXPECT_EQ(result, outcome.value);
    }
    return outcome;
  }
  Errno call(std::string_view name, std::initializer_list<std::uint64_t> args) {
    CallResult outcome = invoke(name, args);
    EXPECT_EQ(outcome.kind, CallResult::Kind::returned) << name;
    return static_cast<Errno>(outcome.value);
  }

  // Places bytes in guest memory at `at`, returns `at`.
  std::uint32_t put(std::uint32_t at, std::string_view bytes) {
    std::memcpy(memory_.data() + at, bytes.data(), bytes.size());
    return at;
  }
  std::uint32_t u32(std::uint32_t at) {
    std::uint32_t v;
    std::memcpy(&v, memory_.data() + at, 4);
    return v;
  }
  std::string text(std::uint32_t at, std::size_t len) {
    return std::string(reinterpret_cast<const char*>(memory_.data() + at), len);
  }

  // path_open relative to dirfd; the new fd at kScratch+512.
  Errno open(std::uint32_t dirfd, std::string_view path, std::uint32_t oflags = 0,
             std::uint64_t rights = abi::rights::fd_read,
             std::uint32_t lookup = abi::lookupflags::symlink_follow) {
    put(kScratch, path);
    return call("path_open",
                {dirfd, lookup, kScratch, path.size(), oflags, rights, abi::rights::all, 0, kScratch + 512});
  }
  std::uint32_t opened_fd() { return u32(kScratch + 512); }

  TempDir root_;
  std::vector<std::uint8_t> memory_ = std::vector<std::uint8_t>(kMemorySize);
  std::unique_ptr<Wasi> wasi_;
};

TEST(WasiTable, NamesAreUniqueAndSignaturesFollowTheWitx) {
  auto functions = host_functions();
  EXPECT_GE(functions.size(), 45u);
  for (std::size_t i = 0; i < functions.size(); ++i)
    for (std::size_t j = i + 1; j < functions.size(); ++j) EXPECT_NE(functions[i].name, functions[j].name);
  auto signature = [](std::string_view name) {
    const HostFunction* f = find_host_function(name);
    std::string out;
    for (ValType t : f->params) out += t == ValType::i32 ? 'i' : 'I';
    out += "->";
    for (ValType t : f->results) out += t == ValType::i32 ? 'i' : 'I';
    return out;
  };
  EXPECT_EQ(signature("fd_write"), "iiii->i");
  EXPECT_EQ(signature("fd_seek"), "iIii->i");
  EXPECT_EQ(signature("path_open"), "iiiiiIIii->i");
  EXPECT_EQ(signature("fd_filestat_set_times"), "iIIi->i");
  EXPECT_EQ(signature("clock_time_get"), "iIi->i");
  EXPECT_EQ(signature("proc_exit"), "i->");
  EXPECT_EQ(signature("sched_yield"), "->i");
  EXPECT_EQ(find_host_function("no_such_function"), nullptr);
}

TEST_F(WasiHostTest, ArgsAndEnvironment) {
  ASSERT_EQ(call("args_sizes_get", {100, 104}), Errno::success);
  EXPECT_EQ(u32(100), 3u);
  EXPECT_EQ(u32(104), std::string("prog alpha beta").size() + 1);
  ASSERT_EQ(call("args_get", {200, 300}), Errno::success);
  EXPECT_EQ(u32(200), 300u);
  EXPECT_EQ(text(u32(204), 6), std::string("alpha\0", 6));
  EXPECT_EQ(text(u32(208), 4), "beta");
  ASSERT_EQ(call("environ_sizes_get", {100, 104}), Errno::success);
  EXPECT_EQ(u32(100), 2u);
  ASSERT_EQ(call("environ_get", {200, 300}), Errno::success);
  EXPECT_EQ(text(u32(204), 11), "HELLO=world");
}

TEST_F(WasiHostTest, PointersOutsideMemoryFailWithEfault) {
  EXPECT_EQ(call("args_get", {kMemorySize - 4, 300}), Errno::fault);
  EXPECT_EQ(call("args_sizes_get", {kMemorySize, 0}), Errno::fault);
  EXPECT_EQ(call("clock_time_get", {1, 0, kMemorySize - 7}), Errno::fault);
  EXPECT_EQ(call("random_get", {kMemorySize - 10, 11}), Errno::fault);
  EXPECT_EQ(call("random_get", {0xFFFFFFFF, 0xFFFFFFFF}), Errno::fault);
  // An iovec whose buffer runs past the end of memory: nothing is written to the host fd.
  std::uint32_t iov[2] = {kMemorySize - 2, 4};
  std::memcpy(memory_.data() + 100, iov, sizeof iov);
  EXPECT_EQ(call("fd_write", {1, 100, 1, 200}), Errno::fault);
  EXPECT_EQ(call("fd_write", {1, kMemorySize - 4, 1, 200}), Errno::fault);
  EXPECT_EQ(call("poll_oneoff", {kMemorySize - 8, 0, 1, 200}), Errno::fault);
}

TEST_F(WasiHostTest, PreopensAreDescribed) {
  ASSERT_EQ(call("fd_prestat_get", {kRwFd, 100}), Errno::success);
  EXPECT_EQ(memory_[100], 0);  // preopentype dir
  EXPECT_EQ(u32(104), 3u);
  ASSERT_EQ(call("fd_prestat_dir_name", {kRwFd, 200, 3}), Errno::success);
  EXPECT_EQ(text(200, 3), "/rw");
  EXPECT_EQ(call("fd_prestat_get", {1, 100}), Errno::badf);
  EXPECT_EQ(call("fd_prestat_get", {5, 100}), Errno::badf);
}

TEST_F(WasiHostTest, FilesInAPreopen) {
  ASSERT_EQ(open(kRwFd, "data.txt", abi::oflags::creat, abi::rights::fd_read | abi::rights::fd_write),
            Errno::success);
  std::uint32_t fd = opened_fd();
  put(300, "hello, wasi");
  std::uint32_t iov[2] = {300, 11};
  std::memcpy(memory_.data() + 100, iov, sizeof iov);
  ASSERT_EQ(call("fd_write", {fd, 100, 1, 120}), Errno::success);
  EXPECT_EQ(u32(120), 11u);
  ASSERT_EQ(call("fd_seek", {fd, static_cast<std::uint64_t>(-4), 1, 128}), Errno::success);  // SEEK_CUR -4
  EXPECT_EQ(u32(128), 7u);
  iov[0] = 400;
  iov[1] = 16;
  std::memcpy(memory_.data() + 100, iov, sizeof iov);
  ASSERT_EQ(call("fd_read", {fd, 100, 1, 120}), Errno::success);
  EXPECT_EQ(u32(120), 4u);
  EXPECT_EQ(text(400, 4), "wasi");
  ASSERT_EQ(call("fd_filestat_get", {fd, 512}), Errno::success);
  EXPECT_EQ(memory_[512 + 16], static_cast<std::uint8_t>(abi::Filetype::regular_file));
  EXPECT_EQ(u32(512 + 32), 11u);
  ASSERT_EQ(call("fd_close", {fd}), Errno::success);
  EXPECT_EQ(call("fd_close", {fd}), Errno::badf);

  std::ifstream in(root_.path() / "rw" / "data.txt");
  std::string contents((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(contents, "hello, wasi");

  put(kScratch, "sub");
  ASSERT_EQ(call("path_create_directory", {kRwFd, kScratch, 3}), Errno::success);
  EXPECT_TRUE(fs::is_directory(root_.path() / "rw" / "sub"));
  put(kScratch, "data.txt");
  put(kScratch + 16, "sub/moved.txt");
  ASSERT_EQ(call("path_rename", {kRwFd, kScratch, 8, kRwFd, kScratch + 16, 13}), Errno::success);
  EXPECT_TRUE(fs::exists(root_.path() / "rw" / "sub" / "moved.txt"));

  // readdir of the subdirectory: ".", ".." and moved.txt, with cookies that continue.
  ASSERT_EQ(open(kRwFd, "sub", abi::oflags::directory, abi::rights::fd_readdir), Errno::success);
  std::uint32_t dir = opened_fd();
  ASSERT_EQ(call("fd_readdir", {dir, 2048, 1024, 0, 120}), Errno::success);
  std::vector<std::string> names;
  for (std::uint32_t at = 2048; at < 2048 + u32(120);) {
    std::uint32_t namlen = u32(at + 16);
    names.push_back(text(at + 24, namlen));
    at += 24 + namlen;
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{".", "..", "moved.txt"}));

  put(kScratch, "sub/moved.txt");
  ASSERT_EQ(call("path_unlink_file", {kRwFd, kScratch, 13}), Errno::success);
  put(kScratch, "sub");
  EXPECT_EQ(call("path_unlink_file", {kRwFd, kScratch, 3}), Errno::isdir);
  ASSERT_EQ(call("path_remove_directory", {kRwFd, kScratch, 3}), Errno::success);
  EXPECT_FALSE(fs::exists(root_.path() / "rw" / "sub"));
}

TEST_F(WasiHostTest, SizesTimesSyncAdviceAndRenumber) {
  ASSERT_EQ(open(kRwFd, "f", abi::oflags::creat, abi::rights::fd_read | abi::rights::fd_write),
            Errno::success);
  std::uint32_t fd = opened_fd();
  ASSERT_EQ(call("fd_allocate", {fd, 0, 100}), Errno::success);
  EXPECT_EQ(fs::file_size(root_.path() / "rw" / "f"), 100u);
  ASSERT_EQ(call("fd_filestat_set_size", {fd, 10}), Errno::success);
  EXPECT_EQ(fs::file_size(root_.path() / "rw" / "f"), 10u);
  EXPECT_EQ(call("fd_sync", {fd}), Errno::success);
  EXPECT_EQ(call("fd_datasync", {fd}), Errno::success);
  EXPECT_EQ(call("fd_advise", {fd, 0, 10, 1}), Errno::success);
  EXPECT_EQ(call("fd_advise", {fd, 0, 10, 9}), Errno::inval);

  const std::uint64_t t = 1'000'000'000ull * 1'000'000'000ull;  // 2001-09-09, in ns
  ASSERT_EQ(call("fd_filestat_set_times", {fd, t, t, abi::fstflags::atim | abi::fstflags::mtim}),
            Errno::success);
  ASSERT_EQ(call("fd_filestat_get", {fd, 512}), Errno::success);
  std::uint64_t mtim;
  std::memcpy(&mtim, memory_.data() + 512 + 48, 8);
  EXPECT_EQ(mtim, t);
  EXPECT_EQ(call("fd_filestat_set_times", {fd, t, t, abi::fstflags::mtim | abi::fstflags::mtim_now}),
            Errno::inval);
  put(kScratch, "f");
  ASSERT_EQ(call("path_filestat_set_times", {kRwFd, 0, kScratch, 1, 0, t + 5, abi::fstflags::mtim}),
            Errno::success);
  ASSERT_EQ(call("path_filestat_get", {kRwFd, 0, kScratch, 1, 512}), Errno::success);
  std::memcpy(&mtim, memory_.data() + 512 + 48, 8);
  EXPECT_EQ(mtim, t + 5);

  ASSERT_EQ(call("fd_fdstat_set_flags", {fd, abi::fdflags::append}), Errno::success);
  ASSERT_EQ(call("fd_fdstat_get", {fd, 512}), Errno::success);
  std::uint16_t flags;
  std::memcpy(&flags, memory_.data() + 514, 2);
  EXPECT_EQ(flags & abi::fdflags::append, abi::fdflags::append);

  // renumber: `fd` takes the place of the read-only file's fd, which is closed.
  ASSERT_EQ(open(kRoFd, "file"), Errno::success);
  std::uint32_t other = opened_fd();
  ASSERT_EQ(call("fd_renumber", {fd, other}), Errno::success);
  EXPECT_EQ(call("fd_tell", {fd, 100}), Errno::badf);
  ASSERT_EQ(call("fd_tell", {other, 100}), Errno::success);
  EXPECT_EQ(call("fd_renumber", {other, 99}), Errno::badf);
}

TEST_F(WasiHostTest, PathsThatLeaveThePreopenAreRefused) {
  EXPECT_EQ(open(kRwFd, "../secret"), Errno::notcapable);
  fs::create_directories(root_.path() / "rw" / "a");
  EXPECT_EQ(open(kRwFd, "a/../../secret"), Errno::notcapable);
  EXPECT_EQ(open(kRwFd, "/etc/passwd"), Errno::notcapable);
  EXPECT_EQ(open(kRwFd, ".."), Errno::notcapable);
  fs::create_symlink("../secret", root_.path() / "rw" / "escape");
  fs::create_symlink("/etc/passwd", root_.path() / "rw" / "absolute");
  EXPECT_EQ(open(kRwFd, "escape"), Errno::notcapable);
  EXPECT_EQ(open(kRwFd, "absolute"), Errno::notcapable);
  put(kScratch, "escape");
  EXPECT_EQ(call("path_filestat_get", {kRwFd, abi::lookupflags::symlink_follow, kScratch, 6, 512}),
            Errno::notcapable);
  // Without following, the link itself is visible, and readlink shows its text.
  EXPECT_EQ(call("path_filestat_get", {kRwFd, 0, kScratch, 6, 512}), Errno::success);
  EXPECT_EQ(memory_[512 + 16], static_cast<std::uint8_t>(abi::Filetype::symbolic_link));
  ASSERT_EQ(call("path_readlink", {kRwFd, kScratch, 6, 600, 64, 120}), Errno::success);
  EXPECT_EQ(text(600, u32(120)), "../secret");
  put(kScratch, "../secret");
  EXPECT_EQ(call("path_unlink_file", {kRwFd, kScratch, 9}), Errno::notcapable);
  put(kScratch, "../made");
  EXPECT_EQ(call("path_create_directory", {kRwFd, kScratch, 7}), Errno::notcapable);
  EXPECT_FALSE(fs::exists(root_.path() / "made"));
  // A hard link through a symlink that points out is refused too.
  put(kScratch, "escape");
  put(kScratch + 16, "stolen");
  EXPECT_EQ(
      call("path_link", {kRwFd, abi::lookupflags::symlink_follow, kScratch, 6, kRwFd, kScratch + 16, 6}),
      Errno::notcapable);
  EXPECT_TRUE(fs::exists(root_.path() / "secret"));
  // A symlink that stays inside works.
  write_text(root_.path() / "rw" / "target", "inside");
  fs::create_symlink("target", root_.path() / "rw" / "good");
  EXPECT_EQ(open(kRwFd, "good"), Errno::success);
  EXPECT_EQ(open(kRwFd, "good", 0, abi::rights::fd_read, 0), Errno::loop);  // O_NOFOLLOW on a link
}

TEST_F(WasiHostTest, ReadOnlyMountRefusesWrites) {
  EXPECT_EQ(open(kRoFd, "file"), Errno::success);
  EXPECT_EQ(open(kRoFd, "file", 0, abi::rights::fd_write), Errno::rofs);
  EXPECT_EQ(open(kRoFd, "new", abi::oflags::creat), Errno::rofs);
  EXPECT_EQ(open(kRoFd, "file", abi::oflags::trunc), Errno::rofs);
  put(kScratch, "file");
  EXPECT_EQ(call("path_unlink_file", {kRoFd, kScratch, 4}), Errno::rofs);
  EXPECT_EQ(call("path_create_directory", {kRoFd, kScratch, 4}), Errno::rofs);
  put(kScratch + 16, "renamed");
  EXPECT_EQ(call("path_rename", {kRoFd, kScratch, 4, kRwFd, kScratch + 16, 7}), Errno::rofs);
  ASSERT_EQ(open(kRoFd, "file"), Errno::success);
  std::uint32_t fd = opened_fd();
  put(300, "x");
  std::uint32_t iov[2] = {300, 1};
  std::memcpy(memory_.data() + 100, iov, sizeof iov);
  EXPECT_EQ(call("fd_write", {fd, 100, 1, 120}), Errno::rofs);
  EXPECT_EQ(call("fd_filestat_set_size", {fd, 0}), Errno::rofs);
  // The rights the guest sees say so too.
  ASSERT_EQ(call("fd_fdstat_get", {kRoFd, 512}), Errno::success);
  std::uint64_t rights;
  std::memcpy(&rights, memory_.data() + 512 + 8, 8);
  EXPECT_EQ(rights & abi::rights::fd_write, 0u);
  std::ifstream in(root_.path() / "ro" / "file");
  std::string contents((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(contents, "read-only contents");
}

// Issue 10: a hard link out of the read-only preopen would be a writable name for its file.
TEST_F(WasiHostTest, HardLinkOutOfAReadOnlyMountIsRefused) {
  put(kScratch, "file");
  put(kScratch + 16, "linked");
  EXPECT_EQ(call("path_link", {kRoFd, 0, kScratch, 4, kRwFd, kScratch + 16, 6}), Errno::xdev);
  EXPECT_EQ(
      call("path_link", {kRoFd, abi::lookupflags::symlink_follow, kScratch, 4, kRwFd, kScratch + 16, 6}),
      Errno::xdev);
  EXPECT_FALSE(fs::exists(root_.path() / "rw" / "linked"));
  // Within the writable preopen links work as before.
  write_text(root_.path() / "rw" / "mine", "x");
  put(kScratch, "mine");
  EXPECT_EQ(call("path_link", {kRwFd, 0, kScratch, 4, kRwFd, kScratch + 16, 6}), Errno::success);
}

// Issue 10: once interrupted, no call does anything more for the guest (a blocked one that the
// embedder's signal cut short is reported as interrupted, not as an EINTR to retry).
TEST_F(WasiHostTest, NothingRunsOnceInterrupted) {
  wasi_->interrupt();
  put(kScratch, "made");
  EXPECT_EQ(invoke("path_create_directory", {kRwFd, kScratch, 4}).kind, CallResult::Kind::interrupted);
  EXPECT_FALSE(fs::exists(root_.path() / "rw" / "made"));
}

TEST_F(WasiHostTest, ClocksAndRandom) {
  ASSERT_EQ(call("clock_time_get", {0, 1, 100}), Errno::success);
  std::uint64_t realtime;
  std::memcpy(&realtime, memory_.data() + 100, 8);
  EXPECT_GT(realtime, 1'600'000'000ull * 1'000'000'000ull);  // after 2020
  ASSERT_EQ(call("clock_res_get", {1, 100}), Errno::success);
  EXPECT_EQ(call("clock_time_get", {9, 1, 100}), Errno::inval);
  std::fill(memory_.begin() + 200, memory_.begin() + 264, 0);
  ASSERT_EQ(call("random_get", {200, 64}), Errno::success);
  int zeros = static_cast<int>(std::count(memory_.begin() + 200, memory_.begin() + 264, 0));
  EXPECT_LT(zeros, 16);
}

// A subscription for a relative monotonic clock of `ns` at `at`.
void put_clock_subscription(std::vector<std::uint8_t>& memory, std::uint32_t at, std::uint64_t userdata,
                            std::uint64_t ns) {
  abi::Subscription sub{};
  sub.userdata = userdata;
  sub.tag = abi::Eventtype::clock;
  sub.u.clock = {abi::Clockid::monotonic, ns, 0, 0};
  std::memcpy(memory.data() + at, &sub, sizeof sub);
}

TEST_F(WasiHostTest, PollOneoffSleepsAndCanBeInterrupted) {
  put_clock_subscription(memory_, 1000, 77, 2'000'000);  // 2 ms
  ASSERT_EQ(call("poll_oneoff", {1000, 2000, 1, 120}), Errno::success);
  EXPECT_EQ(u32(120), 1u);
  abi::Event event;
  std::memcpy(&event, memory_.data() + 2000, sizeof event);
  EXPECT_EQ(event.userdata, 77u);
  EXPECT_EQ(event.type, abi::Eventtype::clock);
  EXPECT_EQ(event.error, Errno::success);

  // A 1-hour sleep ends as soon as the embedder interrupts.
  put_clock_subscription(memory_, 1000, 1, 3600ull * 1'000'000'000ull);
  std::thread interrupter([this] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    wasi_->interrupt();
  });
  CallResult outcome = invoke("poll_oneoff", {1000, 2000, 1, 120});
  interrupter.join();
  EXPECT_EQ(outcome.kind, CallResult::Kind::interrupted);
}

TEST_F(WasiHostTest, ProcExitEndsTheProgram) {
  CallResult outcome = invoke("proc_exit", {42});
  EXPECT_EQ(outcome.kind, CallResult::Kind::exited);
  EXPECT_EQ(outcome.value, 42u);
}

// Issue 10: a read-only mount inside a writable one stays read-only through the outer preopen
// (wasi-libc resolves "/./locked/file" through "/").
TEST(WasiShadow, ReadOnlyMountInsideAWritableOneIsReadOnlyThroughIt) {
  TempDir root;
  fs::create_directories(root.path() / "locked");
  write_text(root.path() / "locked" / "file", "kept");
  Config config;
  config.preopens = {{root.path().string(), "/", false},
                     {(root.path() / "locked").string(), "/locked", true}};
  auto wasi = Wasi::create(config);
  ASSERT_TRUE(wasi) << wasi.error().message();
  std::vector<std::uint8_t> bytes(4096);
  GuestMemory memory(bytes.data(), bytes.size());
  auto call = [&](std::string_view name, std::initializer_list<std::uint64_t> args) {
    std::uint64_t result = 0;
    CallResult r = find_host_function(name)->invoke(**wasi, memory, std::data(args), &result);
    return static_cast<Errno>(r.value);
  };
  auto put = [&](std::uint32_t at, std::string_view text) {
    std::memcpy(bytes.data() + at, text.data(), text.size());
    return at;
  };
  const std::uint64_t kRoot = 3;
  put(0, "locked/file");
  EXPECT_EQ(call("path_open", {kRoot, 0, 0, 11, abi::oflags::trunc, abi::rights::fd_write, 0, 0, 512}),
            Errno::rofs);
  put(0, "locked/new");
  EXPECT_EQ(call("path_open", {kRoot, 0, 0, 10, abi::oflags::creat, abi::rights::fd_write, 0, 0, 512}),
            Errno::rofs);
  EXPECT_EQ(call("path_create_directory", {kRoot, 0, 10}), Errno::rofs);
  put(0, "locked/file");
  put(64, "copy");
  EXPECT_EQ(call("path_link", {kRoot, 0, 0, 11, kRoot, 64, 4}), Errno::xdev);
  EXPECT_EQ(call("path_unlink_file", {kRoot, 0, 11}), Errno::rofs);
  // Outside the read-only directory the root is writable as before.
  put(0, "elsewhere");
  EXPECT_EQ(call("path_create_directory", {kRoot, 0, 9}), Errno::success);
  std::ifstream in(root.path() / "locked" / "file");
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(in)), {}), "kept");
  EXPECT_FALSE(fs::exists(root.path() / "copy"));
}

TEST(WasiCreate, AMissingMountIsAnErrorNamingIt) {
  Config config;
  config.preopens = {{"/nonexistent/spectrum-dir", "/data", false}};
  auto created = Wasi::create(config);
  ASSERT_FALSE(created);
  EXPECT_NE(created.error().message().find("/nonexistent/spectrum-dir"), std::string::npos);
}

}  // namespace
}  // namespace spectrum::wasi

namespace spectrum::wasi {
namespace {

// Every function with hostile arguments (pointers at and past the end of memory, huge lengths,
// bad fds) over memory full of zeros and of 0xFF: each must return an errno, never crash
// (run under ASan by `make test-asan`).
TEST(WasiHostile, EveryFunctionSurvivesHostileArguments) {
  TempDir root;
  Config config;
  UniqueFd null_in(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  UniqueFd null_out(::open("/dev/null", O_WRONLY | O_CLOEXEC));
  config.stdin_fd = null_in.get();
  config.stdout_fd = config.stderr_fd = null_out.get();
  config.preopens = {{root.path().string(), "/p", false}};
  constexpr std::uint64_t kSize = 65536;
  const std::uint64_t patterns[] = {0,     1,         3,          7,          kSize - 1,
                                    kSize, kSize - 8, 0xFFFFFFFF, 0x80000000, 0xFFFFFFFFFFFFFFFF};
  for (std::uint8_t fill : {0x00, 0xFF}) {
    for (const HostFunction& function : host_functions()) {
      for (std::uint64_t pattern : patterns) {
        auto created = Wasi::create(config);
        ASSERT_TRUE(created);
        std::vector<std::uint8_t> memory(kSize, fill);
        std::vector<std::uint64_t> args(function.params.size(), pattern);
        std::uint64_t result = 0;
        CallResult outcome =
            function.invoke(**created, GuestMemory(memory.data(), memory.size()), args.data(), &result);
        if (function.name == "proc_exit") {
          EXPECT_EQ(outcome.kind, CallResult::Kind::exited);
        } else {
          EXPECT_EQ(outcome.kind, CallResult::Kind::returned) << function.name;
          EXPECT_LE(result, static_cast<std::uint64_t>(Errno::notcapable)) << function.name;
        }
      }
    }
  }
}

}  // namespace
}  // namespace spectrum::wasi
