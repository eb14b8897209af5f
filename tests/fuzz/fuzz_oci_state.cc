// libFuzzer target: the runtime's state.json as a later command reads it back (a file another
// process may have truncated or filled with garbage). Load, then print it as `state` would; and
// the cgroups.json beside it, as `delete --force` reads it when state.json is damaged.
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "container/state.h"

namespace {
const std::string& state_root() {
  static const std::string root = [] {
    char pattern[] = "/tmp/spectrum-fuzz-state.XXXXXX";
    std::string dir = ::mkdtemp(pattern) ? pattern : "/tmp";
    ::mkdir((dir + "/fuzz").c_str(), 0700);
    // Nothing left behind when the fuzzer ends.
    static std::string remove_at_exit = dir;
    std::atexit([] {
      for (const char* name : {"/fuzz/state.json", "/fuzz/cgroups.json", "/fuzz", ""})
        ::remove((remove_at_exit + name).c_str());
    });
    return dir;
  }();
  return root;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  spectrum::container::StateStore store(state_root());
  const std::string path = store.dir_of("fuzz") + "/state.json";
  if (std::FILE* file = std::fopen(path.c_str(), "wb")) {
    std::fwrite(data, 1, size, file);
    std::fclose(file);
  }
  auto state = store.load("fuzz");
  if (state) (void)store.oci_state(*state).dump();
  // The same bytes as the cgroups file `delete --force` falls back on (read, never acted on here).
  if (std::FILE* file = std::fopen((store.dir_of("fuzz") + "/cgroups.json").c_str(), "wb")) {
    std::fwrite(data, 1, size, file);
    std::fclose(file);
  }
  (void)store.load_cgroups("fuzz");
  return 0;
}
