// Seccomp filters: compiled by libseccomp once per distinct profile and cached as raw BPF on disk,
// keyed by a hash of the profile's canonical JSON and the libseccomp version, so a container start
// loads a ready program instead of compiling the Docker profile again (~20 ms in crun).
#pragma once

#include <linux/filter.h>

#include <string>
#include <vector>

#include "container/oci_config.h"
#include "core/error.h"

namespace spectrum::container {

struct SeccompProgram {
  std::vector<sock_filter> instructions;
  unsigned flags = 0;  // SECCOMP_FILTER_FLAG_*
};

// Compiles with libseccomp (no cache).
Result<SeccompProgram> compile_seccomp(const Seccomp& profile);
// Looks in `cache_dir` first (empty: no cache); compiles and stores on a miss.
Result<SeccompProgram> cached_seccomp(const Seccomp& profile, const std::string& cache_dir);
// Installs the program on the calling thread (needs no_new_privs or CAP_SYS_ADMIN).
// Async-signal-safe: usable in the container's init right before execve.
int load_seccomp(const SeccompProgram& program);

}  // namespace spectrum::container
