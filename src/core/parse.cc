#include "core/parse.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <string>

namespace spectrum {
namespace {

std::string quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

// Splits "1.5GiB" into the number 1.5 and the suffix "GiB".
bool split_number(std::string_view text, double& number, std::string_view& suffix) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, number);
  if (ec != std::errc() || ptr == text.data()) return false;
  suffix = std::string_view(ptr, static_cast<std::size_t>(end - ptr));
  return std::isfinite(number);
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

}  // namespace

Result<std::uint64_t> parse_size(std::string_view text) {
  double number = 0;
  std::string_view suffix;
  if (!split_number(text, number, suffix) || number < 0)
    return fail("invalid size " + quoted(text) + ": expected a number with an optional unit (K, M, G, T)");
  struct Unit {
    std::string_view names[4];
    double factor;
  };
  static constexpr Unit units[] = {
      {{"", "b", "", ""}, 1.0},
      {{"k", "kb", "kib", "ki"}, 1024.0},
      {{"m", "mb", "mib", "mi"}, 1024.0 * 1024},
      {{"g", "gb", "gib", "gi"}, 1024.0 * 1024 * 1024},
      {{"t", "tb", "tib", "ti"}, 1024.0 * 1024 * 1024 * 1024},
  };
  for (const Unit& unit : units) {
    for (std::string_view name : unit.names) {
      if ((name.empty() && !suffix.empty()) || !iequals(name, suffix)) continue;
      double bytes = number * unit.factor;
      if (bytes >= static_cast<double>(std::numeric_limits<std::uint64_t>::max()))
        return fail("invalid size " + quoted(text) + ": too large");
      if (bytes != std::floor(bytes))
        return fail("invalid size " + quoted(text) + ": not a whole number of bytes");
      return static_cast<std::uint64_t>(bytes);
    }
  }
  return fail("invalid size " + quoted(text) + ": unknown unit " + quoted(suffix) + " (use K, M, G or T)");
}

Result<std::chrono::nanoseconds> parse_duration(std::string_view text) {
  double number = 0;
  std::string_view suffix;
  if (!split_number(text, number, suffix) || number < 0)
    return fail("invalid duration " + quoted(text) + ": expected a number with a unit (ms, s, m, h)");
  double factor = 0;
  if (suffix.empty() || suffix == "s")
    factor = 1e9;
  else if (suffix == "ms")
    factor = 1e6;
  else if (suffix == "us" || suffix == "µs")
    factor = 1e3;
  else if (suffix == "ns")
    factor = 1;
  else if (suffix == "m")
    factor = 60e9;
  else if (suffix == "h")
    factor = 3600e9;
  else
    return fail("invalid duration " + quoted(text) + ": unknown unit " + quoted(suffix) +
                " (use ns, us, ms, s, m or h)");
  double ns = number * factor;
  if (ns > static_cast<double>(std::numeric_limits<std::int64_t>::max()) / 2)
    return fail("invalid duration " + quoted(text) + ": too long");
  return std::chrono::nanoseconds(static_cast<std::int64_t>(ns));
}

Result<double> parse_cpus(std::string_view text) {
  double number = 0;
  std::string_view suffix;
  if (!split_number(text, number, suffix) || !suffix.empty())
    return fail("invalid CPU count " + quoted(text) + ": expected a number such as 0.5 or 2");
  if (number <= 0 || number > 4096)
    return fail("invalid CPU count " + quoted(text) + ": must be greater than 0");
  return number;
}

Result<std::string_view> parse_cpuset(std::string_view text) {
  auto bad = [&](const char* why) { return fail("invalid cpuset " + quoted(text) + ": " + why); };
  if (text.empty()) return bad("empty");
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t comma = text.find(',', pos);
    std::string_view item =
        text.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    std::size_t dash = item.find('-');
    auto number = [](std::string_view s, unsigned& out) {
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
      return ec == std::errc() && p == s.data() + s.size() && !s.empty();
    };
    unsigned lo = 0, hi = 0;
    if (dash == std::string_view::npos) {
      if (!number(item, lo)) return bad("expected CPU numbers like 0-3,5");
    } else {
      if (!number(item.substr(0, dash), lo) || !number(item.substr(dash + 1), hi))
        return bad("expected CPU numbers like 0-3,5");
      if (hi < lo) return bad("range runs backwards");
    }
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return text;
}

std::vector<std::string_view> split_fields(std::string_view text, std::string_view separators) {
  std::vector<std::string_view> fields;
  std::size_t start = text.find_first_not_of(separators);
  while (start != std::string_view::npos) {
    std::size_t end = text.find_first_of(separators, start);
    fields.push_back(
        text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    start = end == std::string_view::npos ? end : text.find_first_not_of(separators, end);
  }
  return fields;
}

}  // namespace spectrum
