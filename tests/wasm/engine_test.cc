// Unit tests of the engine through its embedding API: decoder edge cases with byte offsets,
// host functions, exits, traps with names and offsets, limits (memory, call depth, fuel) and the
// interrupt flag. Modules are written in the text format and assembled by wabt's wat2wasm.
#include "wasm/engine.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

using namespace spectrum::wasm;
using Bytes = std::vector<std::uint8_t>;

namespace {

Bytes assemble(const std::string& wat) {
  char dir_template[] = "/tmp/wasm-engine-test-XXXXXX";
  const char* dir = ::mkdtemp(dir_template);
  EXPECT_NE(dir, nullptr);
  const std::string in = std::string(dir) + "/m.wat", out = std::string(dir) + "/m.wasm";
  std::ofstream(in) << wat;
  const std::string cmd = std::string(WAT2WASM) + " --enable-all " + in + " -o " + out;
  const int rc = std::system(cmd.c_str());
  std::ifstream f(out, std::ios::binary);
  Bytes bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::remove(in.c_str());
  std::remove(out.c_str());
  ::rmdir(dir);
  EXPECT_EQ(rc, 0) << wat;
  return bytes;
}

Bytes with_header(std::initializer_list<std::uint8_t> sections) {
  Bytes b = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
  for (std::uint8_t byte : sections) b.push_back(byte);
  return b;
}

std::string load_error(const Bytes& bytes) {
  auto m = Module::load(bytes);
  return m ? std::string("(loaded)") : m.error().message();
}

struct Env {
  explicit Env(const std::string& wat, StoreLimits limits = {}) : store(limits) {
    auto m = Module::load(assemble(wat));
    EXPECT_TRUE(m.has_value()) << (m ? "" : m.error().message());
    module = std::move(*m);
  }
  Instance* instantiate() {
    auto i = linker.instantiate(store, module);
    EXPECT_TRUE(i.has_value()) << (i ? "" : i.error().message());
    return i ? *i : nullptr;
  }
  Store store;
  Linker linker;
  Module module;
};

}  // namespace

// ---- decoder

TEST(WasmDecoder, RejectsBadMagicAndVersionAtTheirOffsets) {
  // Too short to hold a header is the reference interpreter's "unexpected end", not a bad magic.
  EXPECT_NE(load_error({0x00, 0x61, 0x73}).find("byte 0x0: unexpected end"), std::string::npos);
  EXPECT_NE(load_error({0x00, 0x61, 0x73, 0x6e}).find("byte 0x0: magic header not detected"),
            std::string::npos);
  EXPECT_NE(
      load_error({0x00, 0x61, 0x73, 0x6d, 0x02, 0x00, 0x00, 0x00}).find("byte 0x4: unknown binary version"),
      std::string::npos);
}

TEST(WasmDecoder, AcceptsTheEmptyModule) { EXPECT_EQ(load_error(with_header({})), "(loaded)"); }

TEST(WasmDecoder, Leb128TooLongIsMalformed) {
  // A type section whose size is a 6-byte u32 LEB: longer than ceil(32/7) = 5 bytes.
  EXPECT_NE(load_error(with_header({0x01, 0x81, 0x80, 0x80, 0x80, 0x80, 0x00}))
                .find("integer representation too long"),
            std::string::npos);
}

TEST(WasmDecoder, Leb128UnusedBitsMustBeZero) {
  // Section size 5 bytes long whose last byte sets bits beyond 32.
  const std::string e = load_error(with_header({0x01, 0x80, 0x80, 0x80, 0x80, 0x70}));
  EXPECT_NE(e.find("integer too large"), std::string::npos) << e;
  EXPECT_NE(e.find("byte 0x9"), std::string::npos) << e;
}

TEST(WasmDecoder, Leb128PaddedButInRangeIsAccepted) {
  // Type section of size 1 written as a padded 5-byte LEB, holding zero types.
  EXPECT_EQ(load_error(with_header({0x01, 0x81, 0x80, 0x80, 0x80, 0x00, 0x00})), "(loaded)");
}

