// The runtime's side of the compiled engine: loading the compiler library on first use, choosing
// the engine at instantiation, and entering compiled code. Nothing here links LLVM.
#include "wasm/native.h"

#include <elf.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string_view>

#include "core/fd.h"
#include "wasm/body_reader.h"

// Null in a statically linked executable (spectrum itself is one): glibc cannot dlopen a library
// that needs libstdc++ and libLLVM into a static process (its constructors crash), so the library
// is never loaded there; a static spectrum has spectrum-llvm compile (compile_with_helper).
extern "C" __attribute__((weak)) Elf64_Dyn _DYNAMIC[];

namespace spectrum::wasm {

namespace {}  // namespace

Runtime::Status call_interpreted(Store* store, Function* function, std::uint64_t* slots, Trap& trap,
                                 std::int32_t& exit_code) {
  Store::Impl& S = store->impl();
  const std::uint32_t np = function->param_count, nr = function->result_count;
  auto stack_trap = [&] {
    trap = Trap{TrapKind::stack_exhausted, std::string(to_string(TrapKind::stack_exhausted)),
                function_display_name(*function), 0};
    return Runtime::Status::trapped;
  };
  if (!S.ensure_stacks(store->limits())) return stack_trap();
  std::uint64_t* fp = S.stack_top;
  if (fp + std::max(np, nr) + 1 > S.value_stack + S.value_stack_slots) return stack_trap();
  std::copy(slots, slots + np, fp);
  S.stack_top = fp + std::max(np, nr) + 1;
  const Runtime::Status status = Runtime::execute(store, function, fp, trap, exit_code);
  S.stack_top = fp;
  if (status == Runtime::Status::returned) std::copy(fp, fp + nr, slots);
  return status;
}

namespace {

std::mutex g_mutex;
const NativeApi* g_api = nullptr;
std::string g_error;
bool g_tried = false;

}  // namespace

const NativeApi* native_api(std::string* error) {
  std::lock_guard lock(g_mutex);
  if (!g_tried) {
    g_tried = true;
    g_api = load_compiler_library(&g_error);
  }
  if (!g_api && error) *error = g_error;
  return g_api;
}

bool needs_compiler(int argc, char** argv) {
  return argc >= 3 && std::string_view(argv[1]) == "wasm" && std::string_view(argv[2]) == "compile";
}

void exec_compiler_build(char** argv) {
  if (_DYNAMIC != nullptr) return;
  char exe[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return;
  exe[n] = '\0';
  std::string path(exe);
  path.resize(path.rfind('/') + 1);
  path += "spectrum-llvm";
  if (::access(path.c_str(), X_OK) != 0) return;
  ::execv(path.c_str(), argv);
}

bool static_executable() { return _DYNAMIC == nullptr; }

namespace {

struct CompilerLaunch {
  std::string path;
  std::vector<char*> argv, envp;
  int module_fd = -1;
  int devnull = -1;
  pid_t parent = 0;
};

// The child of spawn_compiler, on its own stack in the parent's memory (CLONE_VM|CLONE_VFORK: the
// parent, possibly a large and busy interpreter, is neither copied nor made copy-on-write): raw
// system calls only, until execve.
int exec_compiler(void* arg) {
  const auto& launch = *static_cast<const CompilerLaunch*>(arg);
  // Dies with the thread that started it: a spectrum killed mid-run leaves no compiler behind
  // (nor one whose parent was gone before this line).
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != launch.parent) ::_exit(127);
  // Its stdio is /dev/null (a run's output belongs to the workload), the module is fd 3, and it
  // holds nothing else of ours: the workload's pipes and preopens stay closed when it ends.
  for (int fd = 0; fd < 3; ++fd)
    if (::dup2(launch.devnull, fd) < 0) ::_exit(127);
  if (launch.module_fd == 3 ? ::fcntl(3, F_SETFD, 0) < 0 : ::dup2(launch.module_fd, 3) < 0) ::_exit(127);
  ::syscall(SYS_close_range, 4u, ~0u, 0u);
  // The starting thread's mask (signals the run handles itself are blocked there) would outlive
  // execve; handlers do not.
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execve(launch.path.c_str(), launch.argv.data(), launch.envp.data());
  ::_exit(127);
}

}  // namespace

std::string compiler_helper(std::string* error) {
  char exe[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) {
    *error = "cannot find this executable (/proc/self/exe)";
    return {};
  }
  exe[n] = '\0';
  std::string helper(exe);
  helper.resize(helper.rfind('/') + 1);
  helper += "spectrum-llvm";
  if (::access(helper.c_str(), X_OK) != 0) {
    *error = "the compiled engine needs " + helper + " (this spectrum is static and cannot load LLVM)";
    return {};
  }
  return helper;
}

pid_t spawn_compiler(const std::vector<std::uint8_t>& module, const std::string& cache_dir, bool checked,
                     std::string* error) {
  CompilerLaunch launch;
  launch.path = compiler_helper(error);
  if (launch.path.empty()) return -1;
  // The module goes to the helper as a memory file: nothing to clean up on any path.
  const UniqueFd module_fd(::memfd_create("spectrum-wasm-module", MFD_CLOEXEC));
  const UniqueFd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!module_fd || !devnull) {
    *error = "cannot hand the module to the compiler: " + std::string(std::strerror(errno));
    return -1;
  }
  if (auto written = write_all(module_fd.get(),
                               std::string_view(reinterpret_cast<const char*>(module.data()), module.size()));
      !written) {
    *error = "cannot hand the module to the compiler: " + written.error().message();
    return -1;
  }
  launch.module_fd = module_fd.get();
  launch.devnull = devnull.get();
  launch.parent = ::getpid();
  std::string bounds = checked ? "check" : "guard";
  std::string module_path = "/proc/self/fd/3";
  std::string env_cache = "SPECTRUM_WASM_CACHE=" + cache_dir;
  launch.argv = {launch.path.data(),
                 const_cast<char*>("wasm"),
                 const_cast<char*>("compile"),
                 const_cast<char*>("--bounds"),
                 bounds.data(),
                 module_path.data(),
                 nullptr};
  launch.envp = {env_cache.data(), nullptr};
  std::vector<char> stack(64 * 1024);
  const pid_t pid =
      ::clone(exec_compiler, stack.data() + stack.size(), CLONE_VM | CLONE_VFORK | SIGCHLD, &launch);
  if (pid < 0) *error = "cannot start the compiler: " + std::string(std::strerror(errno));
  return pid;
}

