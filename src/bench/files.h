// Small file helpers for the bench and advise, on POSIX calls: std::filesystem would pull the
// locale machinery into spectrum's start (docs/architecture.md "Start-up cost").
#pragma once

#include <string>

#include "core/error.h"

namespace spectrum::bench {

// A private temporary directory, removed with everything in it by the destructor.
class TempDir {
 public:
  static Result<TempDir> make(const std::string& prefix);
  TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  TempDir& operator=(TempDir&&) = delete;
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

Result<std::string> read_text(const std::string& path);
Result<void> write_text(const std::string& path, const std::string& text);
// FNV-1a, 64 bits, as 16 hex digits: enough to tell outputs apart, not a security measure.
std::string fnv1a_hex(const std::string& data);

bool is_regular_file(const std::string& path);
bool is_directory(const std::string& path);
Result<void> make_directories(const std::string& path);
Result<void> copy_file(const std::string& from, const std::string& to, unsigned mode);
// Removes a tree without following symbolic links; errors are ignored (best effort cleanup).
void remove_tree(const std::string& path);
std::string base_name(const std::string& path);
std::string dir_name(const std::string& path);
// The directory of the running executable ("" when /proc is not mounted).
std::string self_executable();

}  // namespace spectrum::bench
