// The WebAssembly core spec-suite runner: converts each .wast with wast2json (wabt) into a
// scratch folder, then executes every command of the JSON script against the engine's embedding
// API. Prints, per file, passed/failed/skipped and a total line; exits 1 if any assertion failed.
// Texts are checked as the reference interpreter does (the message must begin with the spec's
// text): a mismatch fails assert_trap, assert_exhaustion, assert_unlinkable and
// assert_uninstantiable; for assert_invalid/assert_malformed it is counted and listed with
// --verbose (the decoder words a few rejections otherwise), the rejection itself still passes.
//
//   spec_runner --out DIR [--wast2json PATH] [--engine interp|compiled|auto] [--verbose] FILE.wast...
#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "wasm/engine.h"

using nlohmann::json;
using namespace spectrum::wasm;

namespace {

struct Counts {
  int passed = 0, failed = 0, skipped = 0;
  // assert_invalid/assert_malformed rejected for another reason than the spec's text (the
  // rejection passes; the text is reported, not failed: the decoder's wording differs in a few).
  int other_reason = 0;
  std::map<std::string, int> skip_reasons;
};

// An engine error without its "byte 0x1a3: " prefix.
std::string_view reason_of(std::string_view message) {
  if (message.starts_with("byte 0x")) {
    if (const auto colon = message.find(": "); colon != std::string_view::npos)
      return message.substr(colon + 2);
  }
  return message;
}

std::vector<std::uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<std::uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

// An expected or argument value from the JSON script. A v128 is its lanes, each a scalar value
// of the lane type (so that a float lane may be a NaN pattern); the slots are its two halves.
struct ScriptValue {
  ValType type;
  std::uint64_t bits = 0;
  enum class Nan { none, canonical, arithmetic } nan = Nan::none;
  bool any_non_null = false;
  std::vector<ScriptValue> lanes;
  int lane_bits = 0;
  std::uint64_t bits_hi = 0;
};

bool parse_value(const json& v, ScriptValue& out);

bool parse_v128(const json& v, ScriptValue& out) {
  out.type = ValType::v128;
  const std::string lane_type = v.at("lane_type");
  out.lane_bits = lane_type == "i8"                            ? 8
                  : lane_type == "i16"                         ? 16
                  : (lane_type == "i32" || lane_type == "f32") ? 32
                                                               : 64;
  const std::string scalar = lane_type == "f32" ? "f32" : lane_type == "f64" ? "f64" : "i64";
  unsigned char bytes[16] = {};
  int lane = 0;
  for (const json& x : v.at("value")) {
    ScriptValue l;
    if (!parse_value(json{{"type", scalar}, {"value", x}}, l)) return false;
    const int width = out.lane_bits / 8;
    if ((lane + 1) * width > 16) return false;
    std::memcpy(bytes + lane * width, &l.bits, width);  // little-endian: the low bytes
    out.lanes.push_back(l);
    ++lane;
  }
  if (lane * out.lane_bits != 128) return false;
  std::memcpy(&out.bits, bytes, 8);
  std::memcpy(&out.bits_hi, bytes + 8, 8);
  return true;
}

bool parse_value(const json& v, ScriptValue& out) {
  const std::string type = v.at("type");
  if (type == "v128") return parse_v128(v, out);
  const std::string value = v.contains("value") ? v.at("value").get<std::string>() : "";
  if (type == "i32")
    out.type = ValType::i32;
  else if (type == "i64")
    out.type = ValType::i64;
  else if (type == "f32")
    out.type = ValType::f32;
  else if (type == "f64")
    out.type = ValType::f64;
  else if (type == "externref")
    out.type = ValType::externref;
  else if (type == "funcref")
    out.type = ValType::funcref;
  else
    return false;
  if (value == "nan:canonical") {
    out.nan = ScriptValue::Nan::canonical;
  } else if (value == "nan:arithmetic") {
    out.nan = ScriptValue::Nan::arithmetic;
  } else if (out.type == ValType::externref || out.type == ValType::funcref) {
    if (value == "null")
      out.bits = 0;
    else if (out.type == ValType::externref)
      out.bits = std::stoull(value) + 1;  // 0 is null
    else
      out.any_non_null = true;
  } else {
    out.bits = std::stoull(value);
  }
  return true;
}

bool matches(const ScriptValue& want, std::uint64_t got);

// A v128 result (its two slots) against the expected lanes: NaN patterns per float lane.
bool matches_v128(const ScriptValue& want, std::uint64_t lo, std::uint64_t hi) {
  unsigned char bytes[16];
  std::memcpy(bytes, &lo, 8);
  std::memcpy(bytes + 8, &hi, 8);
  const int width = want.lane_bits / 8;
  for (std::size_t i = 0; i < want.lanes.size(); ++i) {
    std::uint64_t lane = 0;
    std::memcpy(&lane, bytes + i * width, width);
    ScriptValue w = want.lanes[i];
    if (want.lane_bits == 32 && w.type == ValType::i64) w.type = ValType::i32;
    if (want.lane_bits < 32) {
      const std::uint64_t mask = (std::uint64_t{1} << want.lane_bits) - 1;
      if ((lane & mask) != (w.bits & mask)) return false;
      continue;
    }
    if (!matches(w, lane)) return false;
  }
  return true;
}

std::string v128_text(std::uint64_t lo, std::uint64_t hi) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "0x%016llx%016llx", static_cast<unsigned long long>(hi),
                static_cast<unsigned long long>(lo));
  return buf;
}

