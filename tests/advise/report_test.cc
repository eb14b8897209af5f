// The bench report's pieces that need no tier: the probe's verdicts, the JSON round trip, the
// renderings' escaping and rows for failed and unavailable tiers.
#include "bench/report.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "bench/isolation.h"

namespace spectrum::bench {
namespace {

HostView host() { return {"Linux 6.1 #1 SMP", "1111-2222", "buildhost"}; }

TEST(Isolation, ProbeSeeingTheHostIsJudgedOpen) {
  auto report = parse_probe_output(
      "kernel Linux 6.1 #1 SMP\nboot_id 1111-2222\nhostname buildhost\nprocesses_visible 120\nhost_processes "
      "1\n"
      "host_file read\nhost_network yes\nwrite_attempt ok\nsyscalls 15 17\nsyscall_getpid yes\nsyscall_iopl "
      "no\n");
  Isolation iso = judge(report, host(), true);
  EXPECT_TRUE(iso.measured);
  EXPECT_TRUE(iso.shares_kernel);
  EXPECT_TRUE(iso.sees_host_processes);
  EXPECT_TRUE(iso.reads_host_files);
  EXPECT_TRUE(iso.reaches_host_network);
  EXPECT_TRUE(iso.host_hostname);
  EXPECT_TRUE(iso.writes_outside);
  EXPECT_EQ(iso.syscalls_made, 15);
  EXPECT_EQ(iso.syscalls_total, 17);
  EXPECT_EQ(iso.syscalls_allowed, std::vector<std::string>{"getpid"});
  EXPECT_EQ(iso.boundaries_held(), 0);
}

TEST(Isolation, ProbeSeeingNothingIsJudgedClosed) {
  auto report = parse_probe_output(
      "kernel -\nboot_id -\nhostname -\nprocesses_visible 0\nhost_processes 0\nhost_file no\nhost_network "
      "no\n"
      "write_attempt No such file or directory\nsyscalls 0 17\n");
  Isolation iso = judge(report, host(), false);
  EXPECT_FALSE(iso.shares_kernel);
  EXPECT_EQ(iso.boundaries_held(), 6);
}

TEST(Isolation, TheWriteVerdictIsTheHostsNotTheProbesClaim) {
  // A probe that claims its write failed while the file appeared on the host is judged by the file.
  auto report = parse_probe_output("write_attempt Permission denied\nsyscalls 0 17\n");
  EXPECT_TRUE(judge(report, host(), true).writes_outside);
  auto claims = parse_probe_output("write_attempt ok\nsyscalls 0 17\n");
  EXPECT_FALSE(judge(claims, host(), false).writes_outside);
}

TEST(Isolation, AnotherKernelWithTheSameReleaseIsNotTheHosts) {
  auto report = parse_probe_output("kernel Linux 6.1 #2 SMP\nboot_id 9999\nsyscalls 3 17\n");
  EXPECT_FALSE(judge(report, host(), false).shares_kernel);
}

Report sample() {
  Report r;
  r.program = "prog<script>";
  r.runs = 2;
  TierReport native;
  native.tier = "native";
  native.state = TierReport::State::ok;
  native.runs = {{0.1, 0.09, 0.001, 2e6, 0, "aa"}, {0.12, 0.1, 0.002, 2.1e6, 0, "aa"}};
  native.wall = Metric{{0.11, 0.1, 0.12, 0.18, 2}, 1.0};
  native.cpu = Metric{{0.095, 0.09, 0.1, 0.1, 2}, 1.0};
  native.peak_memory = Metric{{2.05e6, 2e6, 2.1e6, 0.05, 2}, 1.0};
  native.output_hash = "aa";
  r.tiers.push_back(native);
  TierReport vm;
  vm.tier = "vm";
  vm.state = TierReport::State::failed;
  vm.reason = "KVM_RUN: <bad> & worse";
  r.tiers.push_back(vm);
  TierReport sandbox;
  sandbox.tier = "sandbox";
  sandbox.state = TierReport::State::unavailable;
  sandbox.reason = "not in this build";
  r.tiers.push_back(sandbox);
  r.errors.push_back("vm failed: KVM_RUN");
  return r;
}

TEST(Report, JsonRoundTrip) {
  Report r = sample();
  nlohmann::json j = to_json(r);
  EXPECT_EQ(j["tiers"][0]["wall_seconds"]["ratio_to_native"], 1.0);
  EXPECT_EQ(j["ok"], false);
  auto back = report_from_json(j);
  ASSERT_TRUE(back) << back.error().message();
  ASSERT_EQ(back->tiers.size(), 3u);
  EXPECT_EQ(back->tiers[0].wall->summary.median, 0.11);
  EXPECT_EQ(back->program, "prog<script>");
  EXPECT_EQ(back->tiers[1].state, TierReport::State::failed);
  EXPECT_EQ(back->tiers[1].reason, "KVM_RUN: <bad> & worse");
  EXPECT_EQ(back->tiers[2].state, TierReport::State::unavailable);
}

TEST(Report, JsonThatIsNotABenchReportIsRefused) {
  EXPECT_FALSE(report_from_json(nlohmann::json::parse("[1,2]")));
  EXPECT_FALSE(report_from_json(
      nlohmann::json::parse(R"({"spectrum_bench":1,"tiers":[{"tier":"x","state":"odd"}]})")));
  EXPECT_FALSE(report_from_json(nlohmann::json::parse(R"({"spectrum_bench":1,"tiers":[{"state":"ok"}]})")));
  EXPECT_FALSE(report_from_json(nlohmann::json::parse(
      R"({"spectrum_bench":1,"tiers":[{"tier":"x","state":"ok","wall_seconds":{"median":"x"}}]})")));
}

TEST(Report, TableShowsFailedAndUnavailableRowsWithTheirReasons) {
  std::string table = render_table(sample());
  EXPECT_NE(table.find("vm         FAILED: KVM_RUN: <bad> & worse"), std::string::npos) << table;
  EXPECT_NE(table.find("sandbox    not available: not in this build"), std::string::npos) << table;
  EXPECT_NE(table.find("1.00x"), std::string::npos);
}

TEST(Report, HtmlEscapesAndKeepsEveryTier) {
  std::string html = render_html(sample());
  EXPECT_EQ(html.find("prog<script>"), std::string::npos);
  EXPECT_NE(html.find("prog&lt;script&gt;"), std::string::npos);
  EXPECT_NE(html.find("KVM_RUN: &lt;bad&gt; &amp; worse"), std::string::npos);
  EXPECT_NE(html.find("not available: not in this build"), std::string::npos);
  EXPECT_EQ(html.find("http://"), std::string::npos) << "no external assets";
  EXPECT_EQ(html.find("https://"), std::string::npos) << "no external assets";
}

TEST(Report, Units) {
  EXPECT_EQ(format_seconds(0.0005), "500 us");
  EXPECT_EQ(format_seconds(0.0123), "12.3 ms");
  EXPECT_EQ(format_seconds(2.5), "2.50 s");
  EXPECT_EQ(format_bytes(512 * 1024), "512 KiB");
  EXPECT_EQ(format_bytes(3.5 * 1024 * 1024), "3.5 MiB");
}

}  // namespace
}  // namespace spectrum::bench
