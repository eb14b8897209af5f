#include "wasm/tier_up.h"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <string_view>

#include "wasm/body_reader.h"
#include "wasm/native.h"

namespace spectrum::wasm {

std::chrono::milliseconds TierUp::default_delay(std::size_t module_bytes) {
  return std::chrono::milliseconds(100 + module_bytes * 28 / 1000);
}

Result<std::optional<std::chrono::milliseconds>> TierUp::configured_delay(std::size_t module_bytes) {
  const char* env = std::getenv("SPECTRUM_WASM_TIER_UP_MS");
  if (!env || !*env) return default_delay(module_bytes);
  const std::string_view text(env);
  if (text == "off") return std::nullopt;
  unsigned ms = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
  if (ec != std::errc() || end != text.data() + text.size())
    return fail("SPECTRUM_WASM_TIER_UP_MS: \"" + std::string(text) +
                "\" is neither a number of milliseconds nor \"off\"");
  return std::chrono::milliseconds(ms);
}

std::unique_ptr<TierUp> TierUp::prepare(Store& store, Instance& instance) {
  const Store::Impl& S = store.impl();
  const ModuleData& m = instance.module().data();
  if (S.engine != Engine::automatic || S.cache_dir.empty() || instance.runs_compiled_code() || store.fuel() ||
      m.bodies.empty() || !unsupported_reason(m).empty())
    return nullptr;
  const auto& memories = instance.state().memories;
  const bool checked = !memories.empty() && !memories[0]->guarded;
  return std::unique_ptr<TierUp>(new TierUp(store, instance, checked));
}

TierUp::TierUp(Store& store, Instance& instance, bool checked)
    : store_(store), instance_(instance), checked_(checked), stop_(::eventfd(0, EFD_CLOEXEC)) {
  // Runs on the run's thread, between two instructions of the interpreter (Store::set_tier_up):
  // links the code the helper left in the cache, verified as any cached artifact is. Code that
  // does not load leaves the run interpreted.
  store_.set_tier_up([this] {
    if (attach_native(store_, instance_) && instance_.runs_compiled_code()) switched_ = true;
  });
}

void TierUp::begin() {
  std::lock_guard lock(mutex_);
  if (ended_ || thread_.joinable()) return;
  thread_ = std::thread([this] { compile_in_background(); });
}

void TierUp::end() {
  {
    std::lock_guard lock(mutex_);
    if (ended_) return;
    ended_ = true;
  }
  const std::uint64_t one = 1;
  (void)!::write(stop_.get(), &one, sizeof one);
  if (thread_.joinable()) thread_.join();
  store_.set_tier_up({});
}

void TierUp::compile_in_background() {
  const pollfd stop{stop_.get(), POLLIN, 0};
  // Checked here, on the background thread: a run shorter than the delay makes no system call.
  if (!safe_cache_dir(store_.impl().cache_dir)) return;
  std::string error;  // no compiler beside spectrum, or it cannot start: the run stays interpreted
  const pid_t pid =
      spawn_compiler(instance_.module().data().bytes, store_.impl().cache_dir, checked_, &error);
  if (pid < 0) return;
  const UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  bool stopped = !pidfd;  // without a pidfd (Linux < 5.3) the compile cannot be waited for here
  if (pidfd) {
    pollfd fds[2] = {stop, {pidfd.get(), POLLIN, 0}};
    int ready;
    while ((ready = ::poll(fds, 2, -1)) < 0 && errno == EINTR) {
    }
    stopped = ready < 0 || fds[0].revents != 0;
  }
  if (stopped) ::kill(pid, SIGKILL);
  int status = 0;
  while (::wait4(pid, &status, 0, &compiler_usage_) < 0 && errno == EINTR) {
  }
  if (!stopped && WIFEXITED(status) && WEXITSTATUS(status) == 0) store_.request_tier_up();
}

}  // namespace spectrum::wasm
