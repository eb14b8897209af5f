// The runtime's side of the compiled engine: loading the compiler library on first use, choosing
// the engine at instantiation, and entering compiled code. Nothing here links LLVM.
#include "wasm/native.h"

#include <elf.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string_view>

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

bool compile_with_helper(const std::vector<std::uint8_t>& module, const std::string& cache_dir,
                         std::string* error) {
  char exe[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return false;
  exe[n] = '\0';
  std::string helper(exe);
  helper.resize(helper.rfind('/') + 1);
  helper += "spectrum-llvm";
  if (::access(helper.c_str(), X_OK) != 0) {
    *error = "the compiled engine needs " + helper + " (this spectrum is static and cannot load LLVM)";
    return false;
  }
  // The module goes to the helper as a file in the cache directory (ours, mode 0700).
  std::string tmp = cache_dir + "/module.XXXXXX";
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) {
    *error = "cannot write the module for the compiler: " + std::string(std::strerror(errno));
    return false;
  }
  std::size_t done = 0;
  while (done < module.size()) {
    const ssize_t w = ::write(fd, module.data() + done, module.size() - done);
    if (w <= 0) break;
    done += static_cast<std::size_t>(w);
  }
  ::close(fd);
  const std::string env_cache = "SPECTRUM_WASM_CACHE=" + cache_dir;
  std::vector<char*> argv{helper.data(), const_cast<char*>("wasm"), const_cast<char*>("compile"), tmp.data(),
                          nullptr};
  std::vector<char*> envp{const_cast<char*>(env_cache.c_str()), nullptr};
  // Its output is ours to drop: a run's stdout and stderr belong to the workload.
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int rc = done == module.size()
                     ? ::posix_spawn(&pid, helper.c_str(), &actions, nullptr, argv.data(), envp.data())
                     : EIO;
  posix_spawn_file_actions_destroy(&actions);
  int status = 0;
  if (rc == 0)
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  ::unlink(tmp.c_str());
  if (rc != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    *error = "the compiler (" + helper + ") failed on the module (spectrum wasm compile FILE tells why)";
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