TEST(WasmDecoder, SignedLeb128SignBitsChecked) {
  // i32.const with a 5-byte signed LEB whose unused bits disagree with the sign: malformed.
  const Bytes bad = with_header({0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f,  // type () -> i32
                                 0x03, 0x02, 0x01, 0x00,                    // func 0: type 0
                                 0x0a, 0x0a, 0x01, 0x08, 0x00, 0x41, 0xff, 0xff, 0xff, 0xff, 0x4f, 0x0b});
  EXPECT_NE(load_error(bad).find("integer too large"), std::string::npos) << load_error(bad);
  const Bytes good = with_header({0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f, 0x03, 0x02, 0x01, 0x00, 0x0a,
                                  0x0a, 0x01, 0x08, 0x00, 0x41, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x0b});
  EXPECT_EQ(load_error(good), "(loaded)");
}

TEST(WasmDecoder, SectionsOutOfOrderRejected) {
  // A function section (3) before a type section (1).
  EXPECT_NE(load_error(with_header({0x03, 0x01, 0x00, 0x01, 0x01, 0x00})).find("out of order"),
            std::string::npos);
}

TEST(WasmDecoder, SectionSizeMismatchRejected) {
  EXPECT_NE(load_error(with_header({0x01, 0x02, 0x00, 0x00})).find("section size mismatch"),
            std::string::npos);
}

TEST(WasmDecoder, SimdTypesLoadAndTruncatedSimdIsMalformed) {
  const Bytes v128_param = with_header({0x01, 0x05, 0x01, 0x60, 0x01, 0x7b, 0x00});
  EXPECT_EQ(load_error(v128_param), "(loaded)");
  // A body whose v128.const lacks its 16 bytes.
  const Bytes simd_op = with_header({0x01, 0x04, 0x01, 0x60, 0x00, 0x00, 0x03, 0x02, 0x01, 0x00, 0x0a, 0x06,
                                     0x01, 0x04, 0x00, 0xfd, 0x0c, 0x0b});
  EXPECT_NE(load_error(simd_op).find("unexpected end"), std::string::npos) << load_error(simd_op);
  // A sub-opcode beyond the table.
  const Bytes unknown = with_header({0x01, 0x04, 0x01, 0x60, 0x00, 0x00, 0x03, 0x02, 0x01, 0x00, 0x0a, 0x07,
                                     0x01, 0x05, 0x00, 0xfd, 0x9a, 0x01, 0x0b});
  EXPECT_NE(load_error(unknown).find("illegal opcode 0xfd 154"), std::string::npos) << load_error(unknown);
}

TEST(WasmDecoder, CustomSectionsKeptAndNamesRead) {
  const Bytes bytes = assemble(R"((module (func $the_answer (export "f") (result i32) i32.const 42)))");
  // wat2wasm writes no name section by default; add one by hand: custom "name", functions {0: "x"}.
  Bytes with_names = bytes;
  const Bytes custom = {0x00, 0x0b, 0x04, 'n', 'a', 'm', 'e', 0x01, 0x04, 0x01, 0x00, 0x01, 'x'};
  with_names.insert(with_names.end(), custom.begin(), custom.end());
  auto m = Module::load(with_names);
  ASSERT_TRUE(m) << m.error().message();
  bool found = false;
  for (const auto& s : m->sections())
    if (s.id == 0 && s.name == "name") found = true;
  EXPECT_TRUE(found);
  EXPECT_EQ(m->function_name(0), "x");
}

TEST(WasmValidator, TypeMismatchNamesTheOffset) {
  // (func (result i32) i64.const 0): the body's end sees an i64.
  const Bytes bytes = with_header({0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f, 0x03, 0x02, 0x01, 0x00, 0x0a,
                                   0x06, 0x01, 0x04, 0x00, 0x42, 0x00, 0x0b});
  const std::string e = load_error(bytes);
  EXPECT_NE(e.find("type mismatch"), std::string::npos) << e;
  EXPECT_NE(e.find("byte 0x"), std::string::npos) << e;
}

// ---- execution

