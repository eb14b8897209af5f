// Parsing of the human-written values on the command line: sizes, durations, CPU fractions.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace spectrum {

// "256M", "1g", "512KiB", "4096" (bytes). Binary multiples (K = 1024).
Result<std::uint64_t> parse_size(std::string_view text);
// "10s", "500ms", "1.5s", "2m", "1h", "250us", "10" (seconds).
Result<std::chrono::nanoseconds> parse_duration(std::string_view text);
// "0.5", "2": a positive fraction of CPUs.
Result<double> parse_cpus(std::string_view text);
// "0-3,5": validated cpuset list syntax; returns it unchanged.
Result<std::string_view> parse_cpuset(std::string_view text);

// The non-empty fields of `text` between any of `separators` (kernel files: "a b\nc d" -> a, b, c, d
// with " \n"). Views into `text`. A string stream would do it, but drags the locale machinery in.
std::vector<std::string_view> split_fields(std::string_view text, std::string_view separators);

}  // namespace spectrum
