// What a cgroup's limits refused during a run, in words for the result record: a fork bomb that the
// pids limit stopped lets its shell exit 0, and the record must still say what happened.
#pragma once

#include <cstdint>
#include <string>

#include "core/cgroup.h"

namespace spectrum {

// How many forks the pids controller refused ("max N" of pids.events, v1 and v2 alike).
std::uint64_t pids_limit_hits(const Cgroup& cgroup);

// "the pids limit (64) refused 12 forks", or empty when none was refused.
std::string pids_limit_detail(const Cgroup& cgroup, std::uint64_t limit);

}  // namespace spectrum
