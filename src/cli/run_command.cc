// `spectrum run --tier T [limits] -- PROGRAM ARGS...`
#include <CLI/CLI.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/tiers.h"
#include "core/parse.h"

namespace spectrum::cli {
namespace {

int report_error(const Error& error) {
  std::fprintf(stderr, "spectrum: error: %s\n", error.message().c_str());
  return error.exit_status();
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
    if (parts[2] == "ro") mount.read_only = true;
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

}  // namespace

int run_command(int argc, char** argv) {
  CLI::App app{"Run a workload in one tier and report its result", "spectrum run"};
  std::string tier_name, memory, cpus, cpuset, pids, timeout, workdir, rootfs, net, stdin_spec, stdout_spec,
      stderr_spec;
  std::vector<std::string> env, mounts, command;
  bool json = false, clear_env = false;
  app.add_option("--tier", tier_name, "native, wasm, container or vm")->required();
  app.add_option("--memory,-m", memory, "memory limit, e.g. 256M");
  app.add_option("--cpus", cpus, "CPU time as a fraction of CPUs, e.g. 0.5");
  app.add_option("--cpuset", cpuset, "CPUs to pin to, e.g. 0-1");
  app.add_option("--pids", pids, "maximum number of processes");
  app.add_option("--timeout", timeout, "wall-clock limit, e.g. 10s");
  app.add_option("--env,-e", env, "KEY=VALUE added to the environment")->allow_extra_args(false);
  app.add_flag("--clear-env", clear_env, "start from an empty environment");
  app.add_option("--workdir,-w", workdir, "working directory");
  app.add_option("--rootfs", rootfs, "root filesystem directory");
  app.add_option("--mount", mounts, "HOST:GUEST[:ro] (repeatable)")->allow_extra_args(false);
  app.add_option("--net", net, "network: none (default) or host");
  app.add_option("--stdin", stdin_spec, "inherit, null or file:PATH");
  app.add_option("--stdout", stdout_spec, "inherit, null, capture or file:PATH");
  app.add_option("--stderr", stderr_spec, "inherit, null, capture or file:PATH");
  app.add_flag("--json", json, "print the result record as JSON");
  app.add_option("command", command, "PROGRAM [ARGS...]")->required();
  app.positionals_at_end();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ExtrasError& e) {
    // Name the first unknown option rather than CLI11's list of leftovers.
    for (int i = 1; i < argc && std::string_view(argv[i]) != "--"; ++i) {
      std::string_view arg = argv[i];
      if (arg.starts_with("-") && !app.get_option_no_throw(std::string(arg.substr(0, arg.find('=')))))
        return report_error(Error("run: unknown option '" + std::string(arg) + "'"));
    }
    return report_error(Error(std::string("run: ") + e.what()));
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    if (auto nl = what.find('\n'); nl != std::string::npos) what.resize(nl);
    std::fprintf(stderr, "spectrum: error: run: %s\n", what.c_str());
    return 125;
  }

  const TierEntry* entry = find_tier(tier_name);
  if (!entry) return report_error(Error("unknown tier '" + tier_name + "' (expected native, wasm, container or vm)"));

  Workload workload;
  workload.program = command.front();
  workload.args.assign(command.begin() + 1, command.end());
  workload.inherit_env = !clear_env;
  for (const std::string& item : env) {
    if (item.find('=') == std::string::npos || item.front() == '=')
      return report_error(Error("invalid --env '" + item + "': expected KEY=VALUE"));
    workload.env.push_back(item);
  }
  workload.workdir = workdir;
  workload.rootfs = rootfs;
  if (!memory.empty()) {
    auto bytes = parse_size(memory);
    if (!bytes) return report_error(bytes.error().wrap("--memory"));
    if (*bytes == 0) return report_error(Error("--memory: must be greater than 0"));
    workload.limits.memory_bytes = *bytes;
  }
  if (!cpus.empty()) {
    auto value = parse_cpus(cpus);
    if (!value) return report_error(value.error().wrap("--cpus"));
    workload.limits.cpus = *value;
  }
  if (!cpuset.empty()) {
    auto value = parse_cpuset(cpuset);
    if (!value) return report_error(value.error().wrap("--cpuset"));
    workload.limits.cpuset = std::string(*value);
  }
  if (!pids.empty()) {
    auto value = parse_size(pids);
    if (!value || *value == 0) return report_error(Error("--pids: invalid count '" + pids + "'"));
    workload.limits.max_pids = *value;
  }
  if (!timeout.empty()) {
    auto value = parse_duration(timeout);
    if (!value) return report_error(value.error().wrap("--timeout"));
    if (value->count() == 0) return report_error(Error("--timeout: must be greater than 0"));
    workload.limits.timeout = *value;
  }
  for (const std::string& text : mounts) {
    auto mount = parse_mount(text);
    if (!mount) return report_error(mount.error());
    workload.mounts.push_back(*mount);
  }
  if (!net.empty() && net != "none" && net != "host")
    return report_error(Error("invalid --net '" + net + "': expected none or host"));
  workload.host_network = net == "host";
  auto in = parse_stdio("--stdin", stdin_spec);
  auto out = parse_stdio("--stdout", stdout_spec);
  auto err = parse_stdio("--stderr", stderr_spec);
  if (!in) return report_error(in.error());
  if (!out) return report_error(out.error());
  if (!err) return report_error(err.error());
  if (in->mode == Stdio::Mode::capture) return report_error(Error("invalid --stdin 'capture': only output can be captured"));
  workload.stdin_stream = *in;
  workload.stdout_stream = *out;
  workload.stderr_stream = *err;

  std::unique_ptr<Tier> tier = entry->make();
  Result<RunResult> result = tier->run(workload);
  if (!result) return report_error(result.error());
  if (!result->captured_stdout.empty() && !json) std::fwrite(result->captured_stdout.data(), 1, result->captured_stdout.size(), stdout);
  if (!result->captured_stderr.empty() && !json) std::fwrite(result->captured_stderr.data(), 1, result->captured_stderr.size(), stderr);
  if (json) {
    nlohmann::json record = *result;
    std::printf("%s\n", record.dump().c_str());
  } else if (result->outcome == Outcome::timed_out) {
    std::fprintf(stderr, "spectrum: %s: timed out\n", workload.program.c_str());
  } else if (result->outcome == Outcome::out_of_memory) {
    std::fprintf(stderr, "spectrum: %s: killed: out of memory\n", workload.program.c_str());
  } else if (!result->detail.empty()) {
    std::fprintf(stderr, "spectrum: %s: %s\n", workload.program.c_str(), result->detail.c_str());
  }
  std::fflush(stdout);
  return result->shell_status();
}

}  // namespace spectrum::cli
