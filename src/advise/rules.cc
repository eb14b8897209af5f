// The rules, as data. A row fires for one (component, tier) pair; a rule with 0 points rules the
// tier out, any other adds its points to the tier's score. The highest score wins; ties go to the
// tier earlier in the spectrum (the cheaper one). Change a weight here, and docs/choosing.md.
#include "advise/rules.h"

#include <algorithm>
#include <cstdio>

#include "bench/report.h"

namespace spectrum::advise {
namespace {

using bench::format_bytes;
using bench::format_seconds;

std::string pct(double fraction) {
  char buffer[32];
  // One decimal below 10%, so that "5.2% over a budget of 5%" does not read as "5% over 5%".
  std::snprintf(buffer, sizeof buffer, fraction < 0.1 ? "%.1f%%" : "%.0f%%", fraction * 100);
  return buffer;
}

// "8% slower than native", or "10.9x native's CPU time" once percentages stop reading well.
std::string slowdown(double overhead) {
  if (overhead < 1) return "runs " + pct(overhead) + " slower than native";
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "takes %.1fx native's CPU time", overhead + 1);
  return buffer;
}

std::string figure(const TierFacts& t) { return t.measured ? " (measured)" : " (built-in default)"; }

bool offers_none(Offer o) { return o == Offer::no; }

constexpr Rule kRules[] = {
    // --- whether the tier exists and works here
    {"tier-unavailable", "A tier this build or host cannot run is ruled out.", 0,
     [](const Component&, const TierFacts& t) { return !t.available; },
     [](const Component&, const TierFacts& t) { return "not usable here: " + t.unavailable_reason; }},
    {"tier-failed", "A tier that failed in the benchmark is ruled out.", 0,
     [](const Component&, const TierFacts& t) { return t.failed; },
     [](const Component&, const TierFacts& t) { return "failed in the benchmark: " + t.failure; }},

    // --- trust
    {"untrusted-needs-a-boundary",
     "Untrusted code never runs where the probe found no boundary at all (native).", 0,
     [](const Component& c, const TierFacts& t) {
       return c.trust == Trust::untrusted && t.boundaries_held == 0;
     },
     [](const Component&, const TierFacts& t) {
       return "untrusted code never gets a tier with no boundary: the probe held 0 of 6" + figure(t);
     }},
    {"untrusted-shared-kernel", "Untrusted code sharing the host's kernel ranks lower.", -6,
     [](const Component& c, const TierFacts& t) { return c.trust == Trust::untrusted && t.shares_kernel; },
     [](const Component&, const TierFacts& t) {
       return "shares the host's kernel with untrusted code: " + std::to_string(t.syscalls_made) + " of " +
              std::to_string(t.syscalls_total) + " risky system calls reached it" + figure(t);
     }},
    {"untrusted-isolation", "For untrusted code, each boundary the probe found held counts.", 1,
     [](const Component& c, const TierFacts& t) {
       return c.trust == Trust::untrusted && t.boundaries_held > 0;
     },
     [](const Component&, const TierFacts& t) {
       return "holds " + std::to_string(t.boundaries_held) + " of 6 boundaries against the host" + figure(t);
     },
     [](const Component&, const TierFacts& t) { return t.boundaries_held; }},
    {"untrusted-hardware-boundary", "For untrusted code, a hardware-virtualization boundary counts extra.", 2,
     [](const Component& c, const TierFacts& t) {
       return c.trust == Trust::untrusted && t.offers.hardware_boundary;
     },
     [](const Component&, const TierFacts&) {
       return std::string("its own kernel behind the CPU's virtualization boundary");
     }},
    {"internal-no-boundary", "Services of a shared system prefer a boundary between each other.", -3,
     [](const Component& c, const TierFacts& t) {
       return c.trust == Trust::internal && t.boundaries_held == 0;
     },
     [](const Component&, const TierFacts&) {
       return std::string("no boundary between services: one compromised service reaches the others");
     }},
    {"trusted-no-isolation-needed",
     "Trusted code needs no boundary, so the tier that pays for none ranks first.", 3,
     [](const Component& c, const TierFacts& t) {
       return c.trust == Trust::trusted && t.boundaries_held == 0;
     },
     [](const Component&, const TierFacts&) {
       return std::string("trusted code needs no boundary, and this tier charges for none");
     }},

    // --- what the component needs
    {"needs-arbitrary-syscalls", "A component needing arbitrary system calls cannot be wasm (WASI only).", 0,
     [](const Component& c, const TierFacts& t) {
       return c.needs.arbitrary_syscalls && offers_none(t.offers.arbitrary_syscalls);
     },
     [](const Component&, const TierFacts&) {
       return std::string("needs arbitrary system calls; this tier offers only WASI's portable subset");
     }},
    {"needs-devices", "A component needing raw devices cannot run where no device reaches.", 0,
     [](const Component& c, const TierFacts& t) { return c.needs.devices && offers_none(t.offers.devices); },
     [](const Component&, const TierFacts&) {
       return std::string("needs raw hardware or devices; none reach this tier");
     }},
    {"needs-devices-passed-in", "Devices handed into a container by hand rank lower.", -3,
     [](const Component& c, const TierFacts& t) {
       return c.needs.devices && t.offers.devices == Offer::partial;
     },
     [](const Component&, const TierFacts&) {
       return std::string("devices must be passed in one by one, and each widens the boundary");
     }},
    {"needs-gpu", "A component needing a GPU cannot run where none reaches.", 0,
     [](const Component& c, const TierFacts& t) { return c.needs.gpu && offers_none(t.offers.gpu); },
     [](const Component&, const TierFacts&) { return std::string("needs a GPU; none reaches this tier"); }},
    {"needs-kernel-features", "A component needing host kernel features cannot run on another kernel.", 0,
     [](const Component& c, const TierFacts& t) {
       return c.needs.kernel_features && offers_none(t.offers.kernel_features);
     },
     [](const Component&, const TierFacts&) {
       return std::string("needs host kernel features; this tier has no (or its own small) kernel");
     }},
    {"needs-kernel-features-namespaced", "Host kernel features through a container's namespaces rank lower.",
     -2,
     [](const Component& c, const TierFacts& t) {
       return c.needs.kernel_features && t.offers.kernel_features == Offer::partial;
     },
     [](const Component&, const TierFacts&) {
       return std::string("host kernel features only as far as its namespaces and seccomp allow");
     }},
    {"needs-network-listen", "A component that accepts connections needs a tier with a listening socket.", 0,
     [](const Component& c, const TierFacts& t) {
       return c.needs.network_listen && offers_none(t.offers.network_listen);
     },
     [](const Component&, const TierFacts&) {
       return std::string("accepts connections; this tier has no socket to listen on");
     }},
    {"needs-network-listen-host-net",
     "A component that accepts connections in the sandbox kernel does so on the host's network.", -2,
     [](const Component& c, const TierFacts& t) {
       return c.needs.network_listen && t.offers.network_listen == Offer::partial;
     },
     [](const Component&, const TierFacts&) {
       return std::string(
           "accepts connections only with --net host: the sandbox kernel's sockets are the host's, with no "
           "network of their own");
     }},
    {"needs-posix-fs", "WASI's file system (no owners, modes or links) ranks lower for POSIX needs.", -2,
     [](const Component& c, const TierFacts& t) {
       return c.needs.posix_fs && t.offers.posix_fs == Offer::partial;
     },
     [](const Component&, const TierFacts&) {
       return std::string("needs a POSIX file system; WASI's has no owners, modes or links");
     }},

    {"hosts-without-virtualization",
     "A component whose hosts have no hardware virtualization cannot use a tier that needs it (vm).", 0,
     [](const Component& c, const TierFacts& t) { return !c.virtualization && t.offers.hardware_boundary; },
     [](const Component&, const TierFacts&) {
       return std::string("its hosts have no hardware virtualization (/dev/kvm), which this tier needs");
     }},

    // --- budgets, against the figures (measured where a bench gave them)
    {"startup-budget", "A start-up budget below the tier's cold start rules the tier out.", 0,
     [](const Component& c, const TierFacts& t) {
       return c.startup_budget_seconds && t.startup_seconds > *c.startup_budget_seconds;
     },
     [](const Component& c, const TierFacts& t) {
       return "cold start " + format_seconds(t.startup_seconds) +
              (t.startup_measured ? " (measured)" : " (built-in default)") +
              " exceeds the start-up budget of " + format_seconds(*c.startup_budget_seconds);
     }},
    {"overhead-budget", "A run-time overhead budget below the tier's slowdown rules the tier out.", 0,
     [](const Component& c, const TierFacts& t) {
       return c.overhead_budget && t.overhead > *c.overhead_budget;
     },
     [](const Component& c, const TierFacts& t) {
       return slowdown(t.overhead) + figure(t) + ", over the budget of " + pct(*c.overhead_budget);
     }},
    {"memory-budget", "A memory budget below the tier's peak memory rules the tier out.", 0,
     [](const Component& c, const TierFacts& t) {
       return c.memory_budget_bytes && t.peak_memory_bytes > static_cast<double>(*c.memory_budget_bytes);
     },
     [](const Component& c, const TierFacts& t) {
       return "peak memory " + format_bytes(t.peak_memory_bytes) + figure(t) + " exceeds the budget of " +
              format_bytes(static_cast<double>(*c.memory_budget_bytes));
     }},
    {"slowdown", "Every tier pays for its slowdown: -1 per 25% slower than native, at most -4.", -1,
     [](const Component&, const TierFacts& t) { return t.overhead >= 0.25; },
     [](const Component&, const TierFacts& t) { return slowdown(t.overhead) + figure(t); },
     [](const Component&, const TierFacts& t) { return std::min(4, static_cast<int>(t.overhead / 0.25)); }},

    // --- portability and scale
    {"portable-one-binary",
     "Portability across CPU architectures favours the tier whose one build runs on all.", 4,
     [](const Component& c, const TierFacts& t) { return c.portable && t.offers.portable_binary; },
     [](const Component&, const TierFacts&) {
       return std::string("one wasm32 build runs on every CPU architecture");
     }},
    {"portable-per-arch-build",
     "Portability across CPU architectures costs a build per architecture elsewhere.", -2,
     [](const Component& c, const TierFacts& t) { return c.portable && !t.offers.portable_binary; },
     [](const Component&, const TierFacts&) {
       return std::string("needs a separate build for each CPU architecture");
     }},
    {"scaled-service-orchestrated",
     "A service run as many instances favours the unit orchestrators schedule.", 3,
     [](const Component& c, const TierFacts& t) { return c.instances > 1 && t.offers.orchestrated; },
     [](const Component& c, const TierFacts&) {
       return std::to_string(c.instances) +
              " instances: an OCI image is what Kubernetes scales and rolls out";
     }},
    {"scaled-service-memory", "Many instances of a tier with a large footprint rank lower.", -2,
     [](const Component& c, const TierFacts& t) {
       return c.instances >= 10 && t.peak_memory_bytes > 32.0 * (1 << 20);
     },
     [](const Component& c, const TierFacts& t) {
       return format_bytes(t.peak_memory_bytes) + " per instance" + figure(t) + " times " +
              std::to_string(c.instances) + " instances";
     }},
};

}  // namespace

std::span<const Rule> rules() { return kRules; }

const Rule* find_rule(std::string_view id) {
  for (const Rule& rule : kRules)
    if (rule.id == id) return &rule;
  return nullptr;
}

}  // namespace spectrum::advise
