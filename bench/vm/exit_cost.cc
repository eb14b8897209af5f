// What one trip to the monitor costs on this host, paired in one run: a bare port-I/O exit against
// a forwarded system call on each platform, with the same monitor code around it.
//   pio-ring0    `out` in a loop in guest ring 0: KVM_RUN, the exit, back (the floor of any exit)
//   pio-ring3    the same from ring 3 with IOPL 3 (reported as refused where the host faults it)
//   syscall-vm   ring 3 `syscall` in a loop, through the guest kernel and KvmContext, answered
//                with a value as getppid would be (no handler work): the vm tier's forwarded call
//   syscall-ptrace  the same loop as a ptrace stub under PTRACE_SYSEMU (the sandbox tier)
//   native       getppid on the host
// Then whether the host offers kvm_pvm's paravirtual ABI (pvm-abi): the one way left, on such a
// host, to a forwarded call near a bare exit (a PVM guest kernel's events skip the emulator).
// Each round builds fresh guests (not timed) and times N calls of each kind, kinds interleaved;
// medians per kind and the ratio of syscall-vm to pio-ring0 are printed. Wall time per call is
// what a workload sees; CPU time per call (the monitor thread's, plus the ptrace stub's, from
// /proc/.../schedstat) is what the path itself costs, and moves less with the host's load.
// Usage: vm_exit_cost [ROUNDS] [N]
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "vm/boot.h"
#include "vm/guest/abi.h"
#include "vm/kvm.h"
#include "vm/monitor.h"
#include "vm/platform/kvm_context.h"
#include "vm/platform/ptrace_context.h"