TEST(WasmEngine, CallsAnExportWithArgumentsAndResults) {
  Env env(R"((module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)))");
  Instance* inst = env.instantiate();
  ASSERT_NE(inst, nullptr);
  auto out = inst->call("add", std::vector<std::uint64_t>{40, 2});
  ASSERT_TRUE(out);
  ASSERT_EQ(out->kind, CallOutcome::Kind::returned);
  EXPECT_EQ(out->values, std::vector<std::uint64_t>{42});
  EXPECT_FALSE(inst->call("add", std::vector<std::uint64_t>{1}));  // wrong arity is an Error
  EXPECT_FALSE(inst->call("nope", {}));
}

TEST(WasmEngine, RecursionAndLoops) {
  Env env(R"((module
    (func $fib (export "fib") (param i32) (result i32)
      (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
        (then (local.get 0))
        (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                       (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
    (func (export "sum") (param i32) (result i64) (local i64)
      (block (loop
        (br_if 1 (i32.eqz (local.get 0)))
        (local.set 1 (i64.add (local.get 1) (i64.extend_i32_u (local.get 0))))
        (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
        (br 0)))
      (local.get 1))))");
  Instance* inst = env.instantiate();
  ASSERT_NE(inst, nullptr);
  EXPECT_EQ(inst->call("fib", std::vector<std::uint64_t>{20})->values[0], 6765u);
  EXPECT_EQ(inst->call("sum", std::vector<std::uint64_t>{100000})->values[0], 5000050000u);
}

TEST(WasmEngine, HostFunctionSeesMemoryAndArguments) {
  Env env(R"((module
    (import "host" "sum_bytes" (func $sum (param i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 16) "\01\02\03\04")
    (func (export "run") (result i32) (call $sum (i32.const 16) (i32.const 4)))))");
  env.linker.define_function(env.store, "host", "sum_bytes",
                             FuncType{{ValType::i32, ValType::i32}, {ValType::i32}},
                             [](HostCall& call, const std::uint64_t* args, std::uint64_t* results) {
                               MemoryView m = call.memory();
                               if (args[0] + args[1] > m.size) return HostResult::trap("out of range");
                               std::uint32_t sum = 0;
                               for (std::uint64_t i = 0; i < args[1]; ++i) sum += m.data[args[0] + i];
                               results[0] = sum;
                               return HostResult::ok();
                             });
  Instance* inst = env.instantiate();
  ASSERT_NE(inst, nullptr);
  auto out = inst->call("run", {});
  ASSERT_EQ(out->kind, CallOutcome::Kind::returned);
  EXPECT_EQ(out->values[0], 10u);
  const std::uint8_t data[] = {9, 9};
  ASSERT_TRUE(inst->write_memory(16, data));
  EXPECT_EQ(inst->call("run", {})->values[0], 9u + 9 + 3 + 4);
  std::uint8_t back[4];
  ASSERT_TRUE(inst->read_memory(16, back));
  EXPECT_EQ(back[3], 4);
  EXPECT_FALSE(inst->read_memory(65535, back));  // crosses the end of memory
}

TEST(WasmEngine, HostExitUnwindsEveryFrame) {
  Env env(R"((module
    (import "env" "exit" (func $exit (param i32)))
    (func $deep (param i32) (if (i32.eqz (local.get 0)) (then (call $exit (i32.const 7)) unreachable))
      (call $deep (i32.sub (local.get 0) (i32.const 1))))
    (func (export "run") (call $deep (i32.const 100)) unreachable)))");
  env.linker.define_function(env.store, "env", "exit", FuncType{{ValType::i32}, {}},
                             [](HostCall&, const std::uint64_t* args, std::uint64_t*) {
                               return HostResult::exit(static_cast<std::int32_t>(args[0]));
                             });
  Instance* inst = env.instantiate();
  ASSERT_NE(inst, nullptr);
  auto out = inst->call("run", {});
  ASSERT_EQ(out->kind, CallOutcome::Kind::exited);
  EXPECT_EQ(out->exit_code, 7);
  // The store is usable again afterwards.
  auto again = inst->call("run", {});
  EXPECT_EQ(again->kind, CallOutcome::Kind::exited);
}

TEST(WasmEngine, TrapsNameTheFunctionAndOffset) {
  Env env(R"((module
    (memory 1)
    (func $reads_far (export "oob") (result i32) (i32.load (i32.const 65535)))
    (func (export "div") (param i32) (result i32) (i32.div_s (i32.const 1) (local.get 0)))
    (func (export "trunc") (result i32) (i32.trunc_f32_s (f32.const nan)))
    (func (export "unreachable") unreachable)))");
  Instance* inst = env.instantiate();
  ASSERT_NE(inst, nullptr);
  auto oob = inst->call("oob", {});
  ASSERT_EQ(oob->kind, CallOutcome::Kind::trapped);
  EXPECT_EQ(oob->trap.kind, TrapKind::memory_out_of_bounds);
  EXPECT_EQ(oob->trap.function, "oob");
  EXPECT_GT(oob->trap.offset, 8u);
  EXPECT_NE(oob->trap.describe().find("out of bounds memory access in oob at byte 0x"), std::string::npos);
  EXPECT_EQ(inst->call("div", std::vector<std::uint64_t>{0})->trap.kind, TrapKind::integer_divide_by_zero);
  EXPECT_EQ(inst->call("trunc", {})->trap.kind, TrapKind::invalid_conversion);
  EXPECT_EQ(inst->call("unreachable", {})->trap.kind, TrapKind::unreachable);
}

TEST(WasmEngine, InfiniteRecursionIsACleanTrap) {
  StoreLimits limits;
  limits.max_call_depth = 1000;
  Env env(R"((module (func $f (export "f") (call $f))))", limits);
  Instance* inst = env.instantiate();
  ASSERT_NE(inst, nullptr);
  auto out = inst->call("f", {});
  ASSERT_EQ(out->kind, CallOutcome::Kind::trapped);
  EXPECT_EQ(out->trap.kind, TrapKind::stack_exhausted);
}

TEST(WasmEngine, MemoryLimitCapsGrowthAndInstantiation) {
  StoreLimits limits;
  limits.max_memory_pages = 4;
  Env env(
      R"((module (memory 2) (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))))",
      limits);
  Instance* inst = env.instantiate();
  ASSERT_NE(inst, nullptr);
  EXPECT_EQ(inst->call("grow", std::vector<std::uint64_t>{2})->values[0], 2u);
  EXPECT_EQ(inst->call("grow", std::vector<std::uint64_t>{1})->values[0], 0xFFFFFFFFu);  // -1
  EXPECT_EQ(inst->memory().size, 4 * kPageSize);

  Env big(R"((module (memory 5)))", limits);
  auto i = big.linker.instantiate(big.store, big.module);
  ASSERT_FALSE(i);
  EXPECT_NE(i.error().message().find("exceeds the limit"), std::string::npos);
}

TEST(WasmEngine, InterruptStopsATightLoopFromAnotherThread) {
  Env env(R"((module (func (export "spin") (loop (br 0)))))");
  Instance* inst = env.instantiate();
  ASSERT_NE(inst, nullptr);
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    env.store.interrupt();
  });
  auto out = inst->call("spin", {});
  stopper.join();
  ASSERT_EQ(out->kind, CallOutcome::Kind::trapped);
  EXPECT_EQ(out->trap.kind, TrapKind::interrupted);
}

