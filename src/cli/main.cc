// spectrum: one command line over every tier. Dispatches on the first word; each command parses
// its own flags. runc-compatible verbs (and runc's global flags) go to the OCI runtime.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "cli/commands.h"
#include "container/runc_cli.h"
#include "container/vm_handler.h"
#include "container/wasm_handler.h"
#include "wasm/cli.h"
#include "wasm/native.h"

namespace {

constexpr const char* kUsage =
    "usage: spectrum COMMAND [OPTIONS]\n"
    "\n"
    "Run one workload at any point of the isolation spectrum.\n"
    "\n"
    "Commands:\n"
    "  run --tier native|wasm|container|vm [OPTIONS] -- PROGRAM [ARGS...]\n"
    "                          run a workload and report its result\n"
    "  info                    which tiers this host can run, and why not\n"
    "  bench [OPTIONS] -- PROGRAM [ARGS...]\n"
    "                          the workload in every tier: costs and isolation, side by side\n"
    "  advise SYSTEM.yaml [--from BENCH.json] [--k8s DIR]\n"
    "                          a tier for each component of a system, with the reasons\n"
    "  wasm validate|inspect FILE\n"
    "                          check or describe a WebAssembly module\n"
    "  create|start|state|kill|delete|exec|ps|pause|resume|features|spec|run ...\n"
    "                          the runc-compatible OCI runtime (containerd, podman); the\n"
    "                          annotation run.oci.handler=wasm (or module.wasm.image/variant=compat,\n"
    "                          or calling it as spectrum-wasm) runs the bundle's module in the engine\n"
    "\n"
    "Exit status: the workload's (128+N for signal N, 124 for a timeout), 125 for an error of\n"
    "spectrum itself, 126 when the program cannot be executed, 127 when it is not found.\n";

// `spectrum run` is both ours (`run --tier T -- PROGRAM`) and runc's (`run [--bundle B] ID`). A
// person at a terminal always gets ours; runc's is recognised by what only an OCI client passes:
// runc's global flags before the verb (handled in main), or one of runc's own `run` flags.
bool is_oci_run(int argc, char** argv) {
  static constexpr std::string_view kOciRunFlags[] = {
      "--bundle",   "-b",     "--console-socket", "--pid-file",     "--detach",      "-d",
      "--no-pivot", "--keep", "--no-new-keyring", "--preserve-fds", "--no-subreaper"};
  for (int i = 2; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--") break;
    for (std::string_view flag : kOciRunFlags)
      if (arg == flag || (flag.starts_with("--") && arg.starts_with(flag) && arg[flag.size()] == '='))
        return true;
  }
  return false;
}

// Runs a companion binary installed next to spectrum (spectrum-advise), in place of this process.
int exec_next_to_self(const char* name, int argc, char** argv) {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) n = 0;
  self[n] = 0;
  char* slash = std::strrchr(self, '/');
  std::string path = slash ? std::string(self, static_cast<std::size_t>(slash - self + 1)) + name : name;
  std::vector<char*> args(argv, argv + argc);
  args.push_back(nullptr);
  execv(path.c_str(), args.data());
  std::fprintf(stderr, "spectrum: error: cannot run %s: %s\n", path.c_str(), std::strerror(errno));
  return errno == ENOENT ? 127 : 126;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace spectrum;
  // The tiers `create`/`run` can put inside a container (container/handler.h).
  container::HandlerSet handlers;
  handlers.wasm = &container::wasm_in_place();
  handlers.vm = &container::vm_in_place();
  handlers.sandbox = &container::sandbox_in_place();
  // Called as spectrum-wasm, spectrum-vm or spectrum-sandbox: an OCI runtime and nothing else.
  if (container::handler_of_binary(argv[0])) return container::runc_main(argc, argv, handlers);
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 125;
  }
  std::string_view command = argv[1];
  if (command == "-h" || command == "--help" || command == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (command == "--version" || command == "version") {
    std::puts("spectrum version 0.1.0");
    return 0;
  }
  // The wasm compiler needs a dynamically linked process (spectrum is static): `wasm compile` runs
  // in spectrum-llvm, the same program linked dynamically (src/wasm/native.h).
  if (wasm::needs_compiler(argc, argv)) wasm::exec_compiler_build(argv);
  if (command == "run" && !is_oci_run(argc, argv)) return cli::run_command(argc - 1, argv + 1);
  if (command == "info") return cli::info_command(argc - 1, argv + 1);
  if (command == "bench") return cli::bench_command(argc - 1, argv + 1);
  if (command == "advise") return exec_next_to_self("spectrum-advise", argc - 1, argv + 1);
  if (command == "wasm") return wasm::cli_main(argc - 1, argv + 1);
  if (command == "run" || container::is_runc_verb(argv[1]) || container::is_runc_global_flag(argv[1]))
    return container::runc_main(argc, argv, handlers);
  std::fprintf(stderr, "spectrum: error: unknown command '%s' (see 'spectrum --help')\n", argv[1]);
  return 125;
}
