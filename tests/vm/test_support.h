// Helpers of the vm tier's tests: temporary root filesystems and test programs built with gcc.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "vm/kvm.h"

namespace spectrum::vm::testing {

namespace fs = std::filesystem;

// A temporary directory removed again at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "spectrum-vm-test-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  void write(const std::string& relative, const std::string& content) const {
    fs::create_directories((path_ / relative).parent_path());
    std::ofstream(path_ / relative) << content;
  }

 private:
  fs::path path_;
};

inline std::string source_dir() { return SPECTRUM_VM_TEST_SOURCE_DIR; }

// Compiles tests/vm/programs/NAME.c with `flags` (e.g. "-static") into `out`; false if gcc fails.
inline bool compile_program(const std::string& name, const std::string& flags, const fs::path& out) {
  fs::create_directories(out.parent_path());
  const std::string cmd =
      "gcc -O1 " + flags + " -o '" + out.string() + "' '" + source_dir() + "/programs/" + name + ".c' 2>&1";
  return std::system(cmd.c_str()) == 0;
}

// A root filesystem with busybox (static) and its applets, when the host has /bin/busybox.
inline bool add_busybox(const TempDir& root) {
  std::error_code ec;
  if (!fs::exists("/bin/busybox")) return false;
  fs::create_directories(root.path() / "bin");
  fs::copy_file("/bin/busybox", root.path() / "bin/busybox", fs::copy_options::overwrite_existing, ec);
  if (ec) return false;
  for (const char* applet : {"echo", "cat", "ls", "wc", "sha256sum", "sh", "true", "false"})
    fs::create_symlink("busybox", root.path() / "bin" / applet, ec);
  return true;
}

// Copies a dynamic host program into the root at `guest` with every library `ldd` names (at the
// same paths) and its dynamic linker: a Debian program in a root filesystem of its own. False if
// the host lacks it or ldd fails.
inline bool add_dynamic_program(const TempDir& root, const fs::path& host, const std::string& guest) {
  std::error_code ec;
  if (!fs::exists(host)) return false;
  auto copy = [&](const fs::path& from, const fs::path& to) {
    fs::create_directories((root.path() / to.relative_path()).parent_path(), ec);
    fs::copy_file(fs::canonical(from, ec), root.path() / to.relative_path(),
                  fs::copy_options::overwrite_existing, ec);
    return !ec;
  };
  if (!copy(host, guest)) return false;
  FILE* p = ::popen(("ldd '" + host.string() + "' 2>/dev/null").c_str(), "r");
  if (!p) return false;
  char line[1024];
  bool ok = true;
  while (std::fgets(line, sizeof line, p)) {
    // "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "\t/lib64/ld-linux-x86-64.so.2 (0x...)"
    std::string l(line);
    const auto arrow = l.find("=> ");
    std::string path =
        arrow != std::string::npos ? l.substr(arrow + 3) : l.substr(l.find_first_not_of(" \t"));
    path = path.substr(0, path.find(' '));
    if (path.empty() || path.front() != '/') continue;  // linux-vdso.so.1
    ok = copy(path, path) && ok;
  }
  return ::pclose(p) == 0 && ok;
}

// Python 3.11 from the host with its standard library (no tests, caches or GUI) and libraries.
inline bool add_python(const TempDir& root) {
  if (!fs::exists("/usr/bin/python3.11") || !fs::exists("/usr/lib/python3.11")) return false;
  if (!add_dynamic_program(root, "/usr/bin/python3.11", "/usr/bin/python3")) return false;
  const std::string cmd =
      "cd / && tar cf - --exclude=test --exclude=__pycache__ --exclude=idlelib "
      "--exclude=tkinter --exclude=ensurepip usr/lib/python3.11 | (cd '" +
      root.path().string() + "' && tar xf -)";
  return std::system(cmd.c_str()) == 0;
}

inline bool kvm_usable() { return probe_kvm_host().usable; }

#define SKIP_WITHOUT_KVM()                                                            \
  do {                                                                                \
    if (!::spectrum::vm::testing::kvm_usable())                                       \
      GTEST_SKIP() << "/dev/kvm absent: " << ::spectrum::vm::probe_kvm_host().reason; \
  } while (0)

}  // namespace spectrum::vm::testing