TEST(WasmEngine, FuelEndsRunawayCode) {
  StoreLimits limits;
  limits.fuel = 1000;
  Env env(R"((module (func (export "spin") (loop (br 0)))))", limits);
  Instance* inst = env.instantiate();
  ASSERT_NE(inst, nullptr);
  auto out = inst->call("spin", {});
  ASSERT_EQ(out->kind, CallOutcome::Kind::trapped);
  EXPECT_EQ(out->trap.kind, TrapKind::out_of_fuel);
}

TEST(WasmEngine, LinkingBetweenInstancesAndIndirectCalls) {
  Store store;
  Linker linker;
  auto lib = Module::load(assemble(R"((module
    (func (export "twice") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
    (table (export "table") 2 funcref)
    (global (export "counter") (mut i32) (i32.const 5))))"));
  ASSERT_TRUE(lib);
  auto lib_inst = linker.instantiate(store, *lib, "lib");
  ASSERT_TRUE(lib_inst) << lib_inst.error().message();
  auto app = Module::load(assemble(R"((module
    (import "lib" "twice" (func $twice (param i32) (result i32)))
    (import "lib" "table" (table 2 funcref))
    (import "lib" "counter" (global $c (mut i32)))
    (type $t (func (param i32) (result i32)))
    (elem (i32.const 1) $twice)
    (func (export "via_table") (param i32) (result i32)
      (global.set $c (i32.add (global.get $c) (i32.const 1)))
      (call_indirect (type $t) (local.get 0) (i32.const 1)))
    (func (export "null_slot") (result i32) (call_indirect (type $t) (i32.const 0) (i32.const 0)))))"));
  ASSERT_TRUE(app);
  auto app_inst = linker.instantiate(store, *app);
  ASSERT_TRUE(app_inst) << app_inst.error().message();
  EXPECT_EQ((*app_inst)->call("via_table", std::vector<std::uint64_t>{21})->values[0], 42u);
  EXPECT_EQ(global_get((*lib_inst)->find_export("counter")->global), 6u);
  EXPECT_EQ((*app_inst)->call("null_slot", {})->trap.kind, TrapKind::uninitialized_element);

  auto missing = Module::load(assemble(R"((module (import "lib" "nope" (func))))"));
  ASSERT_TRUE(missing);
  auto failed = linker.instantiate(store, *missing);
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().message().find("unknown import"), std::string::npos);
}

