// Installs the monitor's seccomp filter from the program embedded at build time
// (monitor_filter.inc, written by spectrum_vm_filter_gen from build_monitor_filter in confine.cc).
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vm/confine.h"

namespace spectrum::vm {

namespace {
#include "monitor_filter.inc"  // kMonitorFilter{Kvm,Ptrace}{,NetHost}
}  // namespace

std::span<const sock_filter> embedded_monitor_filter(bool ptrace_platform, bool host_network) {
  if (ptrace_platform)
    return host_network ? std::span<const sock_filter>(kMonitorFilterPtraceNetHost) : kMonitorFilterPtrace;
  return host_network ? std::span<const sock_filter>(kMonitorFilterKvmNetHost) : kMonitorFilterKvm;
}

Result<void> install_monitor_seccomp(bool ptrace_platform, bool host_network) {
  const std::span<const sock_filter> program = embedded_monitor_filter(ptrace_platform, host_network);
  sock_fprog prog{static_cast<unsigned short>(program.size()), const_cast<sock_filter*>(program.data())};
  // As seccomp_load would: no_new_privs first (drop_capabilities sets it too).
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return fail_errno("PR_SET_NO_NEW_PRIVS");
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
    return fail_errno("seccomp(SECCOMP_SET_MODE_FILTER) of the monitor's filter");
  return {};
}

}  // namespace spectrum::vm