bool matches(const ScriptValue& want, std::uint64_t got) {
  if (want.nan != ScriptValue::Nan::none) {
    if (want.type == ValType::f32) {
      const auto b = static_cast<std::uint32_t>(got);
      if ((b & 0x7f800000u) != 0x7f800000u || (b & 0x007fffffu) == 0) return false;
      return want.nan == ScriptValue::Nan::canonical ? (b & 0x007fffffu) == 0x00400000u
                                                     : (b & 0x00400000u) != 0;
    }
    if ((got & 0x7ff0000000000000ull) != 0x7ff0000000000000ull || (got & 0x000fffffffffffffull) == 0)
      return false;
    return want.nan == ScriptValue::Nan::canonical ? (got & 0x000fffffffffffffull) == 0x0008000000000000ull
                                                   : (got & 0x0008000000000000ull) != 0;
  }
  if (want.any_non_null) return got != 0;
  if (want.type == ValType::i32 || want.type == ValType::f32)
    return static_cast<std::uint32_t>(got) == want.bits;
  return got == want.bits;
}

class Runner {
 public:
  Runner(bool verbose, Engine engine) : verbose_(verbose), store_(StoreLimits{}) {
    store_.set_engine(engine);
    define_spectest();
  }

  Counts run(const json& script, const std::string& dir) {
    Counts counts;
    for (const json& cmd : script.at("commands")) {
      const std::string type = cmd.at("type");
      const int line = cmd.value("line", 0);
      std::string why;
      enum { pass, fail, skip } result = pass;
      try {
        if (type == "module") {
          Instance* inst = instantiate(dir + "/" + cmd.at("filename").get<std::string>(), why);
          current_ = inst;
          if (cmd.contains("name")) named_[cmd.at("name")] = inst;
          if (!inst)
            result = fail;
          else
            continue;  // modules are not assertions
        } else if (type == "register") {
          Instance* inst = cmd.contains("name") ? named_[cmd.at("name")] : current_;
          if (!inst) {
            result = fail;
            why = "register of a module that failed";
          } else {
            linker_.register_instance(cmd.at("as"), *inst);
            continue;
          }
        } else if (type == "action") {
          std::vector<std::uint64_t> values;
          CallOutcome out;
          if (!act(cmd.at("action"), out, why))
            result = fail;
          else if (out.kind != CallOutcome::Kind::returned) {
            result = fail;
            why = "action trapped: " + out.trap.describe();
          } else {
            continue;
          }
        } else if (type == "assert_return") {
          CallOutcome out;
          if (!act(cmd.at("action"), out, why)) {
            result = fail;
          } else if (out.kind != CallOutcome::Kind::returned) {
            result = fail;
            why = "trapped: " + out.trap.describe();
          } else {
            // Results take one slot each, two per v128.
            const json& expected = cmd.at("expected");
            std::size_t slot = 0;
            for (std::size_t i = 0; result == pass && i < expected.size(); ++i) {
              ScriptValue want;
              if (!parse_value(expected[i], want)) {
                result = fail;
                why = "unreadable expected value " + expected[i].dump();
                break;
              }
              const std::size_t width = want.type == ValType::v128 ? 2 : 1;
              if (slot + width > out.values.size()) {
                result = fail;
                why = "wrong number of results";
                break;
              }
              const bool ok = want.type == ValType::v128
                                  ? matches_v128(want, out.values[slot], out.values[slot + 1])
                                  : matches(want, out.values[slot]);
              if (!ok) {
                result = fail;
                why = "result " + std::to_string(i) + ": got " +
                      (want.type == ValType::v128 ? v128_text(out.values[slot], out.values[slot + 1])
                                                  : std::to_string(out.values[slot])) +
                      ", expected " + expected[i].dump();
              }
              slot += width;
            }
            if (result == pass && slot != out.values.size()) {
              result = fail;
              why = "wrong number of results";
            }
          }
        } else if (type == "assert_trap" || type == "assert_exhaustion") {
          CallOutcome out;
          if (!act(cmd.at("action"), out, why)) {
            result = fail;
          } else if (out.kind != CallOutcome::Kind::trapped) {
            result = fail;
            why = "did not trap (expected " + cmd.value("text", std::string()) + ")";
          } else if (type == "assert_exhaustion" && out.trap.kind != TrapKind::stack_exhausted) {
            result = fail;
            why = "trapped with " + out.trap.message + " instead of exhaustion";
          } else if (!out.trap.message.starts_with(cmd.value("text", std::string()))) {
            // The reference interpreter's check: its message must begin with the expected text.
            result = fail;
            why = "trapped with '" + out.trap.message + "', expected '" + cmd.value("text", std::string()) +
                  "'";
          }
        } else if (type == "assert_invalid" || type == "assert_malformed") {
          if (cmd.value("module_type", std::string("binary")) == "text") {
            result = skip;
            why = "text format";
          } else {
            auto bytes = read_bytes(dir + "/" + cmd.at("filename").get<std::string>());
            auto m = Module::load(bytes);
            if (m) {
              result = fail;
              why = "accepted; expected " + cmd.value("text", std::string());
            } else if (!reason_of(m.error().message()).starts_with(cmd.value("text", std::string()))) {
              ++counts.other_reason;
              if (verbose_)
                std::printf("  note line %d: %s (spec: %s)\n", line, m.error().message().c_str(),
                            cmd.value("text", std::string()).c_str());
            }
          }
        } else if (type == "assert_unlinkable" || type == "assert_uninstantiable") {
          if (cmd.value("module_type", std::string("binary")) == "text") {
            result = skip;
            why = "text format";
          } else {
            auto bytes = read_bytes(dir + "/" + cmd.at("filename").get<std::string>());
            auto m = Module::load(bytes);
            if (!m) {
              result = fail;
              why = "does not load: " + m.error().message();
            } else if (auto inst = linker_.instantiate(store_, *m); inst) {
              result = fail;
              why = "instantiated; expected " + cmd.value("text", std::string());
            } else if (!inst.error().message().starts_with(cmd.value("text", std::string()))) {
              result = fail;
              why = "failed with '" + inst.error().message() + "', expected '" +
                    cmd.value("text", std::string()) + "'";
            }
          }
        } else {
          result = skip;
          why = "unknown command " + type;
        }
      } catch (const std::exception& e) {
        result = fail;
        why = std::string("runner exception: ") + e.what();
      }
      if (result == pass) {
        ++counts.passed;
      } else if (result == skip) {
        ++counts.skipped;
        ++counts.skip_reasons[why];
      } else {
        ++counts.failed;
        if (counts.failed <= 20 || verbose_)
          std::printf("  FAIL line %d %s: %s\n", line, type.c_str(), why.c_str());
      }
    }
    return counts;
  }

