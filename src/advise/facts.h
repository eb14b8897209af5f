// What advise knows of each tier: what its design offers (capabilities, fixed) and what it costs
// and isolates (figures: built-in defaults, replaced by a bench's measurements where given).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "bench/bench.h"

namespace spectrum::advise {

enum class Offer { no, partial, yes };

// The tier's design, as Spectrum builds it today (docs/choosing.md "What each tier offers").
struct Capabilities {
  Offer arbitrary_syscalls = Offer::yes;
  Offer devices = Offer::yes;
  Offer kernel_features = Offer::yes;
  Offer network_listen = Offer::yes;
  Offer posix_fs = Offer::yes;
  Offer gpu = Offer::yes;
  bool portable_binary = false;    // one build runs on every CPU architecture
  bool hardware_boundary = false;  // the CPU's virtualization separates it from the host
  bool orchestrated = false;       // the unit Kubernetes schedules as it is (an OCI image)
};

struct TierFacts {
  std::string tier;
  bool available = true;
  std::string unavailable_reason;
  bool failed = false;  // it failed in the bench it was measured with
  std::string failure;
  Capabilities offers;
  // Figures; `measured` says whether they come from a bench or are the built-in defaults.
  bool measured = false;
  double startup_seconds = 0;     // cold start to the workload's first instruction
  bool startup_measured = false;  // a tier that cannot tell its start-up keeps the default
  // Run-time overhead: CPU time against native's, minus one (0.5 = 50% slower). CPU rather than
  // wall time, so that a short benchmark's start-up (a figure of its own) is not counted twice.
  double overhead = 0;
  double peak_memory_bytes = 0;  // for the benchmarked workload
  int boundaries_held = 0;       // of the probe's six
  bool shares_kernel = true;
  int syscalls_made = 0, syscalls_total = 17;
  std::string source() const { return measured ? "measured" : "default"; }
};

// Every tier advise knows, with its built-in defaults, in the order of the isolation spectrum.
std::vector<TierFacts> default_facts();

// Replaces the defaults with what `report` measured (tiers it ran), and marks tiers it found
// failed or unavailable. `from` names the report for the output.
void apply_measurements(std::vector<TierFacts>& facts, const bench::Report& report);

// Marks tiers this build or host cannot run (from the registry and its probes).
void apply_availability(std::vector<TierFacts>& facts, const std::vector<bench::TierAvailability>& tiers);

const TierFacts* find(const std::vector<TierFacts>& facts, std::string_view tier);

}  // namespace spectrum::advise
