// The bench report's three renderings: an aligned table for the terminal, JSON (the input of
// `spectrum advise --from`) and one self-contained HTML page with SVG charts.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

#include "bench/bench.h"

namespace spectrum::bench {

// The cost table, then the isolation matrix.
std::string render_table(const Report& report);
std::string render_isolation_matrix(const Report& report);

nlohmann::json to_json(const Report& report);
// Reads back what to_json wrote (for advise --from); an Error names the first field that is wrong.
Result<Report> report_from_json(const nlohmann::json& json);

// `extra_html` is placed after the charts (advise adds its placement there); already escaped.
std::string render_html(const Report& report, const std::string& extra_html = {});
std::string html_escape(const std::string& text);

// "12.3 ms", "1.20 s", "3.4 MiB": the units a reader expects for each figure.
std::string format_seconds(double seconds);
std::string format_bytes(double bytes);

}  // namespace spectrum::bench