bool compile_with_helper(const std::vector<std::uint8_t>& module, const std::string& cache_dir, bool checked,
                         std::string* error) {
  const pid_t pid = spawn_compiler(module, cache_dir, checked, error);
  if (pid < 0) return false;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    *error = "the compiler (spectrum-llvm) failed on the module (spectrum wasm compile FILE tells why)";
    return false;
  }
  return true;
}

bool native_api_loaded() {
  std::lock_guard lock(g_mutex);
  return g_api != nullptr;
}

Result<void> attach_native(Store& store, Instance& instance) {
  Store::Impl& S = store.impl();
  const Engine engine = S.engine;
  if (engine == Engine::interp) return {};
  const ModuleData& m = instance.module().data();
  if (m.bodies.empty()) return {};
  // Fuel is counted by the interpreter only.
  if (store.fuel()) {
    if (engine == Engine::compiled) return fail("wasm: fuel limits need the interpreter (--engine interp)");
    return {};
  }
  const bool checked = !instance.state().memories.empty() && !instance.state().memories[0]->guarded;
  std::string error;
  std::shared_ptr<NativeModule>& code = m.native_code[checked ? 1 : 0];
  if (!code && engine == Engine::compiled)
    if (std::string why = unsupported_reason(m); !why.empty()) return fail("wasm: --engine compiled: " + why);
  if (!code) {
    // Automatic: compiled code only when it is cached (docs/wasm.md: compiling costs more than most
    // short runs take in the interpreter; `spectrum wasm compile` fills the cache). The cache is
    // read and linked without LLVM: only a compile loads the library.
    const bool may_compile = engine == Engine::compiled;
    if (engine == Engine::automatic &&
        (S.cache_dir.empty() || ::access(cache_file(S.cache_dir, m.bytes, checked).c_str(), R_OK) != 0))
      return {};
    code = native_code(m, checked, S.cache_dir, may_compile, &error);
    if (!code) {
      if (engine == Engine::compiled) return fail("wasm: --engine compiled: " + error);
      return {};
    }
  }
  Instance::State& s = instance.state();
  auto ctx = std::make_shared<NativeCtx>();
  static const std::uint64_t no_memory = 0;
  Memory* memory = s.memories.empty() ? nullptr : s.memories[0];
  ctx->mem_base = memory ? memory->data : nullptr;
  ctx->mem_size = memory ? &memory->size : &no_memory;
  ctx->globals = s.globals.data();
  ctx->funcs = s.funcs.data();
  ctx->interrupt = &Runtime::interrupt_flag(store);
  ctx->stack_limit = &S.native_stack_limit;
  for (const FuncType& t : m.types) ctx->type_id_storage.push_back(S.type_id(t));
  ctx->type_ids = ctx->type_id_storage.data();
  ctx->instance = &instance;
  ctx->store = &store;
  if (code->entries.size() != m.bodies.size()) return fail("wasm: compiled code does not match the module");
  for (std::size_t i = 0; i < m.bodies.size(); ++i) {
    Function* f = s.funcs[m.imported_funcs + i];
    f->native_entry = code->entries[i];
    f->native_typed = code->typed[i];
    f->native_ctx = ctx.get();
  }
  s.native_code = code;
  s.native_ctx = std::move(ctx);
  return {};
}

namespace {
Engine g_run_engine = Engine::automatic;
}
void set_run_engine(Engine engine) { g_run_engine = engine; }
Engine run_engine() { return g_run_engine; }

std::string default_cache_dir() {
  if (const char* env = std::getenv("SPECTRUM_WASM_CACHE"))
    return std::string(env) == "off" ? std::string() : env;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    return std::string(xdg) + "/spectrum/wasm";
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::string(home) + "/.cache/spectrum/wasm";
  return {};
}

Runtime::Status execute_native(Store& store, Function* function, std::uint64_t* fp, Trap& trap,
                               std::int32_t& exit_code) {
  return native_execute(&store, function, fp, trap, exit_code);
}

}  // namespace spectrum::wasm
