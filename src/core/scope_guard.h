// Runs a clean-up on every path out of a scope, unless dismissed: the error paths of a launch read
// as a sequence of declarations instead of a clean-up call before each return.
#pragma once

#include <utility>

namespace spectrum {

template <class F>
class ScopeGuard {
 public:
  explicit ScopeGuard(F f) : f_(std::move(f)) {}
  ScopeGuard(const ScopeGuard&) = delete;
  ScopeGuard& operator=(const ScopeGuard&) = delete;
  ~ScopeGuard() {
    if (armed_) f_();
  }
  void dismiss() { armed_ = false; }

 private:
  F f_;
  bool armed_ = true;
};

}  // namespace spectrum
