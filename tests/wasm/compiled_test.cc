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
#include <fstream>
#include <thread>

#include "wasm/engine.h"
#include "wasm/module.h"
#include "wasm/native.h"

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
  explicit Compiled(const std::string& wat) {
    store.set_engine(Engine::compiled);
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

TEST(WasmCompiled, SimdIsRefusedWithTheReason) {
  Store store;
  store.set_engine(Engine::compiled);
  Linker linker;
  auto m = Module::load(assemble("(module (func (export \"f\") (drop (v128.const i32x4 1 2 3 4))))"));
  ASSERT_TRUE(m.has_value());
  auto i = linker.instantiate(store, *m);
  ASSERT_FALSE(i.has_value());
  EXPECT_NE(i.error().message().find("SIMD"), std::string::npos) << i.error().message();
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

}  // namespace
