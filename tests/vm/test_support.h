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

inline bool kvm_usable() { return probe_kvm_host().usable; }

#define SKIP_WITHOUT_KVM()                                                            \
  do {                                                                                \
    if (!::spectrum::vm::testing::kvm_usable())                                       \
      GTEST_SKIP() << "/dev/kvm absent: " << ::spectrum::vm::probe_kvm_host().reason; \
  } while (0)

}  // namespace spectrum::vm::testing