// ---- issue 10: what an attack on the sandbox found

namespace {

void leb(Bytes& b, std::uint32_t v) {
  do {
    std::uint8_t byte = v & 0x7F;
    v >>= 7;
    if (v) byte |= 0x80;
    b.push_back(byte);
  } while (v);
}
void section(Bytes& module, std::uint8_t id, const Bytes& content) {
  module.push_back(id);
  leb(module, static_cast<std::uint32_t>(content.size()));
  module.insert(module.end(), content.begin(), content.end());
}
// `functions` functions of `locals` i64 locals each, doing nothing (or calling themselves when
// `recurse`), and an export "run" that calls each once. Written as bytes: in the text format
// 50,000 locals would be 50,000 words.
Bytes many_locals_module(std::uint32_t functions, std::uint32_t locals, bool recurse) {
  Bytes m = with_header({});
  section(m, 1, {0x01, 0x60, 0x00, 0x00});  // one type: () -> ()
  Bytes funcs;
  leb(funcs, functions + 1);
  for (std::uint32_t i = 0; i <= functions; ++i) funcs.push_back(0);
  section(m, 3, funcs);
  Bytes exports = {0x01, 0x03, 'r', 'u', 'n', 0x00};
  leb(exports, functions);
  section(m, 7, exports);
  Bytes code;
  leb(code, functions + 1);
  for (std::uint32_t i = 0; i < functions; ++i) {
    Bytes body = {0x01};
    leb(body, locals);
    body.push_back(0x7E);
    if (recurse) {
      body.push_back(0x10);
      leb(body, i);
    }
    body.push_back(0x0B);
    leb(code, static_cast<std::uint32_t>(body.size()));
    code.insert(code.end(), body.begin(), body.end());
  }
  Bytes run = {0x00};
  for (std::uint32_t i = 0; i < functions; ++i) {
    run.push_back(0x10);
    leb(run, i);
  }
  run.push_back(0x0B);
  leb(code, static_cast<std::uint32_t>(run.size()));
  code.insert(code.end(), run.begin(), run.end());
  section(m, 10, code);
  return m;
}

// 2^61 calls and not one loop.
constexpr const char* kLoopFreeRecursion = R"((module
  (func $calls (param $depth i32)
    (br_if 0 (i32.eqz (local.get $depth)))
    (call $calls (i32.sub (local.get $depth) (i32.const 1)))
    (call $calls (i32.sub (local.get $depth) (i32.const 1))))
  (func (export "run") (call $calls (i32.const 60)))))";

