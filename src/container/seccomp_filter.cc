#include "container/seccomp_filter.h"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "container/try.h"
#include "core/fd.h"

namespace spectrum::container {
namespace {

struct FilterContext {
  scmp_filter_ctx ctx;
  explicit FilterContext(std::uint32_t default_action) : ctx(seccomp_init(default_action)) {}
  ~FilterContext() {
    if (ctx) seccomp_release(ctx);
  }
  FilterContext(const FilterContext&) = delete;
  FilterContext& operator=(const FilterContext&) = delete;
};

std::uint64_t fnv1a(std::string_view data, std::uint64_t hash = 0xcbf29ce484222325ull) {
  for (unsigned char c : data) {
    hash ^= c;
    hash *= 0x100000001b3ull;
  }
  return hash;
}

unsigned filter_flags(const Seccomp& profile) {
  unsigned flags = 0;
  for (const std::string& name : profile.flags) {
    if (name == "SECCOMP_FILTER_FLAG_TSYNC") flags |= SECCOMP_FILTER_FLAG_TSYNC;
    if (name == "SECCOMP_FILTER_FLAG_LOG") flags |= SECCOMP_FILTER_FLAG_LOG;
    if (name == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
  }
  return flags;
}

}  // namespace

Result<SeccompProgram> compile_seccomp(const Seccomp& profile) {
  FilterContext filter(profile.default_action);
  if (!filter.ctx) return fail("seccomp: cannot initialise libseccomp with the default action");
  // The filter does not set no_new_privs itself: the process config decides.
  seccomp_attr_set(filter.ctx, SCMP_FLTATR_CTL_NNP, 0);
  for (std::uint32_t arch : profile.architectures) {
    int rc = seccomp_arch_add(filter.ctx, arch);
    if (rc != 0 && rc != -EEXIST) return fail("seccomp: cannot add architecture", -rc);
  }
  for (std::size_t i = 0; i < profile.rules.size(); ++i) {
    const SeccompRule& rule = profile.rules[i];
    if (rule.action == profile.default_action) continue;  // libseccomp refuses redundant rules
    std::vector<scmp_arg_cmp> conditions;
    for (const SeccompArg& arg : rule.args)
      conditions.push_back({arg.index, static_cast<scmp_compare>(arg.op), arg.value, arg.value_two});
    for (const std::string& name : rule.names) {
      int number = seccomp_syscall_resolve_name(name.c_str());
      // Profiles list syscalls of other kernels and architectures; like runc, skip unknown names.
      if (number == __NR_SCMP_ERROR) continue;
      // Several conditions on the same argument mean "any of them" in Docker's profiles: one rule each.
      bool same_arg = conditions.size() > 1;
      for (std::size_t k = 1; k < conditions.size(); ++k) same_arg &= conditions[k].arg == conditions[0].arg;
      int rc = 0;
      if (same_arg) {
        for (const scmp_arg_cmp& cmp : conditions) {
          rc = seccomp_rule_add_exact_array(filter.ctx, rule.action, number, 1, &cmp);
          if (rc != 0) break;
        }
      } else {
        rc = seccomp_rule_add_array(filter.ctx, rule.action, number, static_cast<unsigned>(conditions.size()),
                                    conditions.empty() ? nullptr : conditions.data());
      }
      if (rc != 0 && rc != -EEXIST)
        return fail("linux.seccomp.syscalls[" + std::to_string(i) + "]: cannot add a rule for '" + name +
                    "': " + std::strerror(-rc));
    }
  }
  UniqueFd memfd(static_cast<int>(::syscall(SYS_memfd_create, "seccomp-bpf", MFD_CLOEXEC)));
  if (!memfd) return fail_errno("seccomp: memfd_create");
  if (int rc = seccomp_export_bpf(filter.ctx, memfd.get()); rc != 0)
    return fail("seccomp: cannot export the filter", -rc);
  off_t size = ::lseek(memfd.get(), 0, SEEK_END);
  if (size <= 0 || size % sizeof(sock_filter) != 0) return fail("seccomp: exported filter has a bad size");
  SeccompProgram program;
  program.instructions.resize(static_cast<std::size_t>(size) / sizeof(sock_filter));
  if (::pread(memfd.get(), program.instructions.data(), static_cast<std::size_t>(size), 0) != size)
    return fail_errno("seccomp: read filter");
  program.flags = filter_flags(profile);
  return program;
}

Result<SeccompProgram> cached_seccomp(const Seccomp& profile, const std::string& cache_dir) {
  if (cache_dir.empty()) return compile_seccomp(profile);
  const scmp_version* version = seccomp_version();
  std::string key_text = profile.canonical_json + "|" + std::to_string(version->major) + "." +
                         std::to_string(version->minor) + "." + std::to_string(version->micro);
  char name[40];
  std::snprintf(name, sizeof name, "%016llx.bpf", static_cast<unsigned long long>(fnv1a(key_text)));
  std::string path = cache_dir + "/" + name;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd) {
    struct stat st {};
    if (::fstat(fd.get(), &st) == 0 && st.st_size > 0 && st.st_size % sizeof(sock_filter) == 0 &&
        st.st_uid == 0 && (st.st_mode & 022) == 0) {
      SeccompProgram program;
      program.instructions.resize(static_cast<std::size_t>(st.st_size) / sizeof(sock_filter));
      if (::read(fd.get(), program.instructions.data(), static_cast<std::size_t>(st.st_size)) == st.st_size) {
        program.flags = filter_flags(profile);
        return program;
      }
    }
  }
  SeccompProgram program = SPECTRUM_TRY(compile_seccomp(profile));
  // Best effort: a cache that cannot be written only costs the next start a compile.
  ::mkdir(cache_dir.c_str(), 0700);
  std::string temp = path + ".tmp." + std::to_string(::getpid());
  UniqueFd out(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (out) {
    std::string_view bytes(reinterpret_cast<const char*>(program.instructions.data()),
                           program.instructions.size() * sizeof(sock_filter));
    if (write_all(out.get(), bytes) && ::rename(temp.c_str(), path.c_str()) == 0) return program;
    ::unlink(temp.c_str());
  }
  return program;
}

int load_seccomp(const SeccompProgram& program) {
  sock_fprog prog{static_cast<unsigned short>(program.instructions.size()),
                  const_cast<sock_filter*>(program.instructions.data())};
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, program.flags, &prog) == 0) return 0;
  return errno;
}

}  // namespace spectrum::container
