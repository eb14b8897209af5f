// The runc-compatible command line: global flags, then one verb with its own flags. Each verb is a
// function over parsed options; errors are printed as one line (and logged as JSON for containerd's
// shim when --log-format json) and exit with runc's status 1.
#include "container/runc_cli.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "container/cgroup_update.h"
#include "container/default_config.h"
#include "container/guest_exec.h"
#include "container/handler.h"
#include "container/launcher.h"
#include "container/oci_config.h"
#include "container/sealed_exe.h"
#include "container/state.h"
#include "container/try.h"
#include "core/fd.h"
#include "core/parse.h"
#include "core/stale_cgroups.h"
#include "core/supervisor.h"
#include "vm/exec_protocol.h"

namespace spectrum::container {

bool is_runc_verb(const char* word) {
  static const char* const verbs[] = {"create",   "start", "state", "kill",   "delete", "exec",   "ps",
                                      "features", "spec",  "pause", "resume", "list",   "update", "events"};
  for (const char* verb : verbs)
    if (std::strcmp(word, verb) == 0) return true;
  return false;
}
bool is_runc_global_flag(const char* word) {
  static const char* const flags[] = {"--root",  "--log",      "--log-format", "--systemd-cgroup",
                                      "--debug", "--rootless", "--criu"};
  for (const char* flag : flags) {
    std::size_t n = std::strlen(flag);
    if (std::strncmp(word, flag, n) == 0 && (word[n] == 0 || word[n] == '=')) return true;
  }
  return false;
}

namespace {

constexpr int kRuncFailure = 1;

struct Globals {
  std::string root = "/run/spectrum";
  std::string log_path;
  bool log_json = false;
  std::optional<Handler> by_binary;  // spectrum-wasm, spectrum-vm, spectrum-sandbox
  HandlerSet handlers;
};

// A verb's arguments: flags (with or without a value) and positional words.
class Args {
 public:
  Args(std::vector<std::string> words, std::vector<std::string_view> value_flags,
       std::vector<std::string_view> bool_flags)
      : value_flags_(std::move(value_flags)), bool_flags_(std::move(bool_flags)) {
    words_ = std::move(words);
  }

  Result<void> parse() {
    bool positional_only = false;
    for (std::size_t i = 0; i < words_.size(); ++i) {
      const std::string& w = words_[i];
      if (positional_only || w.size() < 2 || w[0] != '-' || w == "-") {
        // After the first positional (the id), everything belongs to the command (exec ID CMD...).
        positional_.push_back(w);
        if (!positional_.empty()) positional_only = true;
        continue;
      }
      if (w == "--") {
        positional_only = true;
        continue;
      }
      std::string name = w, value;
      bool has_value = false;
      if (auto eq = w.find('='); eq != std::string::npos) {
        name = w.substr(0, eq);
        value = w.substr(eq + 1);
        has_value = true;
      }
      std::string canonical = name.starts_with("--") ? name.substr(2) : name.substr(1);
      bool known = false;
      for (std::string_view f : value_flags_)
        if (flag_matches(f, canonical)) {
          if (!has_value) {
            if (i + 1 >= words_.size()) return fail("flag " + name + " needs a value");
            value = words_[++i];
          }
          values_[std::string(primary(f))].push_back(value);
          known = true;
          break;
        }
      if (!known)
        for (std::string_view f : bool_flags_)
          if (flag_matches(f, canonical)) {
            values_[std::string(primary(f))].push_back(has_value ? value : "true");
            known = true;
            break;
          }
      if (!known) return fail("unknown flag " + name);
    }
    return {};
  }

