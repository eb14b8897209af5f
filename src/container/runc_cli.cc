#include "container/runc_cli.h"

#include <cstdio>
#include <cstring>

namespace spectrum::container {
bool is_runc_verb(const char* word) {
  static const char* const verbs[] = {"create", "start", "state", "kill", "delete", "exec", "ps",
                                      "features", "spec", "pause", "resume", "list", "update", "events"};
  for (const char* verb : verbs)
    if (std::strcmp(word, verb) == 0) return true;
  return false;
}
bool is_runc_global_flag(const char* word) {
  static const char* const flags[] = {"--root", "--log", "--log-format", "--systemd-cgroup", "--debug", "--rootless", "--criu"};
  for (const char* flag : flags) {
    std::size_t n = std::strlen(flag);
    if (std::strncmp(word, flag, n) == 0 && (word[n] == 0 || word[n] == '=')) return true;
  }
  return false;
}
int runc_main(int, char**) {
  std::fputs("spectrum: error: the OCI runtime is not built yet\n", stderr);
  return 1;
}
}  // namespace spectrum::container