namespace spectrum::vm {
namespace {

constexpr std::uint64_t kCode = 0x400000, kStack = 0x600000;
constexpr std::uint64_t kRing0Code = GUEST_KERNEL_ADDR + 0x800;  // after the kernel image, same page
constexpr unsigned kBenchPort = 0x99;
// mov eax, 110 (getppid); syscall; jmp back
constexpr std::uint8_t kSyscallLoop[] = {0xb8, 0x6e, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xeb, 0xf7};
// out %al, $0x99; jmp back
constexpr std::uint8_t kOutLoop[] = {0xe6, kBenchPort, 0xeb, 0xfc};

// The PVM guest kernel's first questions, in ring 0: the synthetic CPUID (`invlpg
// 0xffffffffff4d5650; cpuid`, which kvm_pvm answers with its own leaves) of 0x40000000, then
// `out $0x9a`.
constexpr unsigned kProbePort = 0x9a;
constexpr std::uint8_t kPvmCpuid[] = {0xb8, 0x00, 0x00, 0x00, 0x40, 0x31, 0xc9, 0x0f, 0x01,      0x3c,
                                      0x25, 0x50, 0x56, 0x4d, 0xff, 0x0f, 0xa2, 0xe6, kProbePort};
// mov $msr, %ecx; mov $0x7000, %eax; xor %edx, %edx; wrmsr; out $0x9a (the MSR's bytes at 1..4)
constexpr std::uint8_t kWrmsr[] = {0xb9, 0,    0,    0,    0,    0xb8, 0x00, 0x70,
                                   0x00, 0x00, 0x31, 0xd2, 0x0f, 0x30, 0xe6, kProbePort};
// MSR_PVM_VCPU_STRUCT, the first MSR a PVM guest kernel writes, at the numbers PVM's published
// revisions gave it.
constexpr std::uint32_t kPvmVcpuStructMsrs[] = {0x4b564df1, 0x4b564d20};

using Clock = std::chrono::steady_clock;

struct Cost {
  double wall_ns = 0, cpu_ns = 0;
};
// Nanoseconds this thread has run (up to date, unlike its own schedstat while it runs).
double thread_cpu_ns() {
  timespec t{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e9 + static_cast<double>(t.tv_nsec);
}
// Nanoseconds a stopped task has run (first field of its schedstat), or 0 if unknown.
double cpu_ns_of(const std::string& schedstat) {
  FILE* f = std::fopen(schedstat.c_str(), "re");
  if (!f) return 0;
  unsigned long long ns = 0;
  if (std::fscanf(f, "%llu", &ns) != 1) ns = 0;
  std::fclose(f);
  return static_cast<double>(ns);
}
// Times `n` calls of `one`; `stub` is a second task whose CPU time counts too (0: none).
template <class F>
Result<Cost> timed(long n, pid_t stub, F&& one) {
  const std::string other = stub > 0 ? "/proc/" + std::to_string(stub) + "/schedstat" : "";
  const double cpu0 = thread_cpu_ns() + (stub > 0 ? cpu_ns_of(other) : 0);
  const auto start = Clock::now();
  for (long i = 0; i < n; ++i) SPECTRUM_TRY(one());
  Cost c;
  c.wall_ns = std::chrono::duration<double, std::nano>(Clock::now() - start).count() / static_cast<double>(n);
  c.cpu_ns = (thread_cpu_ns() + (stub > 0 ? cpu_ns_of(other) : 0) - cpu0) / static_cast<double>(n);
  return c;
}

Result<PreparedGuest> guest_with(std::span<const std::uint8_t> user_code, GuestMemory::Backing backing) {
  PreparedGuest g;
  g.memory = std::make_unique<GuestMemory>(SPECTRUM_TRY(GuestMemory::create(16ull << 20, backing)));
  g.frames = std::make_unique<FrameAllocator>(*g.memory, GUEST_KERNEL_AREA_END);
  const auto ranges = kernel_area_ranges();
  auto space = AddressSpace::create(*g.memory, *g.frames, ranges);
  if (!space) return fail("page tables");
  g.space = std::make_unique<AddressSpace>(std::move(*space));
  SPECTRUM_TRY(write_kernel_area(*g.memory));
  if (!g.space->map(kCode, x86::kPageSize, kProtRead | kProtWrite) || !g.space->fill(kCode, user_code) ||
      !g.space->protect(kCode, x86::kPageSize, kProtRead | kProtExec) ||
      !g.space->map(kStack, x86::kPageSize, kProtRead | kProtWrite))
    return fail("mapping the benchmark's code");
  std::memcpy(g.memory->at(kRing0Code, sizeof kOutLoop), kOutLoop, sizeof kOutLoop);
  g.entry = kCode;
  g.vcpu = SPECTRUM_TRY(initial_vcpu_state(*g.memory, g.space->root(), kCode, kStack + x86::kPageSize));
  return g;
}

// Runs `code` in guest ring 0 to its first exit: the port (an exception is reported by the guest
// kernel at HC_PORT_EXCEPTION_BASE + vector) and the registers then.
Result<std::pair<unsigned, kvm_regs>> ring0_exit(std::span<const std::uint8_t> code) {
  PreparedGuest g = SPECTRUM_TRY(guest_with(kOutLoop, GuestMemory::Backing::anonymous));
  std::memcpy(g.memory->at(kRing0Code, code.size()), code.data(), code.size());
  g.vcpu.rip = kRing0Code;
  KvmVm vm = SPECTRUM_TRY(KvmVm::create(g.memory->base(), g.memory->size(), GuestKind::spectrum_kernel));
  SPECTRUM_TRY(vm.set_initial_state(g.vcpu));
  if (!SPECTRUM_TRY(vm.run())) return fail("KVM_RUN interrupted");
  const kvm_run& r = vm.exit_info();
  if (r.exit_reason != KVM_EXIT_IO) return fail("exit " + std::to_string(r.exit_reason));
  return std::pair{unsigned{r.io.port}, *SPECTRUM_TRY(vm.regs())};
}

std::string pvm_abi() {
  auto cpuid = ring0_exit(kPvmCpuid);
  if (!cpuid) return "not probed: " + cpuid.error().message();
  if (cpuid->first != kProbePort) return "the synthetic CPUID faulted (port " + x86::hex(cpuid->first) + ")";
  const kvm_regs& r = cpuid->second;
  char signature[13] = {};
  for (int i = 0; i < 4; ++i) {
    signature[i] = static_cast<char>(r.rbx >> (8 * i));
    signature[4 + i] = static_cast<char>(r.rcx >> (8 * i));
    signature[8 + i] = static_cast<char>(r.rdx >> (8 * i));
  }
  std::string out = "hypervisor leaves to " + x86::hex(r.rax & 0xffffffff) + " (\"" + signature + "\")";
  bool offered = false;
  for (const std::uint32_t msr : kPvmVcpuStructMsrs) {
    std::uint8_t code[sizeof kWrmsr];
    std::memcpy(code, kWrmsr, sizeof code);
    std::memcpy(code + 1, &msr, sizeof msr);
    auto w = ring0_exit(code);
    const bool accepted = w && w->first == kProbePort;
    offered |= accepted;
    out += "; wrmsr " + x86::hex(msr) + ": " +
           (accepted                                       ? std::string("accepted")
            : w && w->first == HC_PORT_EXCEPTION_BASE + 13 ? std::string("#GP")
            : w                                            ? "port " + x86::hex(w->first)
                                                           : w.error().message());
  }
  return (offered ? "offered: " : "not offered: ") + out;
}

// ns per exit of an `out` loop; ring 3 gets IOPL 3 through the iret frame.
Result<Cost> pio(long n, bool ring3) {
  PreparedGuest g = SPECTRUM_TRY(guest_with(kOutLoop, GuestMemory::Backing::anonymous));
  if (ring3) {
    auto* frame =
        reinterpret_cast<x86::InterruptFrame*>(g.memory->at(g.vcpu.rsp, sizeof(x86::InterruptFrame)));
    frame->rflags |= 3ull << 12;
  } else {
    g.vcpu.rip = kRing0Code;
  }
  KvmVm vm = SPECTRUM_TRY(KvmVm::create(g.memory->base(), g.memory->size(), GuestKind::spectrum_kernel));
  SPECTRUM_TRY(vm.set_initial_state(g.vcpu));
  auto one = [&]() -> Result<void> {
    if (!SPECTRUM_TRY(vm.run())) return fail("KVM_RUN interrupted");
    const kvm_run& r = vm.exit_info();
    if (r.exit_reason != KVM_EXIT_IO || r.io.port != kBenchPort)
      return fail("refused by this host (exit " + std::to_string(r.exit_reason) + ", port " +
                  std::to_string(r.io.port) + ")");
    return {};
  };
  SPECTRUM_TRY(one());  // first entry: page-table and shadow set-up, not timed
  return timed(n, 0, one);
}

// ns per forwarded call of the syscall loop on one platform.
Result<Cost> forwarded(long n, bool ptrace) {
  PreparedGuest g = SPECTRUM_TRY(
      guest_with(kSyscallLoop, ptrace ? GuestMemory::Backing::memfd : GuestMemory::Backing::anonymous));
  std::optional<KvmVm> vm;
  std::unique_ptr<platform::ExecutionContext> ctx;
  pid_t stub = 0;
  if (ptrace) {
    auto p = SPECTRUM_TRY(platform::PtraceContext::create(g));
    stub = p->stub_pid();
    ctx = std::move(p);
  } else {
    vm.emplace(SPECTRUM_TRY(KvmVm::create(g.memory->base(), g.memory->size(), GuestKind::spectrum_kernel)));
    SPECTRUM_TRY(vm->set_initial_state(g.vcpu));
    ctx = std::make_unique<platform::KvmContext>(g, *vm);
  }
  auto one = [&]() -> Result<void> {
    platform::Stop stop = SPECTRUM_TRY(ctx->run());
    if (stop.kind != platform::Stop::Kind::syscall || stop.request.number != SYS_getppid)
      return fail("unexpected stop: " + stop.detail);
    return ctx->complete_syscall(SyscallResult::ret(1));
  };
  SPECTRUM_TRY(one());
  return timed(n, stub, one);
}

Result<Cost> native(long n) {
  return timed(n, 0, []() -> Result<void> {
    ::syscall(SYS_getppid);
    return {};
  });
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

}  // namespace
}  // namespace spectrum::vm

int main(int argc, char** argv) {
  using namespace spectrum::vm;
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 11;
  const long n = argc > 2 ? std::atol(argv[2]) : 2000;
  const bool kvm = probe_kvm_host().usable;
  if (!kvm) std::printf("/dev/kvm not usable here: the KVM rows are skipped\n");
  const char* kinds[] = {"pio-ring0", "pio-ring3", "syscall-vm", "syscall-ptrace", "native"};
  std::map<std::string, std::vector<double>> ns, cpu;
  std::map<std::string, std::string> refused;
  for (int round = 0; round < rounds; ++round) {
    for (const char* kind : kinds) {
      const std::string k = kind;
      if (refused.count(k) || (!kvm && (k == "pio-ring0" || k == "pio-ring3" || k == "syscall-vm"))) continue;
      spectrum::Result<Cost> r = k == "pio-ring0"        ? pio(n, false)
                                 : k == "pio-ring3"      ? pio(n, true)
                                 : k == "syscall-vm"     ? forwarded(n, false)
                                 : k == "syscall-ptrace" ? forwarded(n, true)
                                                         : native(n * 10);
      if (r) {
        ns[k].push_back(r->wall_ns);
        cpu[k].push_back(r->cpu_ns);
      } else {
        refused[k] = r.error().message();
      }
    }
  }
  std::printf("%-16s %12s %12s %12s %14s   (%d rounds of %ld calls)\n", "kind", "wall ns/call", "min", "max",
              "cpu ns/call", rounds, n);
  for (const char* kind : kinds) {
    if (refused.count(kind)) {
      std::printf("%-16s %s\n", kind, refused[kind].c_str());
      continue;
    }
    auto& v = ns[kind];
    if (v.empty()) continue;
    std::printf("%-16s %12.0f %12.0f %12.0f %14.0f\n", kind, median(v), *std::min_element(v.begin(), v.end()),
                *std::max_element(v.begin(), v.end()), median(cpu[kind]));
  }
  auto ratio = [&](const char* a, const char* b) {
    if (!ns[a].empty() && !ns[b].empty())
      std::printf("%s / %s: %.2fx wall, %.2fx cpu (medians)\n", a, b, median(ns[a]) / median(ns[b]),
                  median(cpu[a]) / median(cpu[b]));
  };
  if (kvm) std::printf("pvm-abi: %s\n", pvm_abi().c_str());
  ratio("syscall-vm", "pio-ring0");
  ratio("syscall-ptrace", "pio-ring0");
  ratio("syscall-ptrace", "native");
  return 0;
}