 private:
  Instance* instantiate(const std::string& path, std::string& why) {
    auto bytes = read_bytes(path);
    auto m = Module::load(bytes);
    if (!m) {
      why = "module does not load: " + m.error().message();
      return nullptr;
    }
    auto inst = linker_.instantiate(store_, *m);
    if (!inst) {
      why = "module does not instantiate: " + inst.error().message();
      return nullptr;
    }
    return *inst;
  }

  bool act(const json& action, CallOutcome& out, std::string& why) {
    Instance* inst = action.contains("module") ? named_[action.at("module")] : current_;
    if (!inst) {
      why = "no module";
      return false;
    }
    const std::string field = action.at("field");
    if (action.at("type") == "get") {
      auto e = inst->find_export(field);
      if (!e || e->kind != ExternKind::global) {
        why = "no global " + field;
        return false;
      }
      out.kind = CallOutcome::Kind::returned;
      out.values = {global_get(e->global)};
      const ValType t = global_type(e->global).type;
      if (t == ValType::i32 || t == ValType::f32) out.values[0] &= 0xFFFFFFFFu;
      if (t == ValType::v128) out.values.push_back(global_get_high(e->global));
      return true;
    }
    std::vector<std::uint64_t> args;
    for (const json& a : action.at("args")) {
      ScriptValue v;
      if (!parse_value(a, v)) {
        why = "unreadable argument " + a.dump();
        return false;
      }
      args.push_back(v.bits);
      if (v.type == ValType::v128) args.push_back(v.bits_hi);
    }
    auto r = inst->call(field, args);
    if (!r) {
      why = r.error().message();
      return false;
    }
    out = std::move(*r);
    return true;
  }

