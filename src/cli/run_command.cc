// `spectrum run --tier T [limits] -- PROGRAM ARGS...`
//
// Options are parsed by glibc's getopt_long rather than CLI11: CLI11 pulls <iostream> and the
// locale machinery into every start (about 1 MiB of resident code), which is a third of the
// wasm tier's whole start-up budget; this command line is a flat list of flags, which getopt does well.
#include <getopt.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/tiers.h"
#include "core/parse.h"
#include "wasm/native.h"

namespace spectrum::cli {
namespace {

int report_error(const Error& error) {
  std::fprintf(stderr, "spectrum: error: %s\n", error.message().c_str());
  return error.exit_status();
}

// What the command line said, as text; turned into a Workload once every flag is read.
struct RunOptions {
  std::string keep_changes;  // the rootfs view's flags (core/rootfs_view.h)
  bool rootfs_writable = false;
  std::string tier, engine, memory, cpus, cpuset, pids, timeout, workdir, rootfs, net, stdin_spec,
      stdout_spec, stderr_spec;
  std::vector<std::string> env, mounts;
  bool json = false, verbose = false, clear_env = false, help = false;
};

enum class Kind { text, list, flag };
struct OptionSpec {
  const char* name;
  char short_name;  // 0: long form only
  Kind kind;
  const char* value_name;
  const char* help;
  std::string RunOptions::*text = nullptr;
  std::vector<std::string> RunOptions::*list = nullptr;
  bool RunOptions::*flag = nullptr;
};

// One table drives parsing and --help.
const OptionSpec kOptions[] = {
    {"tier", 0, Kind::text, "TIER", "native, wasm, container or vm (required)", &RunOptions::tier},
    {"engine", 0, Kind::text, "ENGINE", "wasm: interp, compiled or auto (default auto)", &RunOptions::engine},
    {"memory", 'm', Kind::text, "SIZE", "memory limit, e.g. 256M", &RunOptions::memory},
    {"cpus", 0, Kind::text, "N", "CPU time as a number of CPUs, e.g. 0.5", &RunOptions::cpus},
    {"cpuset", 0, Kind::text, "LIST", "CPUs to pin to, e.g. 0-1", &RunOptions::cpuset},
    {"pids", 0, Kind::text, "N", "maximum number of processes", &RunOptions::pids},
    {"timeout", 0, Kind::text, "DURATION", "wall-clock limit, e.g. 10s or 500ms", &RunOptions::timeout},
    {"env", 'e', Kind::list, "KEY=VALUE", "add to the environment (repeatable)", nullptr, &RunOptions::env},
    {"clear-env", 0, Kind::flag, nullptr, "start from an empty environment", nullptr, nullptr,
     &RunOptions::clear_env},
    {"workdir", 'w', Kind::text, "DIR", "working directory", &RunOptions::workdir},
    {"rootfs", 0, Kind::text, "DIR", "root filesystem directory (the workload writes to a private copy)",
     &RunOptions::rootfs},
    {"rootfs-writable", 0, Kind::flag, nullptr, "let the workload write to --rootfs itself", nullptr, nullptr,
     &RunOptions::rootfs_writable},
    {"keep-changes", 0, Kind::text, "DIR", "keep the workload's changes to --rootfs in DIR/upper",
     &RunOptions::keep_changes},
    {"mount", 0, Kind::list, "HOST:GUEST[:ro]", "make HOST visible at GUEST (repeatable)", nullptr,
     &RunOptions::mounts},
    {"net", 0, Kind::text, "none|host", "network (default none)", &RunOptions::net},
    {"stdin", 0, Kind::text, "SPEC", "inherit, null or file:PATH", &RunOptions::stdin_spec},
    {"stdout", 0, Kind::text, "SPEC", "inherit, null, capture or file:PATH", &RunOptions::stdout_spec},
    {"stderr", 0, Kind::text, "SPEC", "inherit, null, capture or file:PATH", &RunOptions::stderr_spec},
    {"json", 0, Kind::flag, nullptr, "print the result record as JSON", nullptr, nullptr, &RunOptions::json},
    {"verbose", 'v', Kind::flag, nullptr, "also print the tier's per-run counters on stderr", nullptr,
     nullptr, &RunOptions::verbose},
};
constexpr int kHelp = 'h';
constexpr int kOptionCount = sizeof kOptions / sizeof kOptions[0];

void print_help() {
  std::fputs(
      "usage: spectrum run --tier TIER [OPTIONS] [--] PROGRAM [ARGS...]\n\n"
      "Run a workload in one tier and report its result. (`spectrum run --bundle DIR ID`, or runc's\n"
      "global flags before `run`, is runc's run of an OCI bundle.)\n\nOptions:\n",
      stdout);
  for (const OptionSpec& spec : kOptions) {
    std::string left = spec.short_name ? std::string("-") + spec.short_name + ", " : "    ";
    left += std::string("--") + spec.name;
    if (spec.value_name) left += std::string(" ") + spec.value_name;
    std::printf("  %-28s %s\n", left.c_str(), spec.help);
  }
  std::printf("  %-28s %s\n", "-h, --help", "this text");
}

// Returns the index of the program's word in argv (or stops early at --help).
Result<int> parse_options(int argc, char** argv, RunOptions& options) {
  option long_options[kOptionCount + 2] = {};
  std::string short_options = "+:h";  // '+': stop at PROGRAM; ':': report a missing value apart
  for (int i = 0; i < kOptionCount; ++i) {
    const OptionSpec& spec = kOptions[i];
    long_options[i] = {spec.name, spec.kind == Kind::flag ? no_argument : required_argument, nullptr,
                       256 + i};
    if (spec.short_name)
      short_options += std::string(1, spec.short_name) + (spec.kind == Kind::flag ? "" : ":");
  }
  long_options[kOptionCount] = {"help", no_argument, nullptr, kHelp};
  opterr = 0;
  optind = 0;  // full re-initialisation of getopt's state
  for (;;) {
    int long_index = -1;
    int code = getopt_long(argc, argv, short_options.c_str(), long_options, &long_index);
    if (code == -1) break;
    if (code == kHelp) {
      options.help = true;
      return optind;
    }
    if (code == '?' || code == ':') {
      // A short option is named by optopt; a long one by the word getopt stopped at.
      std::string name = optopt > 0 && optopt < 256 ? std::string("-") + static_cast<char>(optopt)
                                                    : std::string(argv[optind - 1]);
      name = name.substr(0, name.find('='));
      return fail(code == '?' ? "run: unknown option '" + name + "'"
                              : "run: option '" + name + "' needs a value");
    }
    int index = code >= 256 ? code - 256 : -1;
    for (int i = 0; index < 0 && i < kOptionCount; ++i)
      if (kOptions[i].short_name == code) index = i;
    const OptionSpec& spec = kOptions[index];
    if (spec.kind == Kind::flag)
      options.*spec.flag = true;
    else if (spec.kind == Kind::list)
      (options.*spec.list).emplace_back(optarg);
    else
      options.*spec.text = optarg;
  }
  if (options.tier.empty())
    return fail(
        "run: --tier is required (native, wasm, container or vm); an OCI bundle runs with `spectrum run "
        "--bundle DIR ID`");
  if (optind >= argc)
    return fail("run: no program given (spectrum run --tier TIER [OPTIONS] -- PROGRAM [ARGS...])");
  return optind;
}

// "HOST:GUEST[:ro|:rw]"
Result<Mount> parse_mount(const std::string& text) {
  Mount mount;
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    std::size_t colon = text.find(':', start);
    parts.push_back(text.substr(start, colon == std::string::npos ? std::string::npos : colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[1].empty())
    return fail("invalid --mount '" + text + "': expected HOST:GUEST[:ro]");
  if (parts[1][0] != '/') return fail("invalid --mount '" + text + "': GUEST must be an absolute path");
  mount.host_path = parts[0];
  mount.target = parts[1];
  if (parts.size() == 3) {
    if (parts[2] == "ro")
      mount.read_only = true;
    else if (parts[2] != "rw")
      return fail("invalid --mount '" + text + "': option '" + parts[2] + "' is not ro or rw");
  }
  return mount;
}

Result<Stdio> parse_stdio(const std::string& flag, const std::string& text) {
  if (text.empty() || text == "inherit") return Stdio::inherit();
  if (text == "null") return Stdio::null();
  if (text == "capture") return Stdio::captured();
  if (text.starts_with("file:")) return Stdio::file(text.substr(5));
  return fail("invalid " + flag + " '" + text + "': expected inherit, null, capture or file:PATH");
}

Result<Workload> make_workload(const RunOptions& options, int argc, char** argv, int first_word) {
  Workload workload;
  workload.program = argv[first_word];
  workload.args.assign(argv + first_word + 1, argv + argc);
  workload.inherit_env = !options.clear_env;
  for (const std::string& item : options.env) {
    if (item.find('=') == std::string::npos || item.front() == '=')
      return fail("invalid --env '" + item + "': expected KEY=VALUE");
    workload.env.push_back(item);
  }
  workload.workdir = options.workdir;
  workload.rootfs = options.rootfs;
  workload.rootfs_writable = options.rootfs_writable;
  workload.keep_changes = options.keep_changes;
  if ((workload.rootfs_writable || !workload.keep_changes.empty()) && workload.rootfs.empty())
    return fail(std::string(workload.rootfs_writable ? "--rootfs-writable" : "--keep-changes") +
                " needs --rootfs");
  if (!options.memory.empty()) {
    auto bytes = parse_size(options.memory);
    if (!bytes) return std::unexpected(bytes.error().wrap("--memory"));
    if (*bytes == 0) return fail("--memory: must be greater than 0");
    workload.limits.memory_bytes = *bytes;
  }
  if (!options.cpus.empty()) {
    auto value = parse_cpus(options.cpus);
    if (!value) return std::unexpected(value.error().wrap("--cpus"));
    workload.limits.cpus = *value;
  }
  if (!options.cpuset.empty()) {
    auto value = parse_cpuset(options.cpuset);
    if (!value) return std::unexpected(value.error().wrap("--cpuset"));
    workload.limits.cpuset = std::string(*value);
  }
  if (!options.pids.empty()) {
    auto value = parse_size(options.pids);
    if (!value || *value == 0) return fail("--pids: invalid count '" + options.pids + "'");
    workload.limits.max_pids = *value;
  }
  if (!options.timeout.empty()) {
    auto value = parse_duration(options.timeout);
    if (!value) return std::unexpected(value.error().wrap("--timeout"));
    if (value->count() == 0) return fail("--timeout: must be greater than 0");
    workload.limits.timeout = *value;
  }
  for (const std::string& text : options.mounts) workload.mounts.push_back(SPECTRUM_TRY(parse_mount(text)));
  if (!options.net.empty() && options.net != "none" && options.net != "host")
    return fail("invalid --net '" + options.net + "': expected none or host");
  workload.host_network = options.net == "host";
  if (!options.engine.empty() && options.engine != "interp" && options.engine != "compiled" &&
      options.engine != "auto")
    return fail("invalid --engine '" + options.engine + "': expected interp, compiled or auto");
  if (options.engine == "interp") wasm::set_run_engine(wasm::Engine::interp);
  if (options.engine == "compiled") wasm::set_run_engine(wasm::Engine::compiled);
  workload.stdin_stream = SPECTRUM_TRY(parse_stdio("--stdin", options.stdin_spec));
  workload.stdout_stream = SPECTRUM_TRY(parse_stdio("--stdout", options.stdout_spec));
  workload.stderr_stream = SPECTRUM_TRY(parse_stdio("--stderr", options.stderr_spec));
  if (workload.stdin_stream.mode == Stdio::Mode::capture)
    return fail("invalid --stdin 'capture': only output can be captured");
  return workload;
}

// A reader that went away (`spectrum run ... | head -c1`), or a SIGPIPE sent by hand, must not end
// spectrum before it has recorded the run: SIGPIPE is blocked for spectrum's whole life, so its own
// writes to a closed pipe fail with EPIPE instead. The workload's writes are the workload's
// business: every tier starts it with an empty signal mask (core/process.cc, the container's init;
// the vm monitor gives the guest its SIGPIPE itself; WASI has EPIPE).
void block_sigpipe() {
  sigset_t set;
  ::sigemptyset(&set);
  ::sigaddset(&set, SIGPIPE);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
}

// Writes what spectrum prints after the run; false when stdout or stderr refused it (a closed
// pipe), which the workload's exit status does not change.
bool write_out(std::FILE* stream, const std::string& text) {
  return std::fwrite(text.data(), 1, text.size(), stream) == text.size();
}

}  // namespace

int run_command(int argc, char** argv) {
  block_sigpipe();
  RunOptions options;
  Result<int> first_word = parse_options(argc, argv, options);
  if (!first_word) return report_error(first_word.error());
  if (options.help) {
    print_help();
    return 0;
  }

  const TierEntry* entry = find_tier(options.tier);
  if (!entry)
    return report_error(
        Error("unknown tier '" + options.tier + "' (expected native, wasm, container or vm)"));
  Result<Workload> workload = make_workload(options, argc, argv, *first_word);
  if (!workload) return report_error(workload.error());

  std::unique_ptr<Tier> tier = entry->make();
  Result<RunResult> result = tier->run(*workload);
  if (!result) return report_error(result.error());
  const std::string& program = workload->program;
  // The workload's captured bytes to a reader that is gone are lost like its own writes would be.
  if (!result->captured_stdout.empty() && !options.json) (void)write_out(stdout, result->captured_stdout);
  if (!result->captured_stderr.empty() && !options.json) (void)write_out(stderr, result->captured_stderr);
  if (options.json) {
    nlohmann::json record = *result;
    // The record is spectrum's own output: a reader gone before it is said on stderr; the exit
    // status stays the workload's (docs/tiers.md).
    if (!write_out(stdout, record.dump() + "\n") || std::fflush(stdout) != 0)
      std::fprintf(stderr, "spectrum: %s: the result record could not be written to stdout: %s\n",
                   program.c_str(), std::strerror(errno));
  } else if (result->outcome == Outcome::timed_out) {
    std::fprintf(stderr, "spectrum: %s: timed out\n", program.c_str());
  } else if (result->outcome == Outcome::out_of_memory) {
    std::fprintf(stderr, "spectrum: %s: killed: out of memory\n", program.c_str());
  } else if (!result->detail.empty()) {
    std::fprintf(stderr, "spectrum: %s: %s\n", program.c_str(), result->detail.c_str());
  }
  if (options.verbose && !options.json && !result->counters.empty()) {
    std::string line;
    for (const auto& [name, value] : result->counters)
      line += (line.empty() ? "" : ", ") + name + " " + std::to_string(value);
    std::fprintf(stderr, "spectrum: %s: %s\n", program.c_str(), line.c_str());
  }
  std::fflush(stdout);
  return result->shell_status();
}

}  // namespace spectrum::cli