StoreLimits budget_of(std::uint64_t bytes) {
  StoreLimits limits;
  limits.max_memory_bytes = bytes;
  return limits;
}

}  // namespace

TEST(WasmEngine, InterruptStopsLoopFreeRecursion) {
  Env env(kLoopFreeRecursion);
  Instance* inst = env.instantiate();
  ASSERT_NE(inst, nullptr);
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    env.store.interrupt();
  });
  auto out = inst->call("run", {});
  stopper.join();
  ASSERT_EQ(out->kind, CallOutcome::Kind::trapped);
  EXPECT_EQ(out->trap.kind, TrapKind::interrupted);
}

TEST(WasmEngine, FuelCountsCalls) {
  StoreLimits limits;
  limits.fuel = 100000;
  Env env(kLoopFreeRecursion, limits);
  Instance* inst = env.instantiate();
  ASSERT_NE(inst, nullptr);
  auto out = inst->call("run", {});
  ASSERT_EQ(out->kind, CallOutcome::Kind::trapped);
  EXPECT_EQ(out->trap.kind, TrapKind::out_of_fuel);
}

TEST(WasmEngine, StartFunctionOutcomeIsGivenToTheEmbedder) {
  for (const char* body : {"(call $exit (i32.const 42))", "unreachable"}) {
    Env env(std::string(R"((module (import "env" "exit" (func $exit (param i32)))
        (func $start )") +
            body + ") (start $start))");
    env.linker.define_function(env.store, "env", "exit", FuncType{{ValType::i32}, {}},
                               [](HostCall&, const std::uint64_t* args, std::uint64_t*) {
                                 return HostResult::exit(static_cast<std::int32_t>(args[0]));
                               });
    CallOutcome start;
    auto inst = env.linker.instantiate(env.store, env.module, start);
    ASSERT_TRUE(inst) << inst.error().message();
    EXPECT_EQ(*inst, nullptr);
    if (std::string(body) == "unreachable") {
      ASSERT_EQ(start.kind, CallOutcome::Kind::trapped);
      EXPECT_EQ(start.trap.kind, TrapKind::unreachable);
    } else {
      ASSERT_EQ(start.kind, CallOutcome::Kind::exited);
      EXPECT_EQ(start.exit_code, 42);
    }
    // The spec's embedding keeps its Error (assert_uninstantiable matches the trap's text).
    EXPECT_FALSE(env.linker.instantiate(env.store, env.module));
  }
}

TEST(WasmEngine, BudgetRefusesTablesBeyondIt) {
  std::string wat = "(module";
  for (int i = 0; i < 20; ++i) wat += " (table 10000000 funcref)";
  Env env(wat + ")", budget_of(64u << 20));
  auto inst = env.linker.instantiate(env.store, env.module);
  ASSERT_FALSE(inst);
  EXPECT_EQ(inst.error().sys_errno(), ENOMEM) << inst.error().message();
  // Within the budget the same table is made.
  Env fits("(module (table 1000000 funcref))", budget_of(64u << 20));
  EXPECT_NE(fits.instantiate(), nullptr);
}

TEST(WasmEngine, BudgetIsSharedByTableGrowAndMemoryGrow) {
  Env env(R"((module (memory 1) (table $t 0 funcref)
    (func (export "table") (param i32) (result i32) (table.grow $t (ref.null func) (local.get 0)))
    (func (export "memory") (param i32) (result i32) (memory.grow (local.get 0)))))",
          budget_of(16u << 20));
  Instance* inst = env.instantiate();
  ASSERT_NE(inst, nullptr);
  // 1M elements are 8 MiB; a second million does not fit beside them (16 MiB in all).
  EXPECT_EQ(inst->call("table", std::vector<std::uint64_t>{1'000'000})->values[0], 0u);
  EXPECT_EQ(inst->call("table", std::vector<std::uint64_t>{1'000'000})->values[0], 0xFFFFFFFFu);
  // What is left is less than 8 MiB of memory pages (128 pages).
  EXPECT_EQ(inst->call("memory", std::vector<std::uint64_t>{128})->values[0], 0xFFFFFFFFu);
  EXPECT_EQ(inst->call("memory", std::vector<std::uint64_t>{16})->values[0], 1u);
}

