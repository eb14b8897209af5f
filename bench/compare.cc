// spectrum-compare: runs commands interleaved (A B C A B C ...) so that the machine's noise hits
// each alike, then prints per command the median wall and CPU time, the peak RSS of the command's
// own process, and ratios to the first command (the baseline).
//
//   spectrum-compare [--rounds N] [--warmup N] [--json] NAME=COMMAND... NAME=COMMAND...
//
// A COMMAND is split on spaces and exec'd directly (no shell, so no shell start-up is measured).
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Command {
  std::string name;
  std::vector<std::string> argv;
  std::vector<double> wall_ms, cpu_ms;
  long max_rss_kib = 0;
  int failures = 0;
};

double median(std::vector<double> values) {
  if (values.empty()) return NAN;
  std::sort(values.begin(), values.end());
  std::size_t mid = values.size() / 2;
  return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

bool run_once(Command& command, bool record) {
  std::vector<char*> argv;
  for (std::string& arg : command.argv) argv.push_back(arg.data());
  argv.push_back(nullptr);
  auto start = std::chrono::steady_clock::now();
  pid_t pid = ::fork();
  if (pid == 0) {
    int null_fd = ::open("/dev/null", O_WRONLY);
    ::dup2(null_fd, 1);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  int status = 0;
  rusage usage{};
  ::wait4(pid, &status, 0, &usage);
  auto end = std::chrono::steady_clock::now();
  bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (!record) return ok;
  if (!ok) ++command.failures;
  command.wall_ms.push_back(std::chrono::duration<double, std::milli>(end - start).count());
  double cpu = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e3 +
               static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e3;
  command.cpu_ms.push_back(cpu);
  command.max_rss_kib = std::max(command.max_rss_kib, usage.ru_maxrss);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 100, warmup = 5;
  bool json = false;
  std::vector<Command> commands;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--rounds" && i + 1 < argc)
      rounds = std::atoi(argv[++i]);
    else if (arg == "--warmup" && i + 1 < argc)
      warmup = std::atoi(argv[++i]);
    else if (arg == "--json")
      json = true;
    else if (auto eq = arg.find('='); eq != std::string::npos && eq > 0) {
      Command command;
      command.name = arg.substr(0, eq);
      std::istringstream words(arg.substr(eq + 1));
      for (std::string word; words >> word;) command.argv.push_back(word);
      if (command.argv.empty()) {
        std::fprintf(stderr, "spectrum-compare: error: empty command for '%s'\n", command.name.c_str());
        return 125;
      }
      commands.push_back(std::move(command));
    } else {
      std::fprintf(stderr, "spectrum-compare: error: unexpected argument '%s' (expected NAME=COMMAND)\n",
                   arg.c_str());
      return 125;
    }
  }
  if (commands.empty() || rounds <= 0) {
    std::fprintf(stderr, "usage: spectrum-compare [--rounds N] [--warmup N] [--json] NAME=COMMAND...\n");
    return 125;
  }
  for (Command& command : commands) {
    if (!run_once(command, false)) {
      std::fprintf(stderr, "spectrum-compare: error: '%s' does not exit 0\n", command.name.c_str());
      return 1;
    }
    for (int i = 1; i < warmup; ++i) run_once(command, false);
  }
  for (int round = 0; round < rounds; ++round)
    for (Command& command : commands) run_once(command, true);

  const double base_wall = median(commands[0].wall_ms), base_cpu = median(commands[0].cpu_ms);
  nlohmann::json out = nlohmann::json::array();
  if (!json)
    std::printf("%-28s %10s %10s %9s %9s %10s\n", "command", "wall ms", "cpu ms", "wall x", "cpu x",
                "rss KiB");
  for (Command& command : commands) {
    double wall = median(command.wall_ms), cpu = median(command.cpu_ms);
    double wall_ratio = wall / base_wall, cpu_ratio = base_cpu > 0 ? cpu / base_cpu : NAN;
    if (json) {
      out.push_back({{"name", command.name},
                     {"median_wall_ms", wall},
                     {"median_cpu_ms", cpu},
                     {"wall_ratio", wall_ratio},
                     {"cpu_ratio", cpu_ratio},
                     {"max_rss_kib", command.max_rss_kib},
                     {"rounds", rounds},
                     {"failures", command.failures}});
    } else {
      std::printf("%-28s %10.3f %10.3f %9.2f %9.2f %10ld%s\n", command.name.c_str(), wall, cpu, wall_ratio,
                  cpu_ratio, command.max_rss_kib, command.failures ? "  (failures!)" : "");
    }
  }
  if (json) std::printf("%s\n", out.dump(2).c_str());
  return 0;
}
