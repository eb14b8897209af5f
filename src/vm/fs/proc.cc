#include "vm/fs/proc.h"

#include <dirent.h>
#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "vm/kernel/identity.h"

namespace spectrum::vm::vfs {

namespace {

// A decimal number as /proc names pids and fds: no sign, no leading zero.
std::optional<int> number(const std::string& s) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  int n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || end != s.data() + s.size() || n < 0) return std::nullopt;
  return n;
}

// A path in mountinfo/mounts: space, tab, newline and backslash as octal escapes (Linux's).
std::string escape_mount_path(const std::string& path) {
  std::string out;
  for (char c : path) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\\')
      out += "\\" + std::to_string((c >> 6) & 7) + std::to_string((c >> 3) & 7) + std::to_string(c & 7);
    else
      out += c;
  }
  return out;
}

std::string join(const std::vector<std::string>& parts, std::size_t from) {
  std::string out;
  for (std::size_t i = from; i < parts.size(); ++i) out += "/" + parts[i];
  return out;
}

__attribute__((format(printf, 1, 2))) std::string text_of(const char* format, ...) {
  char buffer[512];
  va_list args;
  va_start(args, format);
  const int n = std::vsnprintf(buffer, sizeof buffer, format, args);
  va_end(args);
  return std::string(buffer, static_cast<std::size_t>(std::clamp(n, 0, static_cast<int>(sizeof buffer) - 1)));
}

