// Differential check of the two engines: instantiates a module in the interpreter, under the
// LLVM compiler, and tiered (--engine auto's tier-up: interpreted until the interpreter's Nth poll,
// N from the module's size, then compiled code for every call from there on, called from the
// interpreted frames still running), calls every exported function (arguments from a fixed
// pattern) in each, and compares what each call did: returned values (any NaN equals any NaN:
// payloads are nondeterministic in wasm), trap kind, exit, and the linear memory and globals
// afterwards.
// Modules come from binaryen (tests/wasm/fuzz/diff.sh: wasm-opt --translate-to-fuzz --denan).
//   wasm_diff_engines FILE.wasm...   exit 0: no divergence; 1: a divergence (printed); 2: usage
// A call that runs longer than 2 s is interrupted in both engines and not compared (compiling is
// done before the clock starts).
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "wasm/engine.h"
#include "wasm/module.h"
#include "wasm/native.h"
#include "wasm/runtime.h"

using namespace spectrum::wasm;

namespace {

struct Run {
  std::vector<std::string> events;  // one line per call, and the final state
  bool interrupted = false;
  bool switched = false;  // tiered: the compiled code came while interpreted code ran
};

std::string describe_value(ValType t, std::uint64_t v) {
  char buf[64];
  if (t == ValType::f32) {
    float f;
    const auto bits = static_cast<std::uint32_t>(v);
    std::memcpy(&f, &bits, 4);
    if (std::isnan(f)) return "f32:nan";
  }
  if (t == ValType::f64) {
    double d;
    std::memcpy(&d, &v, 8);
    if (std::isnan(d)) return "f64:nan";
  }
  // References: null or not (addresses differ between stores).
  if (is_reference(t)) return v ? "ref" : "null";
  std::snprintf(buf, sizeof buf, "%s:%llx", std::string(to_string(t)).c_str(),
                static_cast<unsigned long long>(v));
  return buf;
}

// Interrupts the store if a call takes longer than the limit.
class Watchdog {
 public:
  explicit Watchdog(Store& store) : store_(store), thread_([this] { loop(); }) {}
  ~Watchdog() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void arm() {
    std::lock_guard lock(mutex_);
    deadline_ = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    armed_ = true;
    fired_ = false;
    cv_.notify_all();
  }
  bool disarm() {
    std::lock_guard lock(mutex_);
    armed_ = false;
    store_.clear_interrupt();
    return fired_;
  }

