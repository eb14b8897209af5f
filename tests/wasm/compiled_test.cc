// The LLVM-compiled engine (libspectrum-wasm-llvm.so): traps through the fault handler and through
// explicit checks name the function as the interpreter does, the explicit-bounds fallback (forced
// with SPECTRUM_WASM_NO_GUARD, what an address-space limit causes), interruption of a loop, and the
// artifact loader against truncated, bit-flipped and foreign artifacts.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "wasm/engine.h"
#include "wasm/module.h"
#include "wasm/native.h"
#include "wasm/runtime.h"

using namespace spectrum::wasm;
using Bytes = std::vector<std::uint8_t>;

namespace {

Bytes assemble(const std::string& wat) {
  char dir_template[] = "/tmp/wasm-compiled-test-XXXXXX";
  const char* dir = ::mkdtemp(dir_template);
  EXPECT_NE(dir, nullptr);
  const std::string in = std::string(dir) + "/m.wat", out = std::string(dir) + "/m.wasm";
  std::ofstream(in) << wat;
  const int rc = std::system((std::string(WAT2WASM) + " --enable-all " + in + " -o " + out).c_str());
  std::ifstream f(out, std::ios::binary);
  Bytes bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::remove(in.c_str());
  std::remove(out.c_str());
  ::rmdir(dir);
  EXPECT_EQ(rc, 0) << wat;
  return bytes;
}

const char* kTraps = R"((module
  (memory 1)
  (func $load (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func $div (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func $boom (export "boom") unreachable)
  (func $deep (export "deep") (param i32) (result i32)
    (i32.add (call $deep (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
  (func $spin (export "spin") (loop $l (br $l)))
  (func $grow (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))
)";

struct Compiled {
  Store store;
  Linker linker;
  Module module;
  Instance* instance = nullptr;
  explicit Compiled(const std::string& wat, void (*setup)(Linker&, Store&) = nullptr) {
    store.set_engine(Engine::compiled);
    if (setup) setup(linker, store);
    auto m = Module::load(assemble(wat));
    EXPECT_TRUE(m.has_value());
    module = std::move(*m);
    auto i = linker.instantiate(store, module);
    EXPECT_TRUE(i.has_value()) << (i ? "" : i.error().message());
    if (i) instance = *i;
  }
  CallOutcome call(const char* name, std::vector<std::uint64_t> args) {
    auto out = instance->call(name, args);
    EXPECT_TRUE(out.has_value());
    return out ? *out : CallOutcome{};
  }
};

void expect_trap(const CallOutcome& out, TrapKind kind, const char* function) {
  ASSERT_EQ(out.kind, CallOutcome::Kind::trapped);
  EXPECT_EQ(out.trap.kind, kind) << out.trap.describe();
  EXPECT_EQ(out.trap.function, function) << out.trap.describe();
}

void check_traps(Compiled& c) {
  ASSERT_NE(c.instance, nullptr);
  EXPECT_EQ(c.call("load", {0}).kind, CallOutcome::Kind::returned);
  expect_trap(c.call("load", {65534}), TrapKind::memory_out_of_bounds, "load");
  expect_trap(c.call("load", {0xFFFFFFFF}), TrapKind::memory_out_of_bounds, "load");
  expect_trap(c.call("div", {1, 0}), TrapKind::integer_divide_by_zero, "div");
  expect_trap(c.call("div", {0x80000000u, 0xFFFFFFFFu}), TrapKind::integer_overflow, "div");
  expect_trap(c.call("boom", {}), TrapKind::unreachable, "boom");
  expect_trap(c.call("deep", {0}), TrapKind::stack_exhausted, "deep");
  // After the traps the instance still works, and memory grown is memory accessible.
  EXPECT_EQ(c.call("grow", {1}).values.at(0), 1u);
  EXPECT_EQ(c.call("load", {65536 + 100}).kind, CallOutcome::Kind::returned);
  expect_trap(c.call("load", {2 * 65536 - 2}), TrapKind::memory_out_of_bounds, "load");
}

TEST(WasmCompiled, TrapsNameTheFunctionWithGuardPages) {
  ::unsetenv("SPECTRUM_WASM_NO_GUARD");
  Compiled c(kTraps);
  ASSERT_NE(c.instance, nullptr);
  ASSERT_TRUE(c.instance->state().memories[0]->guarded);
  ASSERT_NE(c.instance->state().funcs[0]->native_entry, nullptr) << "not compiled";
  check_traps(c);
}

TEST(WasmCompiled, ExplicitBoundsChecksWhereTheReservationFails) {
  ::setenv("SPECTRUM_WASM_NO_GUARD", "1", 1);
  Compiled c(kTraps);
  ::unsetenv("SPECTRUM_WASM_NO_GUARD");
  ASSERT_NE(c.instance, nullptr);
  ASSERT_FALSE(c.instance->state().memories[0]->guarded);
  check_traps(c);
}

TEST(WasmCompiled, InterruptStopsALoop) {
  Compiled c(kTraps);
  ASSERT_NE(c.instance, nullptr);
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    c.store.interrupt();
  });
  const CallOutcome out = c.call("spin", {});
  stopper.join();
  expect_trap(out, TrapKind::interrupted, "spin");
}

// Small self-recursive functions are unrolled by inlining (src/wasm/llvm/recursion.cc): their
// results, the order of their side effects and their stack exhaustion must stay the interpreter's.
const char* kRecursion = R"((module
  (memory 1)
  (global $pos (mut i32) (i32.const 0))
  (func $fib (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
  (func $walk (param i32)
    (if (i32.ge_s (local.get 0) (i32.const 0))
      (then (i32.store8 (global.get $pos) (local.get 0))
            (global.set $pos (i32.add (global.get $pos) (i32.const 1)))
            (call $walk (i32.sub (local.get 0) (i32.const 1)))
            (call $walk (i32.sub (local.get 0) (i32.const 2))))))
  (func (export "walk_hash") (param i32) (result i32) (local $i i32) (local $h i32)
    (global.set $pos (i32.const 0))
    (call $walk (local.get 0))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (global.get $pos)))
      (local.set $h (i32.add (i32.mul (local.get $h) (i32.const 31)) (i32.load8_u (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (i32.xor (local.get $h) (global.get $pos)))
  (func $runaway (export "runaway") (param i32) (result i32)
    (i32.add (call $runaway (i32.add (local.get 0) (i32.const 1)))
             (call $runaway (i32.add (local.get 0) (i32.const 2))))))
)";

TEST(WasmCompiled, UnrolledRecursionKeepsResultsOrderAndStackExhaustion) {
  Compiled compiled(kRecursion);
  ASSERT_NE(compiled.instance, nullptr);
  ASSERT_NE(compiled.instance->state().funcs[0]->native_entry, nullptr) << "not compiled";
  Store store;
  store.set_engine(Engine::interp);
  Linker linker;
  auto module = Module::load(assemble(kRecursion));
  ASSERT_TRUE(module.has_value());
  auto interpreted = linker.instantiate(store, *module);
  ASSERT_TRUE(interpreted.has_value());
  for (std::uint64_t n : {0, 1, 2, 7, 24}) {
    const std::uint64_t args[] = {n};
    auto expected = (*interpreted)->call("fib", args);
    ASSERT_TRUE(expected.has_value());
    EXPECT_EQ(compiled.call("fib", {n}).values.at(0), expected->values.at(0)) << "fib " << n;
  }
  for (std::uint64_t n : {0, 3, 12}) {
    const std::uint64_t args[] = {n};
    auto expected = (*interpreted)->call("walk_hash", args);
    ASSERT_TRUE(expected.has_value());
    EXPECT_EQ(compiled.call("walk_hash", {n}).values.at(0), expected->values.at(0)) << "walk " << n;
  }
  EXPECT_EQ(compiled.call("fib", {24}).values.at(0), 46368u);
  expect_trap(compiled.call("runaway", {0}), TrapKind::stack_exhausted, "runaway");
  // The instance still works after the exhaustion.
  EXPECT_EQ(compiled.call("fib", {10}).values.at(0), 55u);
}

// The three ways compiled code notices Store::interrupt (docs/wasm.md: interruption): a loop
// without calls by the signal, a loop with calls (time spent in a host function, where the signal
// is ignored) by its per-iteration poll, a recursion without loops by the poll at function entry.
const char* kSpinners = R"((module
  (import "host" "tick" (func $tick))
  (func (export "spin_calls") (loop $l (call $tick) (br $l)))
  (func $tree (export "tree") (param i32)
    (if (local.get 0)
      (then (call $tree (i32.sub (local.get 0) (i32.const 1)))
            (call $tree (i32.sub (local.get 0) (i32.const 1))))))
  (func (export "spin") (loop $l (br $l))))
)";

void define_tick(Linker& linker, Store& store) {
  linker.define_function(store, "host", "tick", FuncType{},
                         [](HostCall&, const std::uint64_t*, std::uint64_t*) { return HostResult::ok(); });
}

TEST(WasmCompiled, InterruptStopsLoopsWithCallsAndLoopFreeRecursion) {
  for (const auto& [name, args] :
       {std::pair<const char*, std::vector<std::uint64_t>>{"spin_calls", {}}, {"tree", {60}}}) {
    Compiled c(kSpinners, define_tick);
    ASSERT_NE(c.instance, nullptr);
    std::thread stopper([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      c.store.interrupt();
    });
    const CallOutcome out = c.call(name, args);
    stopper.join();
    ASSERT_EQ(out.kind, CallOutcome::Kind::trapped) << name;
    EXPECT_EQ(out.trap.kind, TrapKind::interrupted) << name << ": " << out.trap.describe();
  }
}

// An interrupt that came before the call (no thread ran compiled code to be signalled): a loop
// without calls reads the flag before it starts. Should it not, the guard below unblocks the test
// from another thread, with a failure.
TEST(WasmCompiled, InterruptBeforeTheCallStopsALoopWithoutCalls) {
  Compiled c(kSpinners, define_tick);
  ASSERT_NE(c.instance, nullptr);
  c.store.interrupt();
  std::atomic<bool> done{false};
  std::thread guard([&] {
    for (int i = 0; i < 200 && !done.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (!done.load()) {
      ADD_FAILURE() << "the loop did not read the interrupt flag before it started";
      while (!done.load()) {
        c.store.interrupt();
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
  });
  const CallOutcome out = c.call("spin", {});
  done.store(true);
  guard.join();
  expect_trap(out, TrapKind::interrupted, "spin");
}

// SIMD under the compiler: a v128 crosses the uniform entry, a host import, an indirect call
// through a table, a global and a block as the runtime's two slots (low half first), and a vector
// access past the end traps in both bounds modes.
const char* kSimd = R"((module
  (type $vv (func (param v128 i32) (result v128)))
  (import "host" "twice" (func $twice (param i32 v128) (result v128)))
  (memory 1)
  (global $g (mut v128) (v128.const i32x4 1 2 3 4))
  (table 1 funcref)
  (elem (i32.const 0) $add_g)
  (func $add_g (type $vv)
    (i32x4.add (local.get 0) (i32x4.splat (local.get 1))))
  (func (export "mix") (param $v v128) (param $k i32) (result i64 v128 i32)
    (local $w v128)
    (local.set $w (call_indirect (type $vv) (local.get $v) (local.get $k) (i32.const 0)))
    (global.set $g (call $twice (i32.const 3) (local.get $w)))
    (i64x2.extract_lane 1 (global.get $g))
    (block (result v128) (global.get $g))
    (i8x16.bitmask (i8x16.lt_s (local.get $w) (v128.const i8x16 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0))))
  (func (export "load") (param i32) (result i32) (i32x4.extract_lane 3 (v128.load (local.get 0)))))
)";

void check_simd(Compiled& c) {
  ASSERT_NE(c.instance, nullptr);
  ASSERT_NE(c.instance->state().funcs.back()->native_entry, nullptr) << "not compiled";
  // i32x4 (10, 20, 30, -40) + splat 5 = (15, 25, 35, -35); the host multiplies each half by 3.
  const std::uint64_t lo = 10 | std::uint64_t{20} << 32, hi = 30 | std::uint64_t{0xFFFFFFD8} << 32;
  const CallOutcome out = c.call("mix", {lo, hi, 5});
  ASSERT_EQ(out.kind, CallOutcome::Kind::returned) << out.trap.describe();
  ASSERT_EQ(out.values.size(), 4u);
  const std::uint64_t w_lo = 15 | std::uint64_t{25} << 32, w_hi = 35 | std::uint64_t{0xFFFFFFDD} << 32;
  EXPECT_EQ(out.values[0], w_hi * 3);
  EXPECT_EQ(out.values[1], w_lo * 3);
  EXPECT_EQ(out.values[2], w_hi * 3);
  EXPECT_EQ(out.values[3], 0xF000u);  // the bytes of -35 (0xFFFFFFDD): the top four are negative
  EXPECT_EQ(c.call("load", {65536 - 16}).kind, CallOutcome::Kind::returned);
  expect_trap(c.call("load", {65536 - 15}), TrapKind::memory_out_of_bounds, "load");
  expect_trap(c.call("load", {0xFFFFFFFF}), TrapKind::memory_out_of_bounds, "load");
}

// The host import of kSimd: each half of the v128 times the i32.
void define_twice(Linker& linker, Store& store) {
  linker.define_function(store, "host", "twice", FuncType{{ValType::i32, ValType::v128}, {ValType::v128}},
                         [](HostCall&, const std::uint64_t* args, std::uint64_t* results) {
                           results[0] = args[1] * args[0];
                           results[1] = args[2] * args[0];
                           return HostResult::ok();
                         });
}

TEST(WasmCompiled, SimdValuesCrossEveryBoundaryAndTrapInBothBoundsModes) {
  for (const bool guarded : {true, false}) {
    if (guarded)
      ::unsetenv("SPECTRUM_WASM_NO_GUARD");
    else
      ::setenv("SPECTRUM_WASM_NO_GUARD", "1", 1);
    Compiled c(kSimd, define_twice);
    ::unsetenv("SPECTRUM_WASM_NO_GUARD");
    ASSERT_NE(c.instance, nullptr);
    EXPECT_EQ(c.instance->state().memories[0]->guarded, guarded);
    check_simd(c);
  }
}

// The attacks on artifacts: each must be rejected by the loader, never linked or run.
TEST(WasmCompiled, ArtifactsThatDoNotVerifyAreRejected) {
  std::string why;
  auto m = Module::load(assemble(kTraps));
  ASSERT_TRUE(m.has_value());
  Bytes artifact;
  ASSERT_TRUE(compile_artifact(m->data(), false, &artifact, &why)) << why;
  ASSERT_NE(load_artifact(m->data(), false, artifact, &why), nullptr) << why;

  Bytes truncated(artifact.begin(), artifact.begin() + static_cast<std::ptrdiff_t>(artifact.size() / 2));
  EXPECT_EQ(load_artifact(m->data(), false, truncated, &why), nullptr);
  for (std::size_t at : {std::size_t{9}, artifact.size() / 2, artifact.size() - 40}) {
    Bytes flipped = artifact;
    flipped[at] ^= 0x10;
    why.clear();
    EXPECT_EQ(load_artifact(m->data(), false, flipped, &why), nullptr) << "bit flipped at " << at;
    EXPECT_NE(why.find("rejected"), std::string::npos) << why;
  }
  // Another module's artifact, and the other bounds mode's.
  auto other = Module::load(assemble("(module (func (export \"f\") (result i32) (i32.const 7)))"));
  ASSERT_TRUE(other.has_value());
  EXPECT_EQ(load_artifact(other->data(), false, artifact, &why), nullptr);
  EXPECT_NE(why.find("another module"), std::string::npos) << why;
  EXPECT_EQ(load_artifact(m->data(), true, artifact, &why), nullptr);
}

// A cache directory another user could write to is not used: nothing is read from or written to it.
TEST(WasmCompiled, CacheDirectoryMustBeOwnerOnly) {
  char dir_template[] = "/tmp/wasm-cache-test-XXXXXX";
  const std::string dir = ::mkdtemp(dir_template);
  ASSERT_EQ(::chmod(dir.c_str(), 0777), 0);
  std::string why;
  auto m = Module::load(assemble(kTraps));
  ASSERT_TRUE(m.has_value());
  // A planted file in the open directory: never loaded (it is garbage: loading it would fail the
  // compile), and no artifact is written there.
  const std::string planted = cache_file(dir, m->data().bytes, false);
  std::ofstream(planted) << "not an artifact";
  ASSERT_NE(native_code(m->data(), false, dir, true, &why), nullptr) << why;
  std::ifstream in(planted);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "not an artifact");
  // Owner-only: the artifact is written, and a corrupt one is replaced by a good one.
  ASSERT_EQ(::chmod(dir.c_str(), 0700), 0);
  ASSERT_NE(native_code(m->data(), false, dir, true, &why), nullptr) << why;
  std::ifstream good(planted, std::ios::binary);
  Bytes bytes((std::istreambuf_iterator<char>(good)), std::istreambuf_iterator<char>());
  EXPECT_NE(load_artifact(m->data(), false, bytes, &why), nullptr) << why;
  std::remove(planted.c_str());
  ::rmdir(dir.c_str());
}

// Tier-up's switch (docs/wasm.md: --engine auto), without the helper process: an instance of an
// automatic store runs interpreted (nothing cached); in the middle of its loop a host call fills
// the cache and requests the tier-up, and the calls the loop makes after that run compiled code,
// called from the interpreted loop: their results, traps and memory growth come back to it.
const char* kTierUp = R"((module
  (import "host" "compile" (func $compile))
  (import "host" "compiled" (func $compiled (result i32)))
  (memory 1)
  (global $calls (mut i32) (i32.const 0))
  (func $leaf (param i32) (result i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (call $compiled))
  (func $div (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func $grow (result i32) (memory.grow (i32.const 1)))
  (func (export "run") (param $n i32) (param $mode i32) (result i32) (local $i i32)
    (loop $l
      (if (i32.eq (local.get $i) (i32.const 3)) (then (call $compile)))
      (i32.store (i32.shl (local.get $i) (i32.const 2)) (call $leaf (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (if (i32.eq (local.get $mode) (i32.const 1)) (then (drop (call $div (i32.const 1) (i32.const 0)))))
    (if (i32.eq (local.get $mode) (i32.const 2))
      (then (drop (call $grow))
            (i32.store (i32.const 65540) (i32.const 77))
            (return (i32.load (i32.const 65540)))))
    (global.get $calls)))
)";

struct TieredUp {
  std::string cache;
  Store store;
  Linker linker;
  Module module;
  Instance* instance = nullptr;
  TieredUp() {
    char dir_template[] = "/tmp/wasm-tier-up-test-XXXXXX";
    cache = ::mkdtemp(dir_template);
    store.set_engine(Engine::automatic, cache);
    linker.define_function(store, "host", "compile", FuncType{},
                           [this](HostCall&, const std::uint64_t*, std::uint64_t*) {
                             std::string why;
                             if (!native_code(module.data(), false, cache, true, &why))
                               return HostResult::trap("compile: " + why);
                             store.request_tier_up();
                             return HostResult::ok();
                           });
    linker.define_function(store, "host", "compiled", FuncType{{}, {ValType::i32}},
                           [this](HostCall&, const std::uint64_t*, std::uint64_t* results) {
                             results[0] = store.impl().native_thread.load() != 0;
                             return HostResult::ok();
                           });
    auto m = Module::load(assemble(kTierUp));
    EXPECT_TRUE(m.has_value());
    module = std::move(*m);
    auto i = linker.instantiate(store, module);
    EXPECT_TRUE(i.has_value()) << (i ? "" : i.error().message());
    if (i) instance = *i;
    store.set_tier_up([this] { EXPECT_TRUE(attach_native(store, *instance).has_value()); });
  }
  ~TieredUp() { std::filesystem::remove_all(cache); }
  CallOutcome run(std::uint64_t mode) {
    const std::vector<std::uint64_t> args{10, mode};
    auto out = instance->call("run", args);
    EXPECT_TRUE(out.has_value());
    return out ? *out : CallOutcome{};
  }
  std::uint32_t word(std::uint32_t index) const {
    std::uint32_t v;
    std::memcpy(&v, instance->state().memories[0]->data + 4 * index, sizeof v);
    return v;
  }
};

TEST(WasmTierUp, CallsAfterTheRequestRunCompiledCodeFromTheInterpretedLoop) {
  TieredUp t;
  ASSERT_NE(t.instance, nullptr);
  ASSERT_FALSE(t.instance->runs_compiled_code()) << "nothing was cached: it starts interpreted";
  const CallOutcome out = t.run(0);
  ASSERT_EQ(out.kind, CallOutcome::Kind::returned) << out.trap.describe();
  EXPECT_EQ(out.values.at(0), 10u) << "every call counted in the global both engines share";
  EXPECT_TRUE(t.instance->runs_compiled_code());
  for (std::uint32_t i = 0; i < 3; ++i) EXPECT_EQ(t.word(i), 0u) << "call " << i << " before the request";
  EXPECT_EQ(t.word(9), 1u) << "the last call ran compiled code";
  for (std::uint32_t i = 1; i < 10; ++i) EXPECT_GE(t.word(i), t.word(i - 1)) << "once compiled, compiled";
}

TEST(WasmTierUp, ATrapInCompiledCodeEndsTheInterpretedCaller) {
  TieredUp t;
  ASSERT_NE(t.instance, nullptr);
  expect_trap(t.run(1), TrapKind::integer_divide_by_zero, "func[3]");
}

TEST(WasmTierUp, MemoryGrownByCompiledCodeIsTheInterpretedCallersToo) {
  TieredUp t;
  ASSERT_NE(t.instance, nullptr);
  const CallOutcome out = t.run(2);
  ASSERT_EQ(out.kind, CallOutcome::Kind::returned) << out.trap.describe();
  EXPECT_EQ(out.values.at(0), 77u);
}

TEST(WasmTierUp, ARequestWithoutAnInstallerIsDroppedAndInterruptStillStops) {
  TieredUp t;
  ASSERT_NE(t.instance, nullptr);
  t.store.set_tier_up({});
  t.store.request_tier_up();
  EXPECT_FALSE(t.store.interrupted()) << "a tier-up request is no interruption";
  t.store.set_tier_up({});  // drops the pending request
  t.store.interrupt();
  expect_trap(t.run(0), TrapKind::interrupted, "run");
}

}  // namespace
