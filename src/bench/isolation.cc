#include "bench/isolation.h"

#include <netinet/in.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "bench/child.h"
#include "bench/files.h"
#include "core/fd.h"

namespace spectrum::bench {
namespace {

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

std::string random_token() {
  unsigned char bytes[12] = {};
  if (::getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) {
    // Unique enough for this purpose: the token only has to be absent from other command lines.
    std::snprintf(reinterpret_cast<char*>(bytes), sizeof bytes, "%d", static_cast<int>(::getpid()));
  }
  std::string token = "spectrum-probe-";
  for (unsigned char b : bytes) {
    char hex[3];
    std::snprintf(hex, sizeof hex, "%02x", b);
    token += hex;
  }
  return token;
}

// A listening socket on the host's loopback: the probe reaching it means it shares the host's
// network. Nothing is accepted; a completed connect() is the evidence.
struct Listener {
  UniqueFd fd;
  int port = 0;
};
Result<Listener> listen_on_loopback() {
  Listener l;
  l.fd = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!l.fd) return fail_errno("socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(l.fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
    return fail_errno("bind");
  if (::listen(l.fd.get(), 8) != 0) return fail_errno("listen");
  socklen_t length = sizeof address;
  if (::getsockname(l.fd.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0)
    return fail_errno("getsockname");
  l.port = ntohs(address.sin_port);
  return l;
}

Result<Isolation> run_probe(const std::string& tier, const Options& options, const std::string& work_dir) {
  if (options.probe_dir.empty()) return fail("no isolation probe was built (spectrum-probe)");
  const std::string native_probe = options.probe_dir + "/spectrum-probe";
  const std::string wasm_probe = options.probe_dir + "/spectrum-probe.wasm";
  const std::string& probe = tier == "wasm" ? wasm_probe : native_probe;
  if (!is_regular_file(probe))
    return fail("the isolation probe " + probe + " is missing (build spectrum-probe)");

  const std::string base = work_dir + "/probe-" + tier;
  const std::string host_dir = base + "/host";
  SPECTRUM_TRY(make_directories(host_dir));
  const std::string token = random_token();
  SPECTRUM_TRY(write_text(host_dir + "/marker", token));
  Listener listener = SPECTRUM_TRY(listen_on_loopback());

  std::vector<std::string> argv = {
      options.spectrum,           "run",      "--tier", tier,        "--json", "--stdout",
      "file:" + base + "/report", "--stderr", "null",   "--timeout", "30s"};
  std::string program = probe;
  if (tier != "native" && tier != "wasm") {
    // A root of the probe's own: the static probe and the usual mount points, nothing of the host.
    const std::string root = base + "/root";
    for (const char* sub : {"proc", "dev", "sys", "tmp", "etc"})
      SPECTRUM_TRY(make_directories(root + "/" + sub));
    SPECTRUM_TRY(copy_file(native_probe, root + "/probe", 0755));
    argv.insert(argv.end(), {"--rootfs", root});
    program = "/probe";
  }
  argv.insert(argv.end(),
              {"--", program, host_dir + "/marker", host_dir, token, std::to_string(listener.port)});
  ChildRun child = SPECTRUM_TRY(run_child(argv, base + "/record", base + "/log"));
  std::string text = read_text(base + "/report").value_or("");
  std::map<std::string, std::string> report = parse_probe_output(text);
  if (!report.contains("syscalls")) {
    std::string log = trimmed(read_text(base + "/log").value_or(""));
    std::size_t newline = log.rfind('\n');
    if (newline != std::string::npos) log = log.substr(newline + 1);
    if (log.starts_with("spectrum: error: ")) log = log.substr(17);
    return fail("the probe did not report (status " + std::to_string(child.status) +
                (log.empty() ? ")" : "): " + log));
  }
  const bool wrote = ::access((host_dir + "/written-by-probe").c_str(), F_OK) == 0;
  return judge(report, host_view(), wrote);
}

}  // namespace

int Isolation::boundaries_held() const {
  if (!measured) return 0;
  return !shares_kernel + !sees_host_processes + !reads_host_files + !reaches_host_network + !host_hostname +
         !writes_outside;
}

HostView host_view() {
  HostView view;
  utsname u{};
  if (::uname(&u) == 0) {
    view.kernel = std::string(u.sysname) + " " + u.release + " " + u.version;
    view.hostname = u.nodename;
  }
  view.boot_id = trimmed(read_text("/proc/sys/kernel/random/boot_id").value_or(""));
  return view;
}

std::map<std::string, std::string> parse_probe_output(const std::string& text) {
  std::map<std::string, std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    std::size_t space = line.find(' ');
    if (space != std::string::npos) out[line.substr(0, space)] = line.substr(space + 1);
    start = end + 1;
  }
  return out;
}

Isolation judge(const std::map<std::string, std::string>& report, const HostView& host, bool wrote) {
  auto get = [&](const std::string& key) {
    auto it = report.find(key);
    return it == report.end() ? std::string("-") : it->second;
  };
  Isolation iso;
  iso.measured = true;
  // The same kernel instance: the boot id the kernel makes up at boot, or (where /proc is not
  // reachable) the same uname down to the build string.
  const std::string boot_id = get("boot_id"), kernel = get("kernel");
  iso.shares_kernel = (boot_id != "-" && boot_id == host.boot_id) || (kernel != "-" && kernel == host.kernel);
  iso.processes_visible = std::atoi(get("processes_visible").c_str());
  iso.sees_host_processes = std::atoi(get("host_processes").c_str()) > 0;
  iso.reads_host_files = get("host_file") == "read";
  iso.reaches_host_network = get("host_network") == "yes";
  iso.host_hostname = get("hostname") == host.hostname;
  std::sscanf(get("syscalls").c_str(), "%d %d", &iso.syscalls_made, &iso.syscalls_total);
  for (const auto& [key, value] : report)
    if (key.starts_with("syscall_") && value == "yes") iso.syscalls_allowed.push_back(key.substr(8));
  iso.writes_outside = wrote;
  return iso;
}

Isolation probe_isolation(const std::string& tier, const Options& options, const std::string& work_dir) {
  Result<Isolation> result = run_probe(tier, options, work_dir);
  if (result) return *result;
  Isolation iso;
  iso.error = result.error().message();
  return iso;
}

}  // namespace spectrum::bench