 private:
  void loop() {
    std::unique_lock lock(mutex_);
    while (!stop_) {
      if (armed_ && std::chrono::steady_clock::now() >= deadline_) {
        store_.interrupt();
        fired_ = true;
        armed_ = false;
      }
      cv_.wait_for(lock, std::chrono::milliseconds(20));
    }
  }
  Store& store_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false, armed_ = false, fired_ = false;
  std::chrono::steady_clock::time_point deadline_;
  std::thread thread_;
};

// Engine::automatic here means tiered (above).
Run run(const Module& module, Engine engine, std::string& error) {
  Run out;
  Store store;
  store.set_engine(engine);
  const bool tiered = engine == Engine::automatic;
  Linker linker;
  // Every imported function (binaryen's logging helpers) returns zeros; other imports make the
  // module unusable here.
  for (const ImportInfo& imp : module.imports()) {
    if (imp.kind != ExternKind::func) {
      error = "imports a " + std::string(to_string(imp.kind));
      return out;
    }
    const std::uint32_t results = static_cast<std::uint32_t>(imp.func.results.size());
    linker.define_function(store, imp.module, imp.name, imp.func,
                           [results](HostCall&, const std::uint64_t*, std::uint64_t* r) {
                             for (std::uint32_t i = 0; i < results; ++i) r[i] = 0;
                             return HostResult::ok();
                           });
  }
  // Compile before the watchdog runs: on a loaded machine LLVM alone can take longer than a call's
  // limit, and the limit is for running code. (A memory whose guard reservation fails compiles its
  // checked variant at instantiation, under the watchdog.)
  const ModuleData& data = module.data();
  if (engine != Engine::interp && !data.native_code[0] && !data.bodies.empty())
    data.native_code[0] = native_code(data, false, "", true, &error);
  if (!error.empty()) {  // a module the compiler fails on: a divergence from the interpreter's run
    out.events.push_back("compile: " + error);
    error.clear();
    return out;
  }
  Watchdog watchdog(store);
  CallOutcome start;
  watchdog.arm();
  // Tiered: instantiated without the code (as a module not in the cache is), which comes later.
  std::shared_ptr<NativeModule> later = tiered ? std::exchange(data.native_code[0], nullptr) : nullptr;
  auto inst = linker.instantiate(store, module, start);
  if (tiered) data.native_code[0] = later;
  out.interrupted |= watchdog.disarm();
  if (!inst) {
    out.events.push_back("instantiate: " + inst.error().message());
    return out;
  }
  if (start.kind != CallOutcome::Kind::returned || !*inst) {
    out.events.push_back("start: " + std::string(start.kind == CallOutcome::Kind::exited ? "exit" : "trap ") +
                         std::string(to_string(start.trap.kind)));
    return out;
  }
  Instance* instance = *inst;
  int polls_left = static_cast<int>(data.bytes.size() % 4) + 1;
  if (tiered && later) {
    // The request stays pending (the hook asks again) until the interpreter's Nth poll.
    store.set_tier_up([&] {
      if (--polls_left > 0) return store.request_tier_up();
      if (auto attached = attach_native(store, *instance); !attached)
        out.events.push_back("tier-up: " + attached.error().message());
      out.switched = instance->runs_compiled_code();
    });
    store.request_tier_up();
  }
  for (const ExportInfo& e : module.exports()) {
    if (e.kind != ExternKind::func) continue;
    const FuncType& type = *module.function_type(e.index);
    // Arguments by the runtime's slot convention: one slot per value, two per v128.
    std::vector<std::uint64_t> args;
    for (std::size_t i = 0; i < type.params.size(); ++i) {
      std::uint64_t v = is_reference(type.params[i]) ? 0 : (i * 0x9E3779B97F4A7C15ull) >> (i % 3 * 16);
      if (type.params[i] == ValType::i32 || type.params[i] == ValType::f32) v &= 0xFFFFFFFFu;
      args.push_back(v);
      if (type.params[i] == ValType::v128) args.push_back(~v);
    }
    watchdog.arm();
    auto result = instance->call(e.name, args);
    if (watchdog.disarm()) {
      out.interrupted = true;
      return out;  // the rest depends on where the interrupt landed
    }
    std::string line = e.name + ": ";
    if (!result) {
      line += "error " + result.error().message();
    } else if (result->kind == CallOutcome::Kind::trapped) {
      line += "trap " + std::string(to_string(result->trap.kind));
    } else if (result->kind == CallOutcome::Kind::exited) {
      line += "exit " + std::to_string(result->exit_code);
    } else {
      for (std::size_t i = 0, slot = 0; i < type.results.size(); ++i, ++slot) {
        line += describe_value(type.results[i], result->values[slot]) + " ";
        if (type.results[i] == ValType::v128)
          line += describe_value(ValType::i64, result->values[++slot]) + " ";
      }
    }
    out.events.push_back(line);
  }
  const MemoryView mem = instance->memory();
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (std::uint64_t i = 0; i < mem.size; ++i) h = (h ^ mem.data[i]) * 0x100000001b3ull;
  char buf[64];
  std::snprintf(buf, sizeof buf, "memory %llu bytes, hash %016llx", static_cast<unsigned long long>(mem.size),
                static_cast<unsigned long long>(h));
  out.events.push_back(buf);
  for (std::uint32_t g = 0; g < module.data().globals.size(); ++g) {
    const Global* global = instance->state().globals[g];
    std::string value = describe_value(global->type.type, global->value);
    if (global->type.type == ValType::v128) value += " " + describe_value(ValType::i64, global->value_high);
    out.events.push_back("global " + std::to_string(g) + " " + value);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: wasm_diff_engines FILE.wasm...\n");
    return 2;
  }
  int divergent = 0, compared = 0, switched = 0;
  std::size_t events = 0;
  for (int i = 1; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto module = Module::load(bytes);
    if (!module) {
      std::printf("%s: skipped (does not load: %s)\n", argv[i], module.error().message().c_str());
      continue;
    }
    std::string error;
    const Run a = run(*module, Engine::interp, error);
    if (!error.empty()) {
      std::printf("%s: skipped (%s)\n", argv[i], error.c_str());
      continue;
    }
    const Run b = run(*module, Engine::compiled, error);
    const Run c = run(*module, Engine::automatic, error);
    if (a.interrupted || b.interrupted || c.interrupted) {
      std::printf("%s: not compared (a call ran past 2 s in %s)\n", argv[i],
                  a.interrupted   ? "the interpreter"
                  : b.interrupted ? "the compiled code"
                                  : "the tiered run");
      continue;
    }
    ++compared;
    switched += c.switched;
    events += a.events.size();
    if (std::getenv("DIFF_VERBOSE"))
      for (const auto& line : a.events) std::printf("  %s\n", line.c_str());
    for (const auto& [other, name] : {std::pair{&b, "compiled"}, std::pair{&c, "tiered"}}) {
      if (a.events == other->events) continue;
      ++divergent;
      std::printf("%s: DIVERGENCE (%s)\n", argv[i], name);
      for (std::size_t k = 0; k < std::max(a.events.size(), other->events.size()); ++k) {
        const std::string x = k < a.events.size() ? a.events[k] : "(none)";
        const std::string y = k < other->events.size() ? other->events[k] : "(none)";
        if (x != y)
          std::printf("  interp:   %s\n  %-9s %s\n", x.c_str(), (std::string(name) + ":").c_str(), y.c_str());
      }
    }
  }
  std::printf(
      "compared %d modules (%zu calls and state lines; %d tiered runs switched while interpreted code ran), "
      "%d divergent\n",
      compared, events, switched, divergent);
  return divergent ? 1 : 0;
}