// The host CPU as cpuid reports it, one processor (the sandbox runs its tasks on one).
std::string cpuinfo() {
  auto cpuid = [](unsigned leaf, unsigned sub, unsigned(&r)[4]) {
    __asm__("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
  };
  unsigned r[4];
  cpuid(0, 0, r);
  char vendor[13] = {};
  std::memcpy(vendor, &r[1], 4), std::memcpy(vendor + 4, &r[3], 4), std::memcpy(vendor + 8, &r[2], 4);
  cpuid(1, 0, r);
  const unsigned family = ((r[0] >> 8) & 0xf) + (((r[0] >> 8) & 0xf) == 0xf ? (r[0] >> 20) & 0xff : 0);
  const unsigned model = ((r[0] >> 4) & 0xf) | ((r[0] >> 12) & 0xf0);
  const unsigned stepping = r[0] & 0xf;
  const unsigned ecx1 = r[2], edx1 = r[3];
  char brand[49] = {};
  cpuid(0x80000000, 0, r);
  if (r[0] >= 0x80000004)
    for (unsigned i = 0; i < 3; ++i) {
      cpuid(0x80000002 + i, 0, r);
      std::memcpy(brand + 16 * i, r, 16);
    }
  cpuid(7, 0, r);
  const unsigned ebx7 = r[1];
  std::string flags;
  auto flag = [&](bool on, const char* name) {
    if (on) flags += (flags.empty() ? "" : " ") + std::string(name);
  };
  flag(edx1 & (1u << 0), "fpu");
  flag(edx1 & (1u << 4), "tsc");
  flag(edx1 & (1u << 15), "cmov");
  flag(edx1 & (1u << 23), "mmx");
  flag(edx1 & (1u << 24), "fxsr");
  flag(edx1 & (1u << 25), "sse");
  flag(edx1 & (1u << 26), "sse2");
  flag(ecx1 & (1u << 0), "pni");
  flag(ecx1 & (1u << 1), "pclmulqdq");
  flag(ecx1 & (1u << 9), "ssse3");
  flag(ecx1 & (1u << 12), "fma");
  flag(ecx1 & (1u << 13), "cx16");
  flag(ecx1 & (1u << 19), "sse4_1");
  flag(ecx1 & (1u << 20), "sse4_2");
  flag(ecx1 & (1u << 22), "movbe");
  flag(ecx1 & (1u << 23), "popcnt");
  flag(ecx1 & (1u << 25), "aes");
  flag(ecx1 & (1u << 26), "xsave");
  flag(ecx1 & (1u << 28), "avx");
  flag(ecx1 & (1u << 29), "f16c");
  flag(ecx1 & (1u << 30), "rdrand");
  flag(ebx7 & (1u << 3), "bmi1");
  flag(ebx7 & (1u << 5), "avx2");
  flag(ebx7 & (1u << 8), "bmi2");
  flag(ebx7 & (1u << 16), "avx512f");
  flag(ebx7 & (1u << 18), "rdseed");
  flag(ebx7 & (1u << 19), "adx");
  flag(ebx7 & (1u << 29), "sha_ni");
  std::string name = brand;
  name.erase(0, name.find_first_not_of(' '));
  return "processor\t: 0\nvendor_id\t: " + std::string(vendor) + "\ncpu family\t: " + std::to_string(family) +
         "\nmodel\t\t: " + std::to_string(model) + "\nmodel name\t: " + name +
         "\nstepping\t: " + std::to_string(stepping) +
         "\nphysical id\t: 0\nsiblings\t: 1\ncore id\t\t: 0\ncpu cores\t: 1\nfpu\t\t: yes\nflags\t\t: " +
         flags +
         "\nclflush size\t: 64\ncache_alignment\t: 64\naddress sizes\t: 48 bits physical, 48 bits "
         "virtual\n\n";
}

std::string meminfo(std::uint64_t total, std::uint64_t free) {
  const auto kib = [](std::uint64_t bytes) { return bytes / 1024; };
  std::string out;
  for (auto [name, value] : {std::pair<const char*, std::uint64_t>{"MemTotal", kib(total)},
                             {"MemFree", kib(free)},
                             {"MemAvailable", kib(free)},
                             {"Buffers", 0},
                             {"Cached", 0},
                             {"SwapCached", 0},
                             {"SwapTotal", 0},
                             {"SwapFree", 0}})
    out += text_of("%-15s %8llu kB\n", (std::string(name) + ":").c_str(),
                   static_cast<unsigned long long>(value));
  return out;
}

std::string uptime() {
  timespec up{};
  ::clock_gettime(CLOCK_BOOTTIME, &up);
  const double seconds = static_cast<double>(up.tv_sec) + static_cast<double>(up.tv_nsec) / 1e9;
  return text_of("%.2f %.2f\n", seconds, 0.0);
}

// Linux's columns, in clock ticks (USER_HZ, 100 a second): user nice system idle iowait irq
// softirq steal guest guest_nice, for all CPUs and for cpu0, the one there is. Idle is the
// machine's uptime (the host's, as /proc/uptime says) less what the sandbox's tasks used.
std::string proc_stat_machine(const ProcCpu& cpu) {
  timespec up{}, now{};
  ::clock_gettime(CLOCK_BOOTTIME, &up);
  ::clock_gettime(CLOCK_REALTIME, &now);
  const auto ticks = [](std::uint64_t ns) { return static_cast<unsigned long long>(ns / 10'000'000u); };
  const std::uint64_t up_ns =
      static_cast<std::uint64_t>(up.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(up.tv_nsec);
  const std::uint64_t busy = cpu.user_ns + cpu.system_ns;
  const unsigned long long user = ticks(cpu.user_ns), system = ticks(cpu.system_ns),
                           idle = ticks(up_ns > busy ? up_ns - busy : 0);
  std::string line = text_of(" %llu 0 %llu %llu 0 0 0 0 0 0\n", user, system, idle);
  return "cpu " + line + "cpu0" + line + "intr 0\n" +
         text_of("ctxt %llu\n", static_cast<unsigned long long>(cpu.switches)) +
         text_of("btime %lld\n", static_cast<long long>(now.tv_sec - up.tv_sec)) +
         text_of("processes %llu\n", static_cast<unsigned long long>(cpu.forks)) +
         text_of("procs_running %u\nprocs_blocked 0\n", cpu.running) + "softirq 0 0 0 0 0 0 0 0 0 0 0\n";
}

// A process's directory; a thread's own (task/TID) has all but "task".
constexpr std::pair<const char*, unsigned char> kPidEntries[] = {
    {"cmdline", DT_REG},   {"comm", DT_REG},   {"cwd", DT_LNK},  {"environ", DT_REG}, {"exe", DT_LNK},
    {"fd", DT_DIR},        {"maps", DT_REG},   {"root", DT_LNK}, {"stat", DT_REG},    {"status", DT_REG},
    {"mountinfo", DT_REG}, {"mounts", DT_REG}, {"task", DT_DIR}, {"cgroup", DT_REG},
};
constexpr const char* kMachineFiles[] = {"cpuinfo", "meminfo", "stat", "uptime"};

ProcNode directory(const std::string& path, std::vector<DirEntry> entries) {
  ProcNode node;
  node.kind = ProcNode::Kind::directory;
  node.path = path;
  node.entries = std::move(entries);
  node.ino = proc_inode(path);
  return node;
}
ProcNode file(const std::string& path, std::string text) {
  ProcNode node;
  node.kind = ProcNode::Kind::file;
  node.path = path;
  node.text = std::move(text);
  node.ino = proc_inode(path);
  return node;
}
ProcNode link(const std::string& path, std::string target) {
  ProcNode node = file(path, std::move(target));
  node.kind = ProcNode::Kind::link;
  return node;
}
ProcNode redirect(std::string target) {
  ProcNode node;
  node.kind = ProcNode::Kind::redirect;
  node.text = target.empty() ? "/" : std::move(target);
  return node;
}

std::expected<ProcNode, int> lookup_in_process(int pid, const std::vector<std::string>& rest,
                                               const ProcSource& source, bool follow, const std::string& dir,
                                               bool thread_dir);

// /proc/PID/...
std::expected<ProcNode, int> lookup_in_pid(int pid, const std::vector<std::string>& rest,
                                           const ProcSource& source, bool follow) {
  return lookup_in_process(pid, rest, source, follow, "/proc/" + std::to_string(pid), false);
}

// /proc/PID/task/TID/...: `rest` are the components after the tid.
std::expected<ProcNode, int> lookup_in_thread(int pid, int tid, const std::vector<std::string>& rest,
                                              const ProcSource& source, bool follow) {
  const std::vector<int> threads = source.threads(pid);
  if (!std::binary_search(threads.begin(), threads.end(), tid)) return std::unexpected(ENOENT);
  return lookup_in_process(tid, rest, source, follow,
                           "/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid), true);
}

// /proc/PID/... (`dir`), or a thread's /proc/PID/task/TID/... (`thread_dir`, `pid` the TID):
// `rest` are the components after it.
std::expected<ProcNode, int> lookup_in_process(int pid, const std::vector<std::string>& rest,
                                               const ProcSource& source, bool follow, const std::string& dir,
                                               bool thread_dir) {
  auto process = source.process(pid);
  if (!process) return std::unexpected(ENOENT);
  if (rest.empty()) {
    std::vector<DirEntry> entries{{".", DT_DIR, proc_inode(dir)},
                                  {"..", DT_DIR, proc_inode(dir.substr(0, dir.rfind('/')))}};
    for (auto [name, type] : kPidEntries)
      if (!thread_dir || std::string_view(name) != "task")
        entries.push_back({name, type, proc_inode(dir + "/" + name)});
    return directory(dir, std::move(entries));
  }
  const std::string& name = rest[0];
  const std::string path = dir + "/" + name;
  const bool last = rest.size() == 1;
  if (name == "task" && !thread_dir) {
    if (last) {
      std::vector<DirEntry> entries{{".", DT_DIR, proc_inode(path)}, {"..", DT_DIR, proc_inode(dir)}};
      for (int tid : source.threads(process->pid))
        entries.push_back({std::to_string(tid), DT_DIR, proc_inode(path + "/" + std::to_string(tid))});
      return directory(path, std::move(entries));
    }
    auto tid = number(rest[1]);
    if (!tid) return std::unexpected(ENOENT);
    return lookup_in_thread(process->pid, *tid, {rest.begin() + 2, rest.end()}, source, follow);
  }
  // The magic links to directories: what follows them is resolved from there, inside the root.
  if (name == "root" || name == "cwd") {
    const std::string target = name == "root" ? "/" : process->cwd;
    if (process->state == 'Z') return std::unexpected(ENOENT);
    if (last && !follow) return link(path, target);
    return redirect((target == "/" ? "" : target) + join(rest, 1));
  }
  if (name == "exe") {
    if (process->exe.empty()) return std::unexpected(ENOENT);
    if (!last) return std::unexpected(ENOTDIR);
    return follow ? redirect(process->exe) : link(path, process->exe);
  }
  if (name == "fd") {
    if (process->state == 'Z') return std::unexpected(ENOENT);
    if (last) {
      std::vector<DirEntry> entries{{".", DT_DIR, proc_inode(path)}, {"..", DT_DIR, proc_inode(dir)}};
      for (int fd : source.fds(pid))
        entries.push_back({std::to_string(fd), DT_LNK, proc_inode(path + "/" + std::to_string(fd))});
      return directory(path, std::move(entries));
    }
    auto fd = number(rest[1]);
    if (!fd) return std::unexpected(ENOENT);
    auto target = source.fd_target(pid, *fd);
    if (!target) return std::unexpected(ENOENT);
    const std::string fd_path = path + "/" + rest[1];
    if (rest.size() == 2) {
      if (!follow) return link(fd_path, *target);
      ProcNode node = link(fd_path, *target);
      node.kind = ProcNode::Kind::fd;
      node.pid = pid;
      node.fd = *fd;
      return node;
    }
    // Below a directory's fd: that directory's path, when it has one.
    if (target->empty() || (*target)[0] != '/') return std::unexpected(ENOTDIR);
    return redirect((*target == "/" ? "" : *target) + join(rest, 2));
  }
  if (!last) return std::unexpected(ENOTDIR);
  if (name == "cmdline") return file(path, process->state == 'Z' ? "" : source.cmdline(pid));
  if (name == "environ") return file(path, process->state == 'Z' ? "" : source.environ(pid));
  if (name == "comm") return file(path, process->name + "\n");
  if (name == "status") return file(path, proc_status(*process));
  if (name == "stat") return file(path, proc_stat(*process));
  if (name == "maps") return file(path, process->state == 'Z' ? "" : source.maps(pid));
  if (name == "mountinfo") return file(path, process->state == 'Z' ? "" : proc_mountinfo(source.mounts()));
  if (name == "mounts") return file(path, process->state == 'Z' ? "" : proc_mounts(source.mounts()));
  // The root of a cgroup v2 hierarchy of its own, as a process in a cgroup namespace sees it:
  // what runtimes that look for their container's limits (the JVM, Go's automaxprocs) read.
  if (name == "cgroup") return file(path, "0::/\n");
  return std::unexpected(ENOENT);
}

// A random version-4 UUID, as /proc/sys/kernel/random/uuid gives one at each read.
std::string random_uuid() {
  unsigned char b[16] = {};
  if (::getrandom(b, sizeof b, 0) != static_cast<ssize_t>(sizeof b))
    for (unsigned char& c : b) c = static_cast<unsigned char>(std::rand());
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  return text_of("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
                 b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

// /proc/sys: what programs read to size or describe themselves (read-only: the sandbox kernel has
// no tunables). The answers are the sandbox kernel's own: its uname, no overcommit (every mapping
// is backed when made), its descriptor table's size.
struct SysFile {
  const char* path;  // below /proc/sys
  const char* text;  // nullptr: made at each lookup
};
constexpr SysFile kSysFiles[] = {
    {"fs/nr_open", "1024"},
    {"kernel/cap_last_cap", "40"},
    {"kernel/domainname", identity::kDomainname},
    {"kernel/hostname", identity::kNodename},
    {"kernel/ngroups_max", "65536"},
    {"kernel/osrelease", identity::kRelease},
    {"kernel/ostype", identity::kSysname},
    {"kernel/pid_max", "4194304"},
    {"kernel/random/boot_id", nullptr},
    {"kernel/random/uuid", nullptr},
    {"kernel/version", identity::kVersion},
    {"net/core/somaxconn", "4096"},
    {"vm/max_map_count", "65530"},
    {"vm/overcommit_memory", "2"},
};

std::expected<ProcNode, int> lookup_sys(const std::vector<std::string>& rest) {
  std::string below;  // the path below /proc/sys
  for (const std::string& part : rest) below += (below.empty() ? "" : "/") + part;
  const std::string path = "/proc/sys" + (below.empty() ? std::string() : "/" + below);
  for (const SysFile& f : kSysFiles) {
    if (below != f.path) continue;
    if (f.text) return file(path, std::string(f.text) + "\n");
    static const std::string boot_id = random_uuid();  // one per run of the sandbox kernel
    return file(path, (below == "kernel/random/boot_id" ? boot_id : random_uuid()) + "\n");
  }
  // A directory: the next component of every file below it.
  std::vector<DirEntry> entries{{".", DT_DIR, proc_inode(path)},
                                {"..", DT_DIR, proc_inode(path.substr(0, path.rfind('/')))}};
  const std::string prefix = below.empty() ? "" : below + "/";
  for (const SysFile& f : kSysFiles) {
    const std::string_view p = f.path;
    if (!p.starts_with(prefix)) continue;
    const std::string_view next = p.substr(prefix.size(), p.find('/', prefix.size()) - prefix.size());
    const bool is_dir = p.find('/', prefix.size()) != std::string_view::npos;
    if (std::none_of(entries.begin(), entries.end(), [&](const DirEntry& e) { return e.name == next; }))
      entries.push_back({std::string(next), static_cast<unsigned char>(is_dir ? DT_DIR : DT_REG),
                         proc_inode(path + "/" + std::string(next))});
  }
  if (entries.size() == 2) {
    // Not a directory of the table: a file's path with more after it, or nothing.
    for (const SysFile& f : kSysFiles)
      if (below.starts_with(std::string(f.path) + "/")) return std::unexpected(ENOTDIR);
    return std::unexpected(ENOENT);
  }
  return directory(path, std::move(entries));
}

}  // namespace

std::vector<std::string> path_components(const std::string& path) {
  std::vector<std::string> out;
  for (std::size_t at = 0; at < path.size();) {
    const std::size_t slash = path.find('/', at);
    const std::size_t end = slash == std::string::npos ? path.size() : slash;
    if (end > at) out.push_back(path.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

// FNV-1a of the path: stable, and odd so never 0.
std::uint64_t proc_inode(const std::string& path) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : path) h = (h ^ c) * 0x100000001b3ull;
  return h | 1;
}

bool in_proc(const std::string& path) { return path == "/proc" || path.starts_with("/proc/"); }

std::expected<ProcNode, int> proc_lookup(const std::string& path, const ProcSource& source, bool follow) {
  std::vector<std::string> parts = path_components(path);
  if (parts.empty() || parts[0] != "proc") return std::unexpected(ENOENT);
  parts.erase(parts.begin());
  if (parts.empty()) {
    std::vector<DirEntry> entries{{".", DT_DIR, proc_inode("/proc")}, {"..", DT_DIR, 2}};
    for (int pid : source.processes()) {
      const std::string name = std::to_string(pid);
      entries.push_back({name, DT_DIR, proc_inode("/proc/" + name)});
    }
    for (const char* name : kMachineFiles)
      entries.push_back({name, DT_REG, proc_inode(std::string("/proc/") + name)});
    entries.push_back({"self", DT_LNK, proc_inode("/proc/self")});
    entries.push_back({"thread-self", DT_LNK, proc_inode("/proc/thread-self")});
    entries.push_back({"mounts", DT_LNK, proc_inode("/proc/mounts")});
    entries.push_back({"sys", DT_DIR, proc_inode("/proc/sys")});
    entries.push_back({"sysvipc", DT_DIR, proc_inode("/proc/sysvipc")});
    return directory("/proc", std::move(entries));
  }
  const std::string& top = parts[0];
  const std::vector<std::string> rest(parts.begin() + 1, parts.end());
  if (top == "self") {
    if (rest.empty() && !follow) return link("/proc/self", std::to_string(source.self()));
    return lookup_in_pid(source.self(), rest, source, follow);
  }
  if (top == "mounts") {  // a link to self/mounts, as Linux's
    if (rest.empty() && !follow) return link("/proc/mounts", "self/mounts");
    if (!rest.empty()) return std::unexpected(ENOTDIR);
    return lookup_in_pid(source.self(), {"mounts"}, source, follow);
  }
  if (top == "thread-self") {
    const std::string target =
        std::to_string(source.self()) + "/task/" + std::to_string(source.self_thread());
    if (rest.empty() && !follow) return link("/proc/thread-self", target);
    return lookup_in_thread(source.self(), source.self_thread(), rest, source, follow);
  }
  if (auto pid = number(top)) return lookup_in_pid(*pid, rest, source, follow);
  if (top == "sys") return lookup_sys(rest);
  if (top == "sysvipc") {
    if (rest.empty())
      return directory("/proc/sysvipc", {{".", DT_DIR, proc_inode("/proc/sysvipc")},
                                         {"..", DT_DIR, proc_inode("/proc")},
                                         {"msg", DT_REG, proc_inode("/proc/sysvipc/msg")},
                                         {"sem", DT_REG, proc_inode("/proc/sysvipc/sem")},
                                         {"shm", DT_REG, proc_inode("/proc/sysvipc/shm")}});
    if (rest[0] != "msg" && rest[0] != "sem" && rest[0] != "shm") return std::unexpected(ENOENT);
    if (rest.size() > 1) return std::unexpected(ENOTDIR);
    return file("/proc/sysvipc/" + rest[0], proc_sysvipc(rest[0], source.sysvipc()));
  }
  for (const char* name : kMachineFiles) {
    if (top != name) continue;
    if (!rest.empty()) return std::unexpected(ENOTDIR);
    const std::string file_path = "/proc/" + top;
    if (top == "cpuinfo") return file(file_path, cpuinfo());
    if (top == "meminfo") return file(file_path, meminfo(source.memory_bytes(), source.memory_free_bytes()));
    if (top == "stat") return file(file_path, proc_stat_machine(source.cpu()));
    return file(file_path, uptime());
  }
  return std::unexpected(ENOENT);
}

std::string proc_status(const ProcProcess& p) {
  const char* state = p.state == 'Z'   ? "Z (zombie)"
                      : p.state == 'S' ? "S (sleeping)"
                      : p.state == 'T' ? "T (stopped)"
                                       : "R (running)";
  const auto hex = [](std::uint64_t v) { return text_of("%016llx", static_cast<unsigned long long>(v)); };
  const std::uint64_t kib = p.vm_bytes / 1024;
  std::string out = "Name:\t" + p.name + "\nUmask:\t" + text_of("%04o", p.umask) + "\nState:\t" + state +
                    "\nTgid:\t" + std::to_string(p.pid) + "\nNgid:\t0\nPid:\t" +
                    std::to_string(p.tid ? p.tid : p.pid) + "\nPPid:\t" + std::to_string(p.ppid) +
                    "\nTracerPid:\t0\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nFDSize:\t" +
                    std::to_string(std::max(64, p.fd_count)) + "\nGroups:\t\n";
  if (p.state != 'Z')
    out += "VmPeak:\t" + text_of("%8llu kB", static_cast<unsigned long long>(kib)) + "\nVmSize:\t" +
           text_of("%8llu kB", static_cast<unsigned long long>(kib)) + "\nVmRSS:\t" +
           text_of("%8llu kB", static_cast<unsigned long long>(kib)) + "\n";
  out += "Threads:\t" + std::to_string(p.threads) + "\nSigQ:\t0/0\nSigPnd:\t" + hex(0) + "\nShdPnd:\t" +
         hex(p.sig_pending) + "\nSigBlk:\t" + hex(p.sig_blocked) + "\nSigIgn:\t" + hex(p.sig_ignored) +
         "\nSigCgt:\t" + hex(p.sig_caught) +
         "\nCapInh:\t0000000000000000\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n"
         "CapBnd:\t0000000000000000\nCapAmb:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t0\n"
         "Cpus_allowed:\t1\nCpus_allowed_list:\t0\n";
  return out;
}

std::string proc_stat(const ProcProcess& p) {
  // pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime
  // stime cutime cstime priority nice num_threads itrealvalue starttime vsize rss ...: the times
  // and fault counts are not kept, and read as 0.
  std::string out = std::to_string(p.tid ? p.tid : p.pid) + " (" + p.name + ") " + p.state + " " +
                    std::to_string(p.ppid) + " " + std::to_string(p.pgid) + " " + std::to_string(p.sid) +
                    " 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 " + std::to_string(p.threads) + " 0 0 " +
                    std::to_string(p.vm_bytes) + " " + std::to_string(p.vm_bytes / 4096);
  for (int i = 25; i <= 52; ++i) out += " 0";
  return out + "\n";
}

std::string proc_sysvipc(const std::string& name, const ProcSysv& objects) {
  using ull = unsigned long long;
  std::string out;
  if (name == "shm") {
    out =
        "       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      "
        "atime "
        "     dtime      ctime                   rss                  swap\n";
    for (const ProcSysvShm& s : objects.shm)
      out +=
          text_of("%10d %10d  %4o %21llu %5d %5d  %5llu %5u %5u %5u %5u %10lld %10lld %10lld %21llu %21llu\n",
                  s.key, s.id, s.mode, ull{s.size}, s.cpid, s.lpid, ull{s.attaches}, s.uid, s.gid, s.cuid,
                  s.cgid, static_cast<long long>(s.atime), static_cast<long long>(s.dtime),
                  static_cast<long long>(s.ctime), ull{s.resident}, 0ull);
  } else if (name == "sem") {
    out = "       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n";
    for (const ProcSysvSem& s : objects.sem)
      out += text_of("%10d %10d  %4o %10llu %5u %5u %5u %5u %10lld %10lld\n", s.key, s.id, s.mode,
                     ull{s.count}, s.uid, s.gid, s.cuid, s.cgid, static_cast<long long>(s.otime),
                     static_cast<long long>(s.ctime));
  } else {
    out =
        "       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      stime   "
        "   "
        "rtime      ctime\n";
    for (const ProcSysvMsg& m : objects.msg)
      out += text_of("%10d %10d  %4o  %10llu %10llu %5d %5d %5u %5u %5u %5u %10lld %10lld %10lld\n", m.key,
                     m.id, m.mode, ull{m.bytes}, ull{m.messages}, m.lspid, m.lrpid, m.uid, m.gid, m.cuid,
                     m.cgid, static_cast<long long>(m.stime), static_cast<long long>(m.rtime),
                     static_cast<long long>(m.ctime));
  }
  return out;
}

std::string proc_mountinfo(const std::vector<ProcMount>& mounts) {
  // ID PARENT MAJOR:MINOR ROOT MOUNT-POINT OPTIONS - TYPE SOURCE SUPER-OPTIONS; the root's parent
  // is outside the sandbox (id 1, as a container's root shows its parent's), every other mount's
  // the root's. Device numbers are made up: 0:N, one per mount.
  std::string out;
  int id = 2;
  for (const ProcMount& m : mounts) {
    const char* mode = m.read_only ? "ro" : "rw";
    out += std::to_string(id) + " " + (id == 2 ? "1" : "2") + " 0:" + std::to_string(id + 30) + " / " +
           escape_mount_path(m.target) + " " + mode + ",relatime - " + m.type + " " + m.source + " " + mode +
           "\n";
    ++id;
  }
  return out;
}

std::string proc_mounts(const std::vector<ProcMount>& mounts) {
  std::string out;
  for (const ProcMount& m : mounts)
    out += m.source + " " + escape_mount_path(m.target) + " " + m.type + " " + (m.read_only ? "ro" : "rw") +
           ",relatime 0 0\n";
  return out;
}

std::string proc_maps_line(std::uint64_t start, std::uint64_t end, unsigned prot, const std::string& name,
                           bool shared) {
  std::string line =
      text_of("%08llx-%08llx %c%c%c%c 00000000 00:00 0", static_cast<unsigned long long>(start),
              static_cast<unsigned long long>(end), (prot & 1) ? 'r' : '-', (prot & 2) ? 'w' : '-',
              (prot & 4) ? 'x' : '-', shared ? 's' : 'p');
  if (!name.empty()) line += std::string(line.size() < 73 ? 73 - line.size() : 1, ' ') + name;
  return line + "\n";
}

}  // namespace spectrum::vm::vfs
