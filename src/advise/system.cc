#include "advise/system.h"

#include <yaml-cpp/yaml.h>

#include <set>

#include "bench/files.h"
#include "core/parse.h"

namespace spectrum::advise {
namespace {

struct Context {
  std::string file;
  std::unexpected<Error> error(const YAML::Node& node, const std::string& what) const {
    const int line = node.Mark().line >= 0 ? node.Mark().line + 1 : 0;
    return fail(file + ":" + std::to_string(line) + ": " + what);
  }
};

Result<std::string> text_of(const Context& cx, const YAML::Node& node, const std::string& field) {
  if (!node.IsScalar()) return cx.error(node, field + ": expected a single value");
  return node.Scalar();
}

Result<bool> bool_of(const Context& cx, const YAML::Node& node, const std::string& field) {
  std::string text = SPECTRUM_TRY(text_of(cx, node, field));
  if (text == "true" || text == "yes") return true;
  if (text == "false" || text == "no") return false;
  return cx.error(node, field + ": '" + text + "' is not true or false");
}

// "250ms", "2s": a start-up budget.
Result<double> seconds_of(const Context& cx, const YAML::Node& node, const std::string& field) {
  std::string text = SPECTRUM_TRY(text_of(cx, node, field));
  auto value = parse_duration(text);
  if (!value) return cx.error(node, field + ": '" + text + "' is not a duration (like 50ms or 2s)");
  return static_cast<double>(value->count()) / 1e9;
}

// "20%" or "1.2x": the slowdown allowed against native, as a fraction (0.2).
Result<double> overhead_of(const Context& cx, const YAML::Node& node, const std::string& field) {
  std::string text = SPECTRUM_TRY(text_of(cx, node, field));
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  std::string unit = end ? std::string(end) : std::string();
  if (end != text.c_str() && value >= 0) {
    if (unit == "%") return value / 100;
    if (unit == "x" && value >= 1) return value - 1;
  }
  return cx.error(node, field + ": '" + text + "' is not an overhead (like 20% or 1.5x)");
}

Result<Trust> trust_of(const Context& cx, const YAML::Node& node) {
  std::string text = SPECTRUM_TRY(text_of(cx, node, "trust"));
  if (text == "trusted") return Trust::trusted;
  if (text == "internal") return Trust::internal;
  if (text == "untrusted" || text == "multi-tenant") return Trust::untrusted;
  return cx.error(node, "trust: '" + text + "' is not trusted, internal or untrusted (multi-tenant)");
}

Result<void> needs_of(const Context& cx, const YAML::Node& node, Needs& needs) {
  if (!node.IsSequence()) return cx.error(node, "needs: expected a list (like [network-listen, posix-fs])");
  for (const YAML::Node& item : node) {
    std::string word = SPECTRUM_TRY(text_of(cx, item, "needs"));
    if (word == "arbitrary-syscalls")
      needs.arbitrary_syscalls = true;
    else if (word == "devices")
      needs.devices = true;
    else if (word == "kernel-features")
      needs.kernel_features = true;
    else if (word == "network-listen")
      needs.network_listen = true;
    else if (word == "posix-fs")
      needs.posix_fs = true;
    else if (word == "gpu")
      needs.gpu = true;
    else
      return cx.error(item,
                      "needs: '" + word +
                          "' is not one of arbitrary-syscalls, devices, kernel-features, network-listen, "
                          "posix-fs, gpu");
  }
  return {};
}

Result<Component> component_of(const Context& cx, const YAML::Node& node, int index) {
  const std::string where = "components[" + std::to_string(index) + "]";
  if (!node.IsMap()) return cx.error(node, where + ": expected a mapping with at least 'name'");
  Component c;
  c.line = node.Mark().line + 1;
  for (const auto& entry : node) {
    const std::string key = entry.first.as<std::string>();
    const YAML::Node& value = entry.second;
    const std::string field = where + "." + key;
    if (key == "name")
      c.name = SPECTRUM_TRY(text_of(cx, value, field));
    else if (key == "program")
      c.program = SPECTRUM_TRY(text_of(cx, value, field));
    else if (key == "rootfs")
      c.rootfs = SPECTRUM_TRY(text_of(cx, value, field));
    else if (key == "wasm")
      c.wasm = SPECTRUM_TRY(text_of(cx, value, field));
    else if (key == "image")
      c.image = SPECTRUM_TRY(text_of(cx, value, field));
    else if (key == "trust")
      c.trust = SPECTRUM_TRY(trust_of(cx, value));
    else if (key == "portable")
      c.portable = SPECTRUM_TRY(bool_of(cx, value, field));
    else if (key == "virtualization")
      c.virtualization = SPECTRUM_TRY(bool_of(cx, value, field));
    else if (key == "needs")
      SPECTRUM_TRY(needs_of(cx, value, c.needs));
    else if (key == "instances") {
      std::string text = SPECTRUM_TRY(text_of(cx, value, field));
      char* end = nullptr;
      long n = std::strtol(text.c_str(), &end, 10);
      if (text.empty() || *end || n < 1 || n > 1000000)
        return cx.error(value, field + ": '" + text + "' is not a count from 1 up");
      c.instances = static_cast<int>(n);
    } else if (key == "budget") {
      if (!value.IsMap()) return cx.error(value, field + ": expected startup, overhead and/or memory");
      for (const auto& budget : value) {
        const std::string name = budget.first.as<std::string>();
        const std::string sub = field + "." + name;
        if (name == "startup")
          c.startup_budget_seconds = SPECTRUM_TRY(seconds_of(cx, budget.second, sub));
        else if (name == "overhead")
          c.overhead_budget = SPECTRUM_TRY(overhead_of(cx, budget.second, sub));
        else if (name == "memory") {
          std::string text = SPECTRUM_TRY(text_of(cx, budget.second, sub));
          auto bytes = parse_size(text);
          if (!bytes || *bytes == 0)
            return cx.error(budget.second, sub + ": '" + text + "' is not a size (like 64M)");
          c.memory_budget_bytes = *bytes;
        } else
          return cx.error(budget.first, sub + ": unknown budget (startup, overhead, memory)");
      }
    } else
      return cx.error(entry.first, field + ": unknown field");
  }
  if (c.name.empty()) return cx.error(node, where + ": no name");
  // Kubernetes object names: DNS labels. Checked here so that --k8s never writes an invalid one.
  for (char ch : c.name)
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-'))
      return cx.error(node, where + ".name: '" + c.name + "' must be lower-case letters, digits and '-'");
  if (c.name.size() > 63 || c.name.front() == '-' || c.name.back() == '-')
    return cx.error(node,
                    where + ".name: '" + c.name + "' is not a DNS label (at most 63, no '-' at the ends)");
  return c;
}

Result<System> system_of(const Context& cx, const YAML::Node& root) {
  if (!root.IsMap()) return cx.error(root, "expected a mapping with 'components'");
  System system;
  for (const auto& entry : root) {
    const std::string key = entry.first.as<std::string>();
    if (key == "system") {
      system.name = SPECTRUM_TRY(text_of(cx, entry.second, "system"));
    } else if (key == "components") {
      if (!entry.second.IsSequence() || entry.second.size() == 0)
        return cx.error(entry.second, "components: expected a non-empty list");
      int index = 0;
      std::set<std::string> names;
      for (const YAML::Node& node : entry.second) {
        Component c = SPECTRUM_TRY(component_of(cx, node, index++));
        if (!names.insert(c.name).second)
          return cx.error(node, "component '" + c.name + "' is defined twice");
        system.components.push_back(std::move(c));
      }
    } else if (key == "bench") {
      const YAML::Node& b = entry.second;
      if (!b.IsMap()) return cx.error(b, "bench: expected program, rootfs, wasm and args");
      MeasureSpec spec;
      for (const auto& item : b) {
        const std::string name = item.first.as<std::string>();
        if (name == "program")
          spec.program = SPECTRUM_TRY(text_of(cx, item.second, "bench.program"));
        else if (name == "rootfs")
          spec.rootfs = SPECTRUM_TRY(text_of(cx, item.second, "bench.rootfs"));
        else if (name == "wasm")
          spec.wasm = SPECTRUM_TRY(text_of(cx, item.second, "bench.wasm"));
        else if (name == "args") {
          if (!item.second.IsSequence()) return cx.error(item.second, "bench.args: expected a list");
          for (const YAML::Node& arg : item.second)
            spec.args.push_back(SPECTRUM_TRY(text_of(cx, arg, "bench.args")));
        } else
          return cx.error(item.first, "bench." + name + ": unknown field");
      }
      system.bench = spec;
    } else {
      return cx.error(entry.first, key + ": unknown field (system, components, bench)");
    }
  }
  if (system.components.empty()) return cx.error(root, "no components");
  return system;
}

}  // namespace

std::string_view to_string(Trust trust) {
  switch (trust) {
    case Trust::trusted:
      return "trusted";
    case Trust::internal:
      return "internal";
    case Trust::untrusted:
      return "untrusted";
  }
  return "unknown";
}

Result<System> parse_system(const std::string& text, const std::string& source_name) {
  Context cx{source_name};
  try {
    return system_of(cx, YAML::Load(text));
  } catch (const YAML::Exception& e) {
    return fail(source_name + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

Result<System> load_system(const std::string& path) {
  Result<std::string> text = bench::read_text(path);
  if (!text) return std::unexpected(text.error().wrap("system file"));
  return parse_system(*text, path);
}

}  // namespace spectrum::advise
