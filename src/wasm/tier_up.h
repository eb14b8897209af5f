// Tier-up for --engine auto (docs/wasm.md): a module whose code is not in the cache starts in the
// interpreter; once the run has lasted a delay, spectrum-llvm compiles it into the cache in the
// background, and the run goes on in compiled code from the next call of one of its functions.
// Short runs never pay for a compile; long ones pay once, and later runs find the code cached.
#pragma once

#include <sys/resource.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "core/fd.h"
#include "wasm/engine.h"

namespace spectrum::wasm {

class TierUp {
 public:
  // The delay before compiling when nothing says otherwise: what compiling a module of this size
  // is expected to take (docs/wasm.md: measured, about 100 ms plus 28 us per byte). A run pays for
  // a compile only once it has run that long already, so that a run that ends meanwhile spends at
  // most twice the CPU time it needed (the compile competes for the CPU: on a 2-core machine an
  // interpreter slowed by a third beside it), and a long run switches after about twice it.
  static std::chrono::milliseconds default_delay(std::size_t module_bytes);
  // SPECTRUM_WASM_TIER_UP_MS (milliseconds, or "off"), else default_delay; nullopt for "off", an
  // error naming the variable for anything else.
  static Result<std::optional<std::chrono::milliseconds>> configured_delay(std::size_t module_bytes);

  // For `instance`, which `store` is about to run; nothing starts until begin(). nullptr where
  // there is nothing to do: the store's engine is not automatic, the instance runs compiled code
  // already, the store counts fuel (only the interpreter does), the module has no functions or
  // the compiler cannot take it, or there is no cache directory (begin() finds out whether it is
  // usable, and whether there is a compiler).
  static std::unique_ptr<TierUp> prepare(Store& store, Instance& instance);
  // Starts the compile in the background (from any thread, once the run has lasted the delay:
  // a short run never makes the thread); the run switches when it is done.
  void begin();
  // On the run's thread, once the run has ended: a compile still going is killed and reaped.
  // Idempotent; the destructor does it too.
  void end();
  ~TierUp() { end(); }
  // The compiler's CPU time (user, system), once end() returned: the run's, as the interpreter's
  // is. Zero when no compile started.
  const rusage& compiler_usage() const { return compiler_usage_; }
  TierUp(const TierUp&) = delete;
  TierUp& operator=(const TierUp&) = delete;

  // Whether the run switched to compiled code (read after the run).
  bool switched() const { return switched_; }

 private:
  TierUp(Store& store, Instance& instance, bool checked);
  void compile_in_background();

  Store& store_;
  Instance& instance_;
  const bool checked_;  // the bounds mode of the instance's memory (explicit checks, or guard pages)
  bool switched_ = false;
  rusage compiler_usage_{};  // written by the background thread, read after end() joined it
  UniqueFd stop_;            // an eventfd, readable once the run has ended
  std::mutex mutex_;
  bool ended_ = false;  // end() has begun: begin() starts nothing
  std::thread thread_;
};

}  // namespace spectrum::wasm
