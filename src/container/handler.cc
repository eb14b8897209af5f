#include "container/handler.h"

#include <nlohmann/json.hpp>

namespace spectrum::container {

namespace {

struct HandlerName {
  std::string_view name;
  Handler handler;
};
// run.oci.handler's values: Spectrum's names and crun's where they exist (krun is crun's VM).
constexpr HandlerName kHandlerNames[] = {
    {"container", Handler::container},
    {"wasm", Handler::wasm},
    {"wasm-smart", Handler::wasm_smart},
    {"vm", Handler::vm},
    {"krun", Handler::vm},
    {"sandbox", Handler::sandbox},
};
// The links installed next to `spectrum` (one containerd runtime entry per tier sets BinaryName).
constexpr HandlerName kBinaryNames[] = {
    {"spectrum-wasm", Handler::wasm}, {"spectrum-vm", Handler::vm}, {"spectrum-sandbox", Handler::sandbox}};

bool ends_with_wasm(const std::string& program) { return program.ends_with(".wasm"); }

}  // namespace

std::string_view handler_name(Handler handler) {
  switch (handler) {
    case Handler::container:
      return "container";
    case Handler::wasm:
      return "wasm";
    case Handler::wasm_smart:
      return "wasm-smart";
    case Handler::vm:
      return "vm";
    case Handler::sandbox:
      return "sandbox";
  }
  return "container";
}

std::optional<Handler> handler_of_binary(std::string_view argv0) {
  std::string_view base = argv0.substr(argv0.rfind('/') == std::string_view::npos ? 0 : argv0.rfind('/') + 1);
  for (const HandlerName& row : kBinaryNames)
    if (base == row.name) return row.handler;
  return std::nullopt;
}

Result<Handler> select_handler(const std::map<std::string, std::string>& annotations,
                               std::optional<Handler> by_binary) {
  if (auto it = annotations.find(std::string(kCriContainerTypeAnnotation));
      it != annotations.end() && it->second == "sandbox")
    return Handler::container;
  if (auto it = annotations.find(std::string(kHandlerAnnotation)); it != annotations.end()) {
    for (const HandlerName& row : kHandlerNames)
      if (it->second == row.name) return row.handler;
    return fail("config.json: annotations: " + std::string(kHandlerAnnotation) + ": unknown handler '" +
                it->second + "' (expected container, wasm, wasm-smart, vm, krun or sandbox)");
  }
  if (auto it = annotations.find(std::string(kWasmVariantAnnotation)); it != annotations.end()) {
    if (it->second == "compat") return Handler::wasm;
    if (it->second == "compat-smart") return Handler::wasm_smart;
    return fail("config.json: annotations: " + std::string(kWasmVariantAnnotation) + ": unknown variant '" +
                it->second + "' (expected compat or compat-smart)");
  }
  return by_binary.value_or(Handler::container);
}

Result<const InPlaceRun*> in_place_for(Handler handler, const Config& config, const HandlerSet& handlers) {
  switch (handler) {
    case Handler::container:
      return nullptr;
    case Handler::wasm_smart:
      // crun's rule: a .wasm entrypoint runs in the engine, anything else as a container.
      if (config.process.args.empty() || !ends_with_wasm(config.process.args[0])) return nullptr;
      [[fallthrough]];
    case Handler::wasm:
      if (!handlers.wasm)
        return fail(
            "handler wasm: not in this binary (spectrum-oci is the container runtime alone; use spectrum)");
      return handlers.wasm;
    case Handler::vm:
      if (!handlers.vm)
        return fail(
            "handler vm: not in this binary (spectrum-oci is the container runtime alone; use spectrum)");
      return handlers.vm;
    case Handler::sandbox:
      if (!handlers.sandbox)
        return fail(
            "handler sandbox: not in this binary (spectrum-oci is the container runtime alone; use "
            "spectrum)");
      return handlers.sandbox;
  }
  return nullptr;
}

nlohmann::json handler_features(const HandlerSet& handlers) {
  nlohmann::json list = nlohmann::json::array();
  auto row = [&](std::string_view name, bool available, std::string_view note) {
    nlohmann::json j = {{"name", name}, {"available", available}};
    if (!note.empty()) j["note"] = note;
    list.push_back(std::move(j));
  };
  row("container", true, "");
  row("wasm", handlers.wasm != nullptr, "process.args[0] is a WASI module inside the root filesystem");
  row("wasm-smart", handlers.wasm != nullptr,
      "a .wasm entrypoint in the engine, anything else as a container");
  row("vm", handlers.vm != nullptr,
      "also named krun; process.args[0] is an x86-64 executable inside the root filesystem (static, or with "
      "its dynamic linker there)");
  row("sandbox", handlers.sandbox != nullptr,
      "the vm tier's monitor on the ptrace platform (no /dev/kvm); the same programs as vm");
  return {
      {"handlers", list},
      {"annotationsRead",
       {{std::string(kHandlerAnnotation), "container|wasm|wasm-smart|vm|krun|sandbox"},
        {std::string(kWasmVariantAnnotation), "compat|compat-smart"},
        {std::string(kCriContainerTypeAnnotation), "sandbox (the pod's own container: always a container)"}}},
      {"binaryNames", {"spectrum-wasm", "spectrum-vm", "spectrum-sandbox"}}};
}

}  // namespace spectrum::container