TEST(WasmEngine, BudgetBoundsFramesTheModuleSizes) {
  // 400 KB frames recursing: the stack sized to the budget runs out, not the host.
  auto module = Module::load(many_locals_module(1, 50000, true));
  ASSERT_TRUE(module) << module.error().message();
  Store store(budget_of(16u << 20));
  Linker linker;
  auto inst = linker.instantiate(store, *module);
  ASSERT_TRUE(inst) << inst.error().message();
  auto out = (*inst)->call("run", {});
  ASSERT_EQ(out->kind, CallOutcome::Kind::trapped);
  EXPECT_EQ(out->trap.kind, TrapKind::stack_exhausted);
}

TEST(WasmEngine, BudgetChargesTranslatedCode) {
  // 200 functions of 50,000 locals: each one's frame image is 400 KB once translated (80 MB).
  auto module = Module::load(many_locals_module(200, 50000, false));
  ASSERT_TRUE(module) << module.error().message();
  Store store(budget_of(16u << 20));
  Linker linker;
  auto inst = linker.instantiate(store, *module);
  ASSERT_TRUE(inst) << inst.error().message();
  auto out = (*inst)->call("run", {});
  ASSERT_EQ(out->kind, CallOutcome::Kind::trapped);
  EXPECT_EQ(out->trap.kind, TrapKind::out_of_memory);
}

// ---- SIMD: a v128 takes two slots in frames and at the API, its low half first

TEST(WasmSimd, V128ValuesCrossCallsBlocksLocalsAndGlobalsBesideScalars) {
  Env env(R"((module
    (global $g (mut v128) (v128.const i32x4 1 2 3 4))
    (func $mix (param $a i32) (param $v v128) (param $b i64) (result i64 v128 i32)
      (local $w v128) (local $c i32)
      (local.set $w (i32x4.add (local.get $v) (global.get $g)))
      (local.set $c (i32.add (local.get $a) (i32.wrap_i64 (local.get $b))))
      (global.set $g (local.get $w))
      (block (result v128)
        (br_if 0 (local.get $w) (i32.eqz (local.get $c)))
        (drop)
        (select (local.get $w) (local.get $v) (local.get $c)))
      (local.set $w)
      (i64.extend_i32_u (i32x4.extract_lane 3 (local.get $w)))
      (local.get $w)
      (local.get $c))
    (func (export "call") (param v128) (result i64 v128 i32)
      (call $mix (i32.const 5) (local.get 0) (i64.const 7)))
    (func (export "g") (result v128) (global.get $g))))");
  Instance* inst = env.instantiate();
  ASSERT_NE(inst, nullptr);
  // The argument i32x4 (10, 20, 30, 40) as two slots.
  const std::uint64_t lo = 10 | std::uint64_t{20} << 32, hi = 30 | std::uint64_t{40} << 32;
  auto out = inst->call("call", std::vector<std::uint64_t>{lo, hi});
  ASSERT_TRUE(out) << out.error().message();
  ASSERT_EQ(out->kind, CallOutcome::Kind::returned) << out->trap.describe();
  // Results: i64, then the v128's two slots, then i32: $c = 12 is non-zero, so select picks $w.
  ASSERT_EQ(out->values.size(), 4u);
  EXPECT_EQ(out->values[0], 44u);
  EXPECT_EQ(out->values[1], 11 | std::uint64_t{22} << 32);
  EXPECT_EQ(out->values[2], 33 | std::uint64_t{44} << 32);
  EXPECT_EQ(out->values[3], 12u);
  auto g = inst->call("g", std::vector<std::uint64_t>{});
  ASSERT_TRUE(g);
  ASSERT_EQ(g->values.size(), 2u);
  EXPECT_EQ(g->values[1], 33 | std::uint64_t{44} << 32);
  // A wrong argument count names the slots.
  EXPECT_FALSE(inst->call("call", std::vector<std::uint64_t>{lo}));
}