  std::string value(std::string_view name, std::string fallback = {}) const {
    auto it = values_.find(std::string(name));
    return it == values_.end() ? fallback : it->second.back();
  }
  std::vector<std::string> values(std::string_view name) const {
    auto it = values_.find(std::string(name));
    return it == values_.end() ? std::vector<std::string>{} : it->second;
  }
  bool flag(std::string_view name) const {
    auto v = value(name);
    return !v.empty() && v != "false";
  }
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  // Flag specs are "long|s": long name and optional short alias.
  static std::string_view primary(std::string_view spec) { return spec.substr(0, spec.find('|')); }
  static bool flag_matches(std::string_view spec, std::string_view name) {
    std::size_t bar = spec.find('|');
    if (spec.substr(0, bar) == name) return true;
    return bar != std::string_view::npos && spec.substr(bar + 1) == name;
  }
  std::vector<std::string> words_;
  std::vector<std::string_view> value_flags_, bool_flags_;
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_;
};

Result<std::string> single_id(const Args& args, std::string_view verb) {
  if (args.positional().empty()) return fail(std::string(verb) + ": missing the container id");
  if (args.positional().size() > 1 && verb != "kill" && verb != "exec")
    return fail(std::string(verb) + ": unexpected argument '" + args.positional()[1] + "'");
  SPECTRUM_TRY(StateStore::check_id(args.positional()[0]));
  return args.positional()[0];
}

std::string absolute(const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  char cwd[PATH_MAX];
  if (!::getcwd(cwd, sizeof cwd)) return path;
  return std::string(cwd) + "/" + path;
}

// --preserve-fds N: a count, strictly (atoi would take "3x" as 3 and "x" as 0).
Result<int> parse_fd_count(const std::string& text) {
  if (text.empty() || text.size() > 4 || text.find_first_not_of("0123456789") != std::string::npos)
    return fail("--preserve-fds: expected a count of descriptors, found '" + text + "'");
  int n = std::atoi(text.c_str());
  if (n > 1024) return fail("--preserve-fds: " + text + " is more than 1024");
  return n;
}

// exec -u UID[:GID], numeric as runc takes it.
Result<std::pair<std::uint32_t, std::optional<std::uint32_t>>> parse_user(const std::string& text) {
  auto number = [&](const std::string& part) -> Result<std::uint32_t> {
    if (part.empty() || part.size() > 10 || part.find_first_not_of("0123456789") != std::string::npos)
      return fail("--user: expected UID[:GID] in numbers, found '" + text + "'");
    unsigned long long v = std::strtoull(part.c_str(), nullptr, 10);
    if (v > 0xfffffffeULL) return fail("--user: " + part + " is out of range");
    return static_cast<std::uint32_t>(v);
  };
  std::size_t colon = text.find(':');
  std::uint32_t uid = SPECTRUM_TRY(number(text.substr(0, colon)));
  if (colon == std::string::npos) return std::pair{uid, std::optional<std::uint32_t>()};
  std::uint32_t gid = SPECTRUM_TRY(number(text.substr(colon + 1)));
  return std::pair{uid, std::optional<std::uint32_t>(gid)};
}

// A number (the whole text, 1..64: what kill(2) takes) or a name with or without "SIG".
Result<int> parse_signal(const std::string& text) {
  if (!text.empty() &&
      (std::isdigit(static_cast<unsigned char>(text[0])) || text[0] == '-' || text[0] == '+')) {
    if (text.size() > 2 ||
        !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return fail("invalid signal '" + text + "' (a number from 1 to 64 or a name)");
    int n = std::stoi(text);
    if (n <= 0 || n > 64) return fail("invalid signal '" + text + "' (a number from 1 to 64 or a name)");
    return n;
  }
  std::string name = text.starts_with("SIG") ? text.substr(3) : text;
  for (int n = 1; n < NSIG; ++n) {
    const char* abbrev = sigabbrev_np(n);
    if (abbrev && name == abbrev) return n;
  }
  return fail("unknown signal '" + text + "'");
}

std::string state_json_for_hooks(const ContainerState& s, std::string_view status) {
  nlohmann::json j = {
      {"ociVersion", "1.1.0"}, {"id", s.id}, {"status", status}, {"pid", s.pid}, {"bundle", s.bundle}};
  if (!s.annotations.empty()) j["annotations"] = s.annotations;
  return j.dump();
}

Result<Config> load_bundle_config(const std::string& bundle) {
  auto text = read_file(bundle + "/config.json");
  if (!text)
    return fail("config.json: cannot read " + bundle +
                "/config.json: " + std::strerror(text.error().sys_errno()));
  return parse_config(*text, bundle);
}

// v1 hierarchies a container joins: memory, pids and cpuacct for accounting and the clients'
// metrics, freezer for pause and kill-all; cpu and cpuset only when limited (each hierarchy costs a
// mkdir, an rmdir and, for cpuset, copying the parent's cpus and mems).
std::vector<std::string> runtime_v1_controllers(const Config& config) {
  std::vector<std::string> controllers = {"memory", "pids", "cpuacct", "freezer"};
  if (config.resources.cpu_shares || config.resources.cpu_quota_us) controllers.push_back("cpu");
  if (config.resources.cpuset_cpus || config.resources.cpuset_mems) controllers.push_back("cpuset");
  return controllers;
}

std::string cgroup_path_for(const Config& config, const std::string& id) {
  std::string path = config.cgroups_path.empty() ? "spectrum/" + id : config.cgroups_path;
  while (path.starts_with('/')) path.erase(0, 1);
  return path;
}

// ---- verbs ------------------------------------------------------------------------------------

struct CreateRequest {
  std::string id, bundle, pid_file, console_socket;
  int preserve_fds = 0;
  bool new_keyring = true;
  bool with_fifo = true;  // false for `run`: no start phase
};

Result<ContainerState> create_container(const Globals& g, const CreateRequest& r, Config& config_out) {
  StateStore store(g.root);
  SPECTRUM_TRY(StateStore::check_id(r.id));
  char real_bundle[PATH_MAX];
  if (!::realpath((r.bundle.empty() ? "." : r.bundle).c_str(), real_bundle))
    return fail_errno("--bundle " + r.bundle);
  std::string bundle = real_bundle;
  Config config = SPECTRUM_TRY(load_bundle_config(bundle));
  struct stat st {};
  if (::stat(config.root_path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return fail("config.json: root.path: " + config.root_path + " is not a directory");
  // The tier that runs it, decided before anything is made: an unavailable one fails here.
  Handler handler = SPECTRUM_TRY(select_handler(config.annotations, g.by_binary));
  const InPlaceRun* in_place = SPECTRUM_TRY(in_place_for(handler, config, g.handlers));
  if (in_place && in_place->prepare) SPECTRUM_TRY(in_place->prepare(config));
  SPECTRUM_TRY(store.reserve(r.id));
  ContainerState state;
  state.id = r.id;
  state.bundle = bundle;
  state.created = now_rfc3339();
  state.annotations = config.annotations;
  state.handler = std::string(handler_name(handler));
  for (const Hook& h : config.hooks.poststop)
    state.poststop.push_back(
        {{"path", h.path}, {"args", h.args}, {"env", h.env}, {"timeout", h.timeout_seconds.value_or(0)}});
  auto undo = [&](Error e) -> std::unexpected<Error> {
    (void)store.remove(r.id);
    return std::unexpected(std::move(e));
  };
  if (r.with_fifo && ::mkfifo(store.fifo_of(r.id).c_str(), 0600) != 0)
    return undo(Error::from_errno("exec fifo"));
  // A vm or sandbox container's exec runs in its sandbox kernel: the monitor (the init) takes
  // requests on this socket, found through the environment it inherits (never the guest's).
  UniqueFd guest_exec;
  if (handler == Handler::vm || handler == Handler::sandbox) {
    auto listener = listen_for_guest_exec(store.dir_of(r.id));
    if (!listener) return undo(listener.error());
    guest_exec = std::move(*listener);
    ::setenv(vm::exec_protocol::kListenerEnv, std::to_string(guest_exec.get()).c_str(), 1);
  }
  LaunchOptions options;
  options.exec_fifo = r.with_fifo ? store.fifo_of(r.id) : "";
  options.console_socket = absolute(r.console_socket);
  options.seccomp_cache = g.root + "/seccomp";
  options.cgroup_path = cgroup_path_for(config, r.id);
  options.v1_controllers = runtime_v1_controllers(config);
  options.preserve_fds = r.preserve_fds;
  options.new_session_keyring = r.new_keyring;
  options.hook_state = state_json_for_hooks(state, "creating");
  options.in_place = in_place;
  options.on_runtime_hooks = [&](pid_t pid) -> Result<void> {
    ContainerState with_pid = state;
    with_pid.pid = pid;
    std::string json = state_json_for_hooks(with_pid, "creating");
    for (const Hook& h : config.hooks.prestart) SPECTRUM_TRY(run_hook(h, json, "prestart"));
    for (const Hook& h : config.hooks.create_runtime) SPECTRUM_TRY(run_hook(h, json, "createRuntime"));
    return {};
  };
  auto launched = launch_container(config, options);
  ::unsetenv(vm::exec_protocol::kListenerEnv);
  guest_exec.reset();  // the monitor has its own
  if (!launched) return undo(launched.error());
  launched->cgroup->share_parents();
  launched->cgroup->release();
  state.pid = launched->pid;
  state.pid_start_time = process_start_time(launched->pid);
  state.cgroups = launched->cgroup->paths();
  auto cleanup_launched = [&](Error e) {
    ::kill(launched->pid, SIGKILL);
    (void)launched->cgroup->destroy();
    return undo(std::move(e));
  };
  if (auto saved = store.save(state); !saved) return cleanup_launched(saved.error());
  if (!r.pid_file.empty())
    if (auto w = write_new_file(absolute(r.pid_file), std::to_string(launched->pid)); !w)
      return cleanup_launched(w.error().wrap("--pid-file"));
  config_out = std::move(config);
  return state;
}

Result<void> run_poststart(const ContainerState& state) {
  auto config = load_bundle_config(state.bundle);
  if (!config) return {};  // the bundle may be gone; nothing to run then
  std::string json = state_json_for_hooks(state, "running");
  for (const Hook& h : config->hooks.poststart) SPECTRUM_TRY(run_hook(h, json, "poststart"));
  return {};
}

Result<void> start_container(const StateStore& store, const std::string& id) {
  ContainerState state = SPECTRUM_TRY(store.load(id));
  Status status = store.status_of(state);
  if (status != Status::created)
    return fail("cannot start a container that is " + std::string(to_string(status)));
  UniqueFd fifo(::open(store.fifo_of(id).c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fifo) return fail_errno("open the exec fifo");
  // Opening the read end lets the init's open for writing complete; its byte says it got it.
  for (;;) {
    pollfd pfd{fifo.get(), POLLIN, 0};
    int ready = ::poll(&pfd, 1, 100);
    if (ready < 0 && errno != EINTR) return fail_errno("poll the exec fifo");
    if (ready > 0) {
      char byte;
      ssize_t n = ::read(fifo.get(), &byte, 1);
      if (n == 1) break;
      if (n < 0 && errno == EAGAIN) continue;
    }
    if (process_start_time(state.pid) != state.pid_start_time)
      return fail("the container init is gone; it cannot start");
  }
  ::unlink(store.fifo_of(id).c_str());
  SPECTRUM_TRY(run_poststart(state));
  return {};
}

Result<void> destroy_container(const StateStore& store, const ContainerState& state) {
  if (store.status_of(state) != Status::stopped) {
    (void)Cgroup::adopt(state.cgroups).set_frozen(false);
    ::kill(state.pid, SIGKILL);
  }
  SPECTRUM_TRY(Cgroup::adopt(state.cgroups).destroy());
  // poststop failures are reported but do not stop the removal (runtime-spec).
  std::string json = state_json_for_hooks(state, "stopped");
  Result<void> hooks_result;
  for (const auto& h : state.poststop) {
    Hook hook{h.at("path").get<std::string>(), h.at("args").get<std::vector<std::string>>(),
              h.at("env").get<std::vector<std::string>>(), std::nullopt};
    if (auto t = json_integer<int>(h.at("timeout")); t && *t > 0) hook.timeout_seconds = *t;
    if (auto r = run_hook(hook, json, "poststop"); !r && hooks_result) hooks_result = r;
  }
  SPECTRUM_TRY(store.remove(state.id));
  return hooks_result;
}

// The flags `create` and `run` share.
Result<CreateRequest> create_request(const Args& args, std::string_view verb) {
  CreateRequest r;
  r.id = SPECTRUM_TRY(single_id(args, verb));
  r.bundle = args.value("bundle", ".");
  r.pid_file = args.value("pid-file");
  r.console_socket = args.value("console-socket");
  r.preserve_fds = SPECTRUM_TRY(parse_fd_count(args.value("preserve-fds", "0")));
  r.new_keyring = !args.flag("no-new-keyring");
  return r;
}

Result<int> verb_create(const Globals& g, Args& args) {
  CreateRequest r = SPECTRUM_TRY(create_request(args, "create"));
  Config config;
  SPECTRUM_TRY(create_container(g, r, config));
  return 0;
}

Result<int> verb_run(const Globals& g, Args& args) {
  CreateRequest r = SPECTRUM_TRY(create_request(args, "run"));
  bool detach = args.flag("detach");
  StateStore store(g.root);
  Config config;
  // No start phase to wait for: the init execs as soon as it is ready (no exec fifo), which also
  // lets it share our memory while it sets up.
  r.with_fifo = false;
  // Received through a signalfd from before the launch (a signal meanwhile is not lost); the init
  // and the workload start with none blocked.
  std::optional<SignalGuard> signals;
  if (!detach) signals.emplace();
  ContainerState state = SPECTRUM_TRY(create_container(g, r, config));
  std::string json = state_json_for_hooks(state, "running");
  for (const Hook& h : config.hooks.poststart)
    if (auto hooked = run_hook(h, json, "poststart"); !hooked) {
      (void)destroy_container(store, state);
      return std::unexpected(hooked.error());
    }
  release_sealed_view();
  if (detach) return 0;
  // In the foreground, as runc: SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to the runtime go to the
  // container's process (core/supervisor.h: the first is forwarded, a second ends every process of
  // the container), which is then deleted like any that exits.
  Child init(state.pid, UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, state.pid, 0))));
  if (!init.pidfd) {
    init.release();
    (void)destroy_container(store, state);
    return fail_errno("pidfd_open of the container's process");
  }
  Supervision supervision;
  supervision.child = &init;
  supervision.signals = &*signals;
  supervision.kill_tree = [&] { Cgroup::adopt(state.cgroups).signal_all(SIGKILL); };
  auto exit = supervise(supervision);
  SPECTRUM_TRY(destroy_container(store, state));
  if (!exit) return std::unexpected(exit.error());
  return exit->status.signaled ? 128 + exit->status.code : exit->status.code;
}

Result<int> verb_start(const Globals& g, Args& args) {
  std::string id = SPECTRUM_TRY(single_id(args, "start"));
  SPECTRUM_TRY(start_container(StateStore(g.root), id));
  return 0;
}

Result<int> verb_state(const Globals& g, Args& args) {
  std::string id = SPECTRUM_TRY(single_id(args, "state"));
  StateStore store(g.root);
  ContainerState state = SPECTRUM_TRY(store.load(id));
  std::puts(store.oci_state(state).dump(2).c_str());
  return 0;
}

Result<int> verb_kill(const Globals& g, Args& args) {
  std::string id = SPECTRUM_TRY(single_id(args, "kill"));
  if (args.positional().size() > 2) return fail("kill: unexpected argument '" + args.positional()[2] + "'");
  int signal = SPECTRUM_TRY(parse_signal(args.positional().size() > 1 ? args.positional()[1] : "SIGTERM"));
  StateStore store(g.root);
  ContainerState state = SPECTRUM_TRY(store.load(id));
  Status status = store.status_of(state);
  if (status == Status::stopped) return fail("container not running");
  if (args.flag("all")) {
    Cgroup group = Cgroup::adopt(state.cgroups);
    group.signal_all(signal);
    if (status == Status::paused && signal == SIGKILL) (void)group.set_frozen(false);
    return 0;
  }
  if (::kill(state.pid, signal) != 0) return fail_errno("kill " + std::to_string(state.pid));
  return 0;
}

Result<int> verb_delete(const Globals& g, Args& args) {
  std::string id = SPECTRUM_TRY(single_id(args, "delete"));
  bool force = args.flag("force");
  StateStore store(g.root);
  auto state = store.load(id);
  if (!state) {
    // A crash between reserving the id and saving the state leaves an empty folder: force clears it.
    if (force) {
      // So does a damaged state file, while the container may still run: its default group ends.
      if (auto layout = CgroupLayout::detect()) end_cgroup_everywhere(*layout, "spectrum/" + id);
      // A group of its own (cgroupsPath) is named in cgroups.json, which outlives a bad state.json.
      if (auto cgroups = store.load_cgroups(id)) (void)Cgroup::adopt(*cgroups).destroy();
      (void)store.remove(id);
      return 0;
    }
    return std::unexpected(state.error());
  }
  Status status = store.status_of(*state);
  if (!force && (status == Status::running || status == Status::paused))
    return fail("cannot delete container " + id + " that is not stopped: " + std::string(to_string(status)));
  SPECTRUM_TRY(destroy_container(store, *state));
  return 0;
}

Result<int> verb_pause(const Globals& g, Args& args, bool pause) {
  std::string id = SPECTRUM_TRY(single_id(args, pause ? "pause" : "resume"));
  StateStore store(g.root);
  ContainerState state = SPECTRUM_TRY(store.load(id));
  Status status = store.status_of(state);
  if (pause && status != Status::running) return fail("container not running");
  if (!pause && status != Status::paused) return fail("container not paused");
  SPECTRUM_TRY(Cgroup::adopt(state.cgroups).set_frozen(pause));
  return 0;
}

Result<int> verb_ps(const Globals& g, Args& args) {
  std::string id = SPECTRUM_TRY(single_id(args, "ps"));
  StateStore store(g.root);
  ContainerState state = SPECTRUM_TRY(store.load(id));
  std::vector<pid_t> pids = Cgroup::adopt(state.cgroups).processes().value_or(std::vector<pid_t>{});
  if (args.value("format", "table") == "json") {
    std::puts(nlohmann::json(pids).dump().c_str());
    return 0;
  }
  std::puts("PID\tCMD");
  for (pid_t pid : pids) {
    auto cmd = read_file("/proc/" + std::to_string(pid) + "/comm");
    std::printf("%d\t%s", pid, cmd ? cmd->c_str() : "?\n");
  }
  return 0;
}

Result<int> verb_list(const Globals& g, Args& args) {
  StateStore store(g.root);
  bool json = args.value("format", "table") == "json";
  nlohmann::json all = nlohmann::json::array();
  if (!json) std::puts("ID\tPID\tSTATUS\tBUNDLE");
  for (const std::string& id : store.list()) {
    auto state = store.load(id);
    if (!state) continue;
    nlohmann::json s = store.oci_state(*state);
    if (json)
      all.push_back(s);
    else
      std::printf("%s\t%d\t%s\t%s\n", id.c_str(), s["pid"].get<int>(), s["status"].get<std::string>().c_str(),
                  state->bundle.c_str());
  }
  if (json) std::puts(all.dump().c_str());
  return 0;
}

Result<int> verb_exec(const Globals& g, Args& args) {
  std::string id = SPECTRUM_TRY(single_id(args, "exec"));
  StateStore store(g.root);
  ContainerState state = SPECTRUM_TRY(store.load(id));
  Status status = store.status_of(state);
  if (status != Status::running && status != Status::created)
    return fail("cannot exec in a " + std::string(to_string(status)) + " container");
  Config config = SPECTRUM_TRY(load_bundle_config(state.bundle));
  // A state written before the handler was recorded: the handler its annotations or this binary's
  // name choose, as create chose it.
  Handler handler = state.handler == "vm" ? Handler::vm
                    : state.handler == "sandbox"
                        ? Handler::sandbox
                        : SPECTRUM_TRY(select_handler(state.annotations, g.by_binary));
  const bool in_guest = handler == Handler::vm || handler == Handler::sandbox;
  ExecRequest request;
  request.init_pid = state.pid;
  request.config = &config;
  request.console_socket = absolute(args.value("console-socket"));
  request.seccomp_cache = g.root + "/seccomp";
  request.cgroup_dirs = state.cgroups;
  if (std::string process_path = args.value("process"); !process_path.empty()) {
    auto text = read_file(process_path);
    if (!text) return std::unexpected(text.error().wrap("--process"));
    request.process = SPECTRUM_TRY(parse_process(*text, process_path));
  } else {
    if (args.positional().size() < 2) return fail("exec: missing the command (or --process)");
    request.process = config.process;
    request.process.args.assign(args.positional().begin() + 1, args.positional().end());
  }
  // Every flag parsed is honoured, over the process file too (podman sends --tty with one).
  if (args.flag("tty")) request.process.terminal = true;
  if (std::string cwd = args.value("cwd"); !cwd.empty()) {
    if (!cwd.starts_with('/')) return fail("--cwd: must be an absolute path, found '" + cwd + "'");
    request.process.cwd = cwd;
  }
  for (const std::string& e : args.values("env")) {
    if (e.find('=') == std::string::npos || e.front() == '=')
      return fail("--env: expected KEY=VALUE, found '" + e + "'");
    request.process.env.push_back(e);
  }
  if (std::string user = args.value("user"); !user.empty()) {
    auto [uid, gid] = SPECTRUM_TRY(parse_user(user));
    request.process.user.uid = uid;
    if (gid) request.process.user.gid = *gid;
  }
  if (args.flag("no-new-privs")) request.process.no_new_privileges = true;
  request.preserve_fds = SPECTRUM_TRY(parse_fd_count(args.value("preserve-fds", "0")));
  bool detach = args.flag("detach");
  if (in_guest) {
    if (status != Status::running)
      return fail("cannot exec in a created " + state.handler + " container: start it");
    return exec_in_guest(store.dir_of(id), id, std::string(handler_name(handler)), request.process, detach,
                         absolute(args.value("pid-file")), request.console_socket);
  }
  if (!detach) ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  pid_t pid = SPECTRUM_TRY(exec_in_container(request));
  if (std::string pid_file = args.value("pid-file"); !pid_file.empty())
    SPECTRUM_TRY(write_new_file(absolute(pid_file), std::to_string(pid)));
  release_sealed_view();
  if (detach) return 0;
  int wait_status = 0;
  while (::waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {
  }
  return WIFSIGNALED(wait_status) ? 128 + WTERMSIG(wait_status) : WEXITSTATUS(wait_status);
}

// runc's update flags: each sets one field of the resources (after -r, which gives them all).
Result<int> verb_update(const Globals& g, Args& args) {
  std::string id = SPECTRUM_TRY(single_id(args, "update"));
  StateStore store(g.root);
  ContainerState state = SPECTRUM_TRY(store.load(id));
  if (store.status_of(state) == Status::stopped) return fail("update: container " + id + " is not running");
  CgroupResources resources;
  if (std::string source = args.value("resources"); !source.empty()) {
    auto text = source == "-" ? read_all(0) : read_file(source);
    if (!text) return std::unexpected(text.error().wrap("--resources " + source));
    resources = SPECTRUM_TRY(parse_resources(*text, source == "-" ? "resources (stdin)" : source));
  }
  auto size_flag = [&](const char* flag, auto& field) -> Result<void> {
    std::string text = args.value(flag);
    if (text.empty()) return {};
    if (text == "-1") {
      field = -1;
      return {};
    }
    auto bytes = parse_size(text);
    if (!bytes) return fail(std::string("--") + flag + ": " + bytes.error().message());
    field = *bytes;
    return {};
  };
  auto number_flag = [&](const char* flag, auto& field) -> Result<void> {
    std::string text = args.value(flag);
    if (text.empty()) return {};
    char* end = nullptr;
    errno = 0;
    long long value = std::strtoll(text.c_str(), &end, 10);
    if (errno != 0 || end == text.c_str() || *end != 0)
      return fail(std::string("--") + flag + ": not a number: '" + text + "'");
    field = value;
    return {};
  };
  std::optional<std::int64_t> memory, swap, quota, period, shares, pids;
  SPECTRUM_TRY(size_flag("memory", memory));
  SPECTRUM_TRY(size_flag("memory-swap", swap));
  SPECTRUM_TRY(number_flag("cpu-quota", quota));
  SPECTRUM_TRY(number_flag("cpu-period", period));
  SPECTRUM_TRY(number_flag("cpu-shares", shares));
  SPECTRUM_TRY(number_flag("pids-limit", pids));
  if (memory) {
    if (*memory <= 0) return fail("--memory: must be positive");
    resources.memory_limit = static_cast<std::uint64_t>(*memory);
  }
  if (swap) resources.memory_swap_limit = *swap;
  if (quota) {
    if (*quota == 0 || *quota < -1) return fail("--cpu-quota: must be positive or -1");
    // -1 lifts the limit: the quota is left out and apply() writes "max" (v2) or -1 (v1).
    resources.cpu_quota_us =
        *quota > 0 ? std::optional<std::uint64_t>(static_cast<std::uint64_t>(*quota)) : std::nullopt;
    if (!period && !resources.cpu_period_us) resources.cpu_period_us = 100000;
  }
  if (period) {
    if (*period <= 0) return fail("--cpu-period: must be positive");
    resources.cpu_period_us = static_cast<std::uint64_t>(*period);
  }
  if (shares) {
    if (*shares <= 0) return fail("--cpu-shares: must be positive");
    resources.cpu_shares = static_cast<std::uint64_t>(*shares);
  }
  if (pids) resources.pids_limit = *pids;
  if (std::string cpus = args.value("cpuset-cpus"); !cpus.empty())
    resources.cpuset_cpus = std::string(SPECTRUM_TRY(parse_cpuset(cpus)));
  if (std::string mems = args.value("cpuset-mems"); !mems.empty())
    resources.cpuset_mems = std::string(SPECTRUM_TRY(parse_cpuset(mems)));
  for (const char* unsupported : {"memory-reservation", "kernel-memory", "kernel-memory-tcp", "blkio-weight",
                                  "cpu-rt-period", "cpu-rt-runtime", "l3-cache-schema", "mem-bw-schema"})
    if (!args.value(unsupported).empty())
      return fail(std::string("update: --") + unsupported + " is not supported by spectrum");
  static const Result<CgroupLayout> layout = CgroupLayout::detect();
  if (!layout) return std::unexpected(layout.error());
  auto updated = update_resources(*layout, state.cgroups, resources);
  // New hierarchies joined are recorded even when a later write failed, so that delete removes them.
  SPECTRUM_TRY(store.save(state));
  if (!updated) return std::unexpected(updated.error());
  return 0;
}

// `events --stats`: one stats record, as runc prints it; without --stats, one every --interval
// until the container stops.
Result<int> verb_events(const Globals& g, Args& args) {
  std::string id = SPECTRUM_TRY(single_id(args, "events"));
  StateStore store(g.root);
  ContainerState state = SPECTRUM_TRY(store.load(id));
  auto print_stats = [&] {
    nlohmann::json event = {{"type", "stats"}, {"id", id}, {"data", container_stats(state.cgroups)}};
    std::puts(event.dump().c_str());
    std::fflush(stdout);
  };
  if (store.status_of(state) == Status::stopped) return fail("events: container " + id + " is not running");
  if (args.flag("stats")) {
    print_stats();
    return 0;
  }
  auto interval = parse_duration(args.value("interval", "5s"));
  if (!interval) return fail("--interval: " + interval.error().message());
  while (store.status_of(state) != Status::stopped) {
    print_stats();
    std::this_thread::sleep_for(*interval);
  }
  return 0;
}

Result<int> verb_features(const Globals& g, Args&) {
  nlohmann::json namespaces = {"cgroup", "ipc", "mount", "network", "pid", "user", "uts"};
  nlohmann::json features = {
      {"ociVersionMin", "1.0.0"},
      {"ociVersionMax", "1.1.0"},
      {"hooks", {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}},
      {"mountOptions", supported_mount_options()},
      {"linux",
       {{"namespaces", namespaces},
        {"capabilities", capability_names()},
        {"cgroup", {{"v1", true}, {"v2", true}, {"systemd", false}, {"systemdUser", false}}},
        {"seccomp",
         {{"enabled", true},
          {"actions",
           {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
            "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"}},
          {"operators",
           {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ",
            "SCMP_CMP_NE"}},
          {"archs", {"SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32"}}}},
        {"apparmor", {{"enabled", false}}},
        {"selinux", {{"enabled", false}}}}},
      {"annotations", {{"org.opencontainers.runc.version", "spectrum-0.1.0"}}}};
  features["spectrum"] = handler_features(g.handlers);
  std::puts(features.dump(2).c_str());
  return 0;
}

Result<int> verb_spec(const Globals&, Args& args) {
  std::string bundle = args.value("bundle", ".");
  std::string path = bundle + "/config.json";
  if (::access(path.c_str(), F_OK) == 0) return fail("File " + path + " exists. Remove it first");
  DefaultSpecOptions options;
  options.with_seccomp = args.flag("seccomp");
  options.terminal = !args.flag("no-terminal");
  SPECTRUM_TRY(write_new_file(path, default_spec(options).dump(2) + "\n"));
  return 0;
}

struct VerbRow {
  const char* name;
  std::vector<std::string_view> value_flags;
  std::vector<std::string_view> bool_flags;
  std::function<Result<int>(const Globals&, Args&)> run;
};

const std::vector<VerbRow>& verb_table() {
  static const std::vector<VerbRow> table = {
      {"create",
       {"bundle|b", "pid-file", "console-socket", "preserve-fds"},
       {"no-pivot", "no-new-keyring"},
       verb_create},
      {"run",
       {"bundle|b", "pid-file", "console-socket", "preserve-fds"},
       {"detach|d", "no-pivot", "no-new-keyring"},
       verb_run},
      {"start", {}, {}, verb_start},
      {"state", {}, {}, verb_state},
      {"kill", {}, {"all|a"}, verb_kill},
      {"delete", {}, {"force|f"}, verb_delete},
      {"exec",
       {"process|p", "pid-file", "console-socket", "cwd", "env|e", "user|u", "preserve-fds"},
       {"detach|d", "tty|t", "no-new-privs"},
       verb_exec},
      {"ps", {"format|f"}, {}, verb_ps},
      {"list", {"format|f"}, {"quiet|q"}, verb_list},
      {"pause", {}, {}, [](const Globals& g, Args& a) { return verb_pause(g, a, true); }},
      {"resume", {}, {}, [](const Globals& g, Args& a) { return verb_pause(g, a, false); }},
      {"features", {}, {}, verb_features},
      {"spec", {"bundle|b"}, {"rootless", "seccomp", "no-terminal"}, verb_spec},
      {"update",
       {"resources|r", "memory", "memory-swap", "memory-reservation", "kernel-memory", "kernel-memory-tcp",
        "cpu-shares", "cpu-quota", "cpu-period", "cpu-rt-period", "cpu-rt-runtime", "cpuset-cpus",
        "cpuset-mems", "pids-limit", "blkio-weight", "l3-cache-schema", "mem-bw-schema"},
       {},
       verb_update},
      {"events", {"interval"}, {"stats"}, verb_events},
  };
  return table;
}

void report_error(const Globals& g, const std::string& message) {
  std::fprintf(stderr, "spectrum: error: %s\n", message.c_str());
  if (g.log_path.empty()) return;
  int fd = ::open(g.log_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return;
  std::string line =
      g.log_json
          ? nlohmann::json({{"level", "error"}, {"msg", message}, {"time", now_rfc3339()}}).dump() + "\n"
          : "level=error msg=\"" + message + "\"\n";
  (void)write_all(fd, line);
  ::close(fd);
}

}  // namespace

int runc_main(int argc, char** argv, const HandlerSet& handlers) {
  Globals g;
  g.handlers = handlers;
  g.by_binary = handler_of_binary(argv[0]);
  remember_command_line(argc, argv);
  // The global flags, up to the verb (the first word that is not a flag); the verb's own words
  // stay as they are for its row of the table.
  Args globals(
      std::vector<std::string>(argv + 1, argv + argc), {"root", "log", "log-format", "criu"},
      {"systemd-cgroup", "debug", "rootless"});  // accepted: without systemd, cgroupsPath is a plain path
  auto parsed_globals = globals.parse();
  g.root = globals.value("root", g.root);  // also after a parse error: it may be logged
  g.log_path = globals.value("log");
  g.log_json = globals.value("log-format") == "json";
  if (!parsed_globals) {
    report_error(g, parsed_globals.error().message());
    return kRuncFailure;
  }
  const std::vector<std::string>& words = globals.positional();
  if (words.empty()) {
    report_error(g,
                 "missing command (create, start, state, kill, delete, run, exec, ps, pause, resume, update, "
                 "events, features, spec)");
    return kRuncFailure;
  }
  const std::string& verb = words[0];
  // The verbs that put a process into a container never do it from a writable view of this
  // binary (CVE-2019-5736, container/sealed_exe.h).
  if (verb == "create" || verb == "run" || verb == "exec")
    if (auto sealed = ensure_sealed_runtime(argv); !sealed) {
      report_error(g, sealed.error().message());
      return kRuncFailure;
    }
  for (const VerbRow& row : verb_table()) {
    if (verb != row.name) continue;
    Args args(std::vector<std::string>(words.begin() + 1, words.end()), row.value_flags, row.bool_flags);
    if (auto parsed = args.parse(); !parsed) {
      report_error(g, verb + ": " + parsed.error().message());
      return kRuncFailure;
    }
    auto result = row.run(g, args);
    if (!result) {
      report_error(g, result.error().message());
      return kRuncFailure;
    }
    return *result;
  }
  report_error(g, "unknown command '" + verb + "'");
  return kRuncFailure;
}

}  // namespace spectrum::container