  void define_spectest() {
    auto print = [](HostCall&, const std::uint64_t*, std::uint64_t*) { return HostResult::ok(); };
    using V = ValType;
    linker_.define_function(store_, "spectest", "print", FuncType{}, print);
    linker_.define_function(store_, "spectest", "print_i32", FuncType{{V::i32}, {}}, print);
    linker_.define_function(store_, "spectest", "print_i64", FuncType{{V::i64}, {}}, print);
    linker_.define_function(store_, "spectest", "print_f32", FuncType{{V::f32}, {}}, print);
    linker_.define_function(store_, "spectest", "print_f64", FuncType{{V::f64}, {}}, print);
    linker_.define_function(store_, "spectest", "print_i32_f32", FuncType{{V::i32, V::f32}, {}}, print);
    linker_.define_function(store_, "spectest", "print_f64_f64", FuncType{{V::f64, V::f64}, {}}, print);
    auto global = [&](const char* name, ValType t, std::uint64_t bits) {
      Extern e;
      e.kind = ExternKind::global;
      e.global = store_.create_global(GlobalType{t, false}, bits);
      linker_.define("spectest", name, e);
    };
    global("global_i32", V::i32, 666);
    global("global_i64", V::i64, 666);
    float f = 666.6f;
    double d = 666.6;
    std::uint32_t fb;
    std::uint64_t db;
    std::memcpy(&fb, &f, 4);
    std::memcpy(&db, &d, 8);
    global("global_f32", V::f32, fb);
    global("global_f64", V::f64, db);
    Extern table;
    table.kind = ExternKind::table;
    table.table = *store_.create_table(TableType{V::funcref, Limits{10, 20}});
    linker_.define("spectest", "table", table);
    Extern memory;
    memory.kind = ExternKind::memory;
    memory.memory = *store_.create_memory(MemoryType{Limits{1, 2}});
    linker_.define("spectest", "memory", memory);
  }