TEST(WasmSimd, HostFunctionsSeeAV128AsTwoSlots) {
  Env env(R"((module
    (import "host" "f" (func $f (param i32 v128) (result v128)))
    (func (export "run") (result i64)
      (i64x2.extract_lane 1 (call $f (i32.const 3) (v128.const i64x2 100 200))))))");
  std::vector<std::uint64_t> seen;
  env.linker.define_function(env.store, "host", "f", FuncType{{ValType::i32, ValType::v128}, {ValType::v128}},
                             [&](HostCall&, const std::uint64_t* args, std::uint64_t* results) {
                               seen.assign(args, args + 3);
                               results[0] = args[1] * args[0];
                               results[1] = args[2] * args[0];
                               return HostResult::ok();
                             });
  Instance* inst = env.instantiate();
  ASSERT_NE(inst, nullptr);
  auto out = inst->call("run", std::vector<std::uint64_t>{});
  ASSERT_TRUE(out) << out.error().message();
  ASSERT_EQ(out->kind, CallOutcome::Kind::returned) << out->trap.describe();
  EXPECT_EQ(out->values.at(0), 600u);
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{3, 100, 200}));
}

TEST(WasmSimd, OutOfBoundsVectorAccessTrapsAtTheLastByte) {
  Env env(R"((module (memory 1)
    (func (export "load") (param i32) (result i32) (i32x4.extract_lane 0 (v128.load (local.get 0))))
    (func (export "store_lane") (param i32) (v128.store64_lane 1 (local.get 0) (v128.const i64x2 1 2)))))");
  Instance* inst = env.instantiate();
  ASSERT_NE(inst, nullptr);
  auto ok = inst->call("load", std::vector<std::uint64_t>{65536 - 16});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->kind, CallOutcome::Kind::returned);
  auto bad = inst->call("load", std::vector<std::uint64_t>{65536 - 15});
  ASSERT_TRUE(bad);
  ASSERT_EQ(bad->kind, CallOutcome::Kind::trapped);
  EXPECT_EQ(bad->trap.kind, TrapKind::memory_out_of_bounds);
  auto lane = inst->call("store_lane", std::vector<std::uint64_t>{65536 - 7});
  ASSERT_TRUE(lane);
  EXPECT_EQ(lane->trap.kind, TrapKind::memory_out_of_bounds);
}

TEST(WasmSimd, V128GlobalsAreSharedWholeBetweenInstancesAndTypeChecked) {
  Store store;
  Linker linker;
  auto lib = Module::load(assemble(R"((module
    (global (export "v") (mut v128) (v128.const i64x2 1 2))
    (global (export "k") v128 (v128.const i64x2 3 4))))"));
  ASSERT_TRUE(lib);
  auto lib_inst = linker.instantiate(store, *lib, "lib");
  ASSERT_TRUE(lib_inst) << lib_inst.error().message();
  // An importer adds the constant global (copied whole at instantiation) to the mutable one.
  auto app = Module::load(assemble(R"((module
    (import "lib" "v" (global $v (mut v128)))
    (import "lib" "k" (global $k v128))
    (global $copy v128 (global.get $k))
    (func (export "bump") (global.set $v (i64x2.add (global.get $v) (global.get $copy))))))"));
  ASSERT_TRUE(app);
  auto app_inst = linker.instantiate(store, *app);
  ASSERT_TRUE(app_inst) << app_inst.error().message();
  ASSERT_TRUE((*app_inst)->call("bump", std::vector<std::uint64_t>{}));
  const Global* v = (*lib_inst)->find_export("v")->global;
  EXPECT_EQ(global_get(v), 4u);
  EXPECT_EQ(global_get_high(v), 6u);
  // A v128 global does not satisfy an i64 import.
  auto wrong = Module::load(assemble(R"((module (import "lib" "k" (global i64))))"));
  ASSERT_TRUE(wrong);
  auto failed = linker.instantiate(store, *wrong);
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().message().find("incompatible import type"), std::string::npos);
}
