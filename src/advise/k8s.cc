#include "advise/k8s.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <set>

#include "bench/files.h"

namespace spectrum::advise {

std::string_view handler_for(std::string_view tier) {
  // native has no handler of its own: Kubernetes always makes a container; the nearest to native
  // is spectrum's OCI runtime with the host's namespaces kept (the Deployment asks for them).
  if (tier == "native" || tier == "container") return "spectrum";
  if (tier == "wasm") return "spectrum-wasm";
  if (tier == "vm") return "spectrum-vm";
  if (tier == "sandbox") return "spectrum-sandbox";
  return "spectrum";
}

std::uint64_t memory_limit_bytes(const Component& component, const TierFacts& tier) {
  constexpr std::uint64_t mib = 1 << 20;
  std::uint64_t limit = static_cast<std::uint64_t>(tier.peak_memory_bytes * 1.5);
  limit = (limit + mib - 1) / mib * mib;
  limit = std::max<std::uint64_t>(limit, 16 * mib);
  if (component.memory_budget_bytes)
    limit = std::max(limit, (*component.memory_budget_bytes + mib - 1) / mib * mib);
  return limit;
}

std::vector<Manifest> kubernetes_manifests(const System& system, const std::vector<Placement>& placements,
                                           const std::vector<TierFacts>& facts) {
  std::vector<Manifest> out;
  std::set<std::string> handlers;
  for (std::size_t i = 0; i < placements.size(); ++i) {
    const Placement& p = placements[i];
    if (p.tier.empty()) continue;
    const Component& c = system.components[i];
    const TierFacts* tier = find(facts, p.tier);
    const std::string handler(handler_for(p.tier));
    handlers.insert(handler);
    const std::uint64_t limit = memory_limit_bytes(c, *tier);

    YAML::Emitter y;
    y << YAML::BeginMap;
    y << YAML::Key << "apiVersion" << YAML::Value << "apps/v1";
    y << YAML::Key << "kind" << YAML::Value << "Deployment";
    y << YAML::Key << "metadata" << YAML::Value << YAML::BeginMap;
    y << YAML::Key << "name" << YAML::Value << c.name;
    y << YAML::Key << "labels" << YAML::Value << YAML::BeginMap << YAML::Key << "app" << YAML::Value << c.name
      << YAML::Key << "spectrum.dev/tier" << YAML::Value << p.tier << YAML::EndMap;
    y << YAML::Key << "annotations" << YAML::Value << YAML::BeginMap;
    // Annotation values are strings in Kubernetes: quoted, or a number would be read back as one.
    y << YAML::Key << "spectrum.dev/peak-memory-bytes" << YAML::Value << YAML::DoubleQuoted
      << std::to_string(static_cast<std::uint64_t>(tier->peak_memory_bytes));
    y << YAML::Key << "spectrum.dev/figures" << YAML::Value << YAML::DoubleQuoted << tier->source();
    y << YAML::EndMap << YAML::EndMap;
    y << YAML::Key << "spec" << YAML::Value << YAML::BeginMap;
    y << YAML::Key << "replicas" << YAML::Value << c.instances;
    y << YAML::Key << "selector" << YAML::Value << YAML::BeginMap << YAML::Key << "matchLabels" << YAML::Value
      << YAML::BeginMap << YAML::Key << "app" << YAML::Value << c.name << YAML::EndMap << YAML::EndMap;
    y << YAML::Key << "template" << YAML::Value << YAML::BeginMap;
    y << YAML::Key << "metadata" << YAML::Value << YAML::BeginMap << YAML::Key << "labels" << YAML::Value
      << YAML::BeginMap << YAML::Key << "app" << YAML::Value << c.name << YAML::EndMap << YAML::EndMap;
    y << YAML::Key << "spec" << YAML::Value << YAML::BeginMap;
    y << YAML::Key << "runtimeClassName" << YAML::Value << handler;
    if (p.tier == "native") {
      y << YAML::Key << "hostNetwork" << YAML::Value << true;
      y << YAML::Key << "hostPID" << YAML::Value << true;
    }
    y << YAML::Key << "containers" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
    y << YAML::Key << "name" << YAML::Value << c.name;
    y << YAML::Key << "image" << YAML::Value
      << (c.image.empty() ? "registry.invalid/" + c.name + ":latest" : c.image);
    y << YAML::Key << "resources" << YAML::Value << YAML::BeginMap;
    const std::string mem = std::to_string(limit >> 20) + "Mi";
    y << YAML::Key << "limits" << YAML::Value << YAML::BeginMap << YAML::Key << "memory" << YAML::Value << mem
      << YAML::EndMap;
    y << YAML::Key << "requests" << YAML::Value << YAML::BeginMap << YAML::Key << "memory" << YAML::Value
      << mem << YAML::EndMap;
    y << YAML::EndMap;
    if (p.tier == "native") {
      y << YAML::Key << "securityContext" << YAML::Value << YAML::BeginMap << YAML::Key << "privileged"
        << YAML::Value << true << YAML::EndMap;
    }
    y << YAML::EndMap << YAML::EndSeq;
    y << YAML::EndMap << YAML::EndMap << YAML::EndMap << YAML::EndMap;
    out.push_back({c.name + ".yaml", std::string("# ") + c.name + ": placed on the " + p.tier +
                                         " tier by spectrum advise\n" + y.c_str() + "\n"});
  }
  std::string classes;
  for (const std::string& handler : handlers) {
    YAML::Emitter y;
    y << YAML::BeginMap;
    y << YAML::Key << "apiVersion" << YAML::Value << "node.k8s.io/v1";
    y << YAML::Key << "kind" << YAML::Value << "RuntimeClass";
    y << YAML::Key << "metadata" << YAML::Value << YAML::BeginMap << YAML::Key << "name" << YAML::Value
      << handler << YAML::EndMap;
    y << YAML::Key << "handler" << YAML::Value << handler;
    y << YAML::EndMap;
    classes += std::string("---\n") + y.c_str() + "\n";
  }
  out.insert(out.begin(),
             {"runtimeclasses.yaml",
              "# The containerd handlers of docs/kubernetes.md this placement uses\n" + classes});
  return out;
}

Result<void> write_manifests(const std::string& out_dir, const std::vector<Manifest>& manifests) {
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) return fail("--k8s: create " + out_dir + ": " + ec.message());
  for (const Manifest& m : manifests) SPECTRUM_TRY(bench::write_text(out_dir + "/" + m.file, m.yaml));
  return {};
}

}  // namespace spectrum::advise
