#include "advise/facts.h"

namespace spectrum::advise {

// The defaults stand in until a bench measured the tier; docs/choosing.md says where they come
// from (this machine's `make demo`, rounded). The capabilities are the design and do not change
// with measurements.
std::vector<TierFacts> default_facts() {
  std::vector<TierFacts> facts(5);
  TierFacts& native = facts[0];
  native.tier = "native";
  native.startup_seconds = 0.001;
  native.overhead = 0;
  native.peak_memory_bytes = 2 << 20;
  native.boundaries_held = 0;
  native.shares_kernel = true;
  native.syscalls_made = 15;

  TierFacts& wasm = facts[1];
  wasm.tier = "wasm";
  wasm.offers = {Offer::no, Offer::no, Offer::no, Offer::no, Offer::partial, Offer::no, true, false, false};
  wasm.startup_seconds = 0.002;
  wasm.overhead = 1.0;
  wasm.peak_memory_bytes = 4 << 20;
  wasm.boundaries_held = 6;
  wasm.shares_kernel = false;
  wasm.syscalls_made = 0;

  TierFacts& container = facts[2];
  container.tier = "container";
  container.offers = {Offer::yes,     Offer::partial, Offer::partial, Offer::yes, Offer::yes,
                      Offer::partial, false,          false,          true};
  container.startup_seconds = 0.05;
  container.overhead = 0.02;
  container.peak_memory_bytes = 4 << 20;
  container.boundaries_held = 5;
  container.shares_kernel = true;
  container.syscalls_made = 8;

  TierFacts& sandbox = facts[3];
  sandbox.tier = "sandbox";
  // Sockets that listen: the sandbox kernel's are the monitor's own host sockets, on the host's
  // network only with --net host (docs/vm.md "Sockets"), so partial.
  sandbox.offers = {Offer::yes, Offer::no, Offer::no, Offer::partial, Offer::yes,
                    Offer::no,  false,     false,     false};
  sandbox.startup_seconds = 0.02;
  sandbox.overhead = 0.5;
  sandbox.peak_memory_bytes = 24 << 20;
  sandbox.boundaries_held = 6;
  sandbox.shares_kernel = false;
  sandbox.syscalls_made = 0;

  TierFacts& vm = facts[4];
  vm.tier = "vm";
  vm.offers = {Offer::yes, Offer::no, Offer::no, Offer::partial, Offer::yes, Offer::no, false, true, false};
  vm.startup_seconds = 0.03;
  vm.overhead = 0.05;
  vm.peak_memory_bytes = 40 << 20;
  vm.boundaries_held = 6;
  vm.shares_kernel = false;
  vm.syscalls_made = 0;
  return facts;
}

const TierFacts* find(const std::vector<TierFacts>& facts, std::string_view tier) {
  for (const TierFacts& f : facts)
    if (f.tier == tier) return &f;
  return nullptr;
}

void apply_measurements(std::vector<TierFacts>& facts, const bench::Report& report) {
  for (const bench::TierReport& tier : report.tiers) {
    TierFacts* f = const_cast<TierFacts*>(find(facts, tier.tier));
    if (!f) continue;  // a tier this version of advise has no rules for
    if (tier.state == bench::TierReport::State::unavailable) {
      // "Unavailable" because the bench was not given the workload's form for it (no --wasm, no
      // --rootfs) says nothing of the tier; the registry's own verdict is applied separately.
      continue;
    }
    if (tier.state == bench::TierReport::State::failed) {
      f->failed = true;
      f->failure = tier.reason;
      continue;
    }
    f->measured = true;
    if (tier.startup) {
      f->startup_seconds = tier.startup->summary.median;
      f->startup_measured = true;
    }
    if (tier.cpu && tier.cpu->ratio_to_native)
      f->overhead = std::max(0.0, *tier.cpu->ratio_to_native - 1);
    else if (tier.wall && tier.wall->ratio_to_native)
      f->overhead = std::max(0.0, *tier.wall->ratio_to_native - 1);
    if (tier.peak_memory) f->peak_memory_bytes = tier.peak_memory->summary.median;
    if (tier.isolation.measured) {
      f->boundaries_held = tier.isolation.boundaries_held();
      f->shares_kernel = tier.isolation.shares_kernel;
      f->syscalls_made = tier.isolation.syscalls_made;
      f->syscalls_total = tier.isolation.syscalls_total;
    }
  }
}

void apply_availability(std::vector<TierFacts>& facts, const std::vector<bench::TierAvailability>& tiers) {
  for (TierFacts& f : facts) {
    f.available = false;
    f.unavailable_reason = "not in this build";
    for (const bench::TierAvailability& t : tiers) {
      if (t.name != f.tier) continue;
      f.available = t.usable;
      f.unavailable_reason = t.reason;
    }
  }
}

}  // namespace spectrum::advise