  bool verbose_;
  Store store_;
  Linker linker_;
  Instance* current_ = nullptr;
  std::map<std::string, Instance*> named_;
};

std::string stem(const std::string& path) {
  std::string base = path.substr(path.find_last_of('/') + 1);
  return base.substr(0, base.rfind('.'));
}

}  // namespace

int main(int argc, char** argv) {
  std::string out_dir = "spec-json";
  std::string wast2json = "wast2json";
  bool verbose = false;
  Engine engine = Engine::interp;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--out" && i + 1 < argc)
      out_dir = argv[++i];
    else if (a == "--wast2json" && i + 1 < argc)
      wast2json = argv[++i];
    else if (a == "--verbose")
      verbose = true;
    else if (a == "--engine" && i + 1 < argc) {
      const std::string e = argv[++i];
      if (e == "interp")
        engine = Engine::interp;
      else if (e == "compiled")
        engine = Engine::compiled;
      else if (e == "auto")
        engine = Engine::automatic;
      else {
        std::fprintf(stderr, "spec_runner: --engine: unknown engine '%s' (interp, compiled, auto)\n",
                     e.c_str());
        return 2;
      }
    } else
      files.push_back(a);
  }
  if (files.empty()) {
    std::fprintf(stderr,
                 "usage: spec_runner --out DIR [--wast2json PATH] [--engine interp|compiled|auto] "
                 "[--verbose] FILE.wast...\n");
    return 2;
  }
  ::mkdir(out_dir.c_str(), 0755);
  Counts total;
  int files_failed = 0;
  for (const std::string& file : files) {
    const std::string name = stem(file);
    const std::string dir = out_dir + "/" + name;
    ::mkdir(dir.c_str(), 0755);
    const std::string cmd = shell_quote(wast2json) + " " + shell_quote(file) + " -o " +
                            shell_quote(dir + "/" + name + ".json") + " >" +
                            shell_quote(dir + "/wast2json.log") + " 2>&1";
    if (std::system(cmd.c_str()) != 0) {
      std::printf("%-28s FAILED: wast2json could not convert it (see %s/wast2json.log)\n", name.c_str(),
                  dir.c_str());
      ++total.failed;
      ++files_failed;
      continue;
    }
    json script;
    try {
      std::ifstream in(dir + "/" + name + ".json");
      script = json::parse(in);
    } catch (const std::exception& e) {
      std::printf("%-28s FAILED: bad JSON: %s\n", name.c_str(), e.what());
      ++total.failed;
      ++files_failed;
      continue;
    }
    Runner runner(verbose, engine);
    Counts c = runner.run(script, dir);
    std::printf("%-28s passed %5d  failed %4d  skipped %4d", name.c_str(), c.passed, c.failed, c.skipped);
    if (c.other_reason) std::printf("  [%d rejected for another reason than the spec's]", c.other_reason);
    for (const auto& [reason, n] : c.skip_reasons) std::printf("  [%d skipped: %s]", n, reason.c_str());
    std::printf("\n");
    std::fflush(stdout);
    total.passed += c.passed;
    total.failed += c.failed;
    total.skipped += c.skipped;
    total.other_reason += c.other_reason;
    for (const auto& [reason, n] : c.skip_reasons) total.skip_reasons[reason] += n;
    if (c.failed) ++files_failed;
  }
  std::printf("TOTAL: %zu files, passed %d, failed %d, skipped %d", files.size(), total.passed, total.failed,
              total.skipped);
  for (const auto& [reason, n] : total.skip_reasons) std::printf(" [%d: %s]", n, reason.c_str());
  if (total.other_reason)
    std::printf(" [%d invalid/malformed rejected for another reason]", total.other_reason);
  std::printf("\n");
  return total.failed ? 1 : 0;
}
