#include "container/device_filter.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "container/try.h"
#include "core/fd.h"

namespace spectrum::container {
namespace {

// Instruction helpers (the kernel's filter.h macros are not exported to user space).
bpf_insn insn(std::uint8_t code, std::uint8_t dst, std::uint8_t src, std::int16_t off, std::int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}
bpf_insn load_word(std::uint8_t dst, std::uint8_t src, std::int16_t off) {
  return insn(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0);
}
bpf_insn mov_reg(std::uint8_t dst, std::uint8_t src) {
  return insn(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0);
}
bpf_insn mov_imm(std::uint8_t dst, std::int32_t imm) {
  return insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm);
}
bpf_insn and_imm(std::uint8_t dst, std::int32_t imm) {
  return insn(BPF_ALU64 | BPF_AND | BPF_K, dst, 0, 0, imm);
}
bpf_insn rsh_imm(std::uint8_t dst, std::int32_t imm) {
  return insn(BPF_ALU64 | BPF_RSH | BPF_K, dst, 0, 0, imm);
}
bpf_insn jne_imm(std::uint8_t dst, std::int32_t imm, std::int16_t off) {
  return insn(BPF_JMP | BPF_JNE | BPF_K, dst, 0, off, imm);
}
bpf_insn exit_insn() { return insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

constexpr const char* kDefaultRules[][3] = {{"c", "1", "3"},   {"c", "1", "5"}, {"c", "1", "7"},
                                            {"c", "5", "0"},   {"c", "1", "8"}, {"c", "1", "9"},
                                            {"c", "136", "*"}, {"c", "5", "2"}, {"c", "10", "200"}};

}  // namespace

std::vector<DeviceRule> effective_device_rules(const Config& config) {
  std::vector<DeviceRule> rules = config.device_rules;
  for (const auto& row : kDefaultRules) {
    DeviceRule rule;
    rule.allow = true;
    rule.type = row[0];
    rule.major = std::atoll(row[1]);
    if (std::string(row[2]) != "*") rule.minor = std::atoll(row[2]);
    rules.push_back(rule);
  }
  for (const Device& d : config.devices) {
    if (d.type == 'p') continue;
    DeviceRule rule;
    rule.allow = true;
    rule.type = std::string(1, d.type);
    rule.major = d.major;
    rule.minor = d.minor;
    rules.push_back(rule);
  }
  return rules;
}

std::vector<bpf_insn> build_device_program(const std::vector<DeviceRule>& rules) {
  // r2 = access (BPF_DEVCG_ACC_*), r3 = type (BPF_DEVCG_DEV_*), r4 = major, r5 = minor.
  std::vector<bpf_insn> program = {
      load_word(2, 1, 0), mov_reg(3, 2),      and_imm(3, 0xffff),
      rsh_imm(2, 16),     load_word(4, 1, 4), load_word(5, 1, 8),
  };
  // The last matching rule decides: test them from the end.
  for (auto it = rules.rbegin(); it != rules.rend(); ++it) {
    const DeviceRule& rule = *it;
    std::vector<bpf_insn> block;
    std::vector<std::size_t> jumps_to_next;  // indices of jumps to patch with "skip to next rule"
    if (rule.type != "a") {
      jumps_to_next.push_back(block.size());
      block.push_back(jne_imm(3, rule.type == "b" ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR, 0));
    }
    if (rule.type != "a" && rule.major) {
      jumps_to_next.push_back(block.size());
      block.push_back(jne_imm(4, static_cast<std::int32_t>(*rule.major), 0));
    }
    if (rule.type != "a" && rule.minor) {
      jumps_to_next.push_back(block.size());
      block.push_back(jne_imm(5, static_cast<std::int32_t>(*rule.minor), 0));
    }
    std::int32_t granted = 0;
    if (rule.access.find('r') != std::string::npos) granted |= BPF_DEVCG_ACC_READ;
    if (rule.access.find('w') != std::string::npos) granted |= BPF_DEVCG_ACC_WRITE;
    if (rule.access.find('m') != std::string::npos) granted |= BPF_DEVCG_ACC_MKNOD;
    // Every access asked for must be granted by the rule: (access & ~granted) == 0.
    block.push_back(mov_reg(0, 2));
    block.push_back(and_imm(0, ~granted & 0xffff));
    jumps_to_next.push_back(block.size());
    block.push_back(jne_imm(0, 0, 0));
    block.push_back(mov_imm(0, rule.allow ? 1 : 0));
    block.push_back(exit_insn());
    for (std::size_t index : jumps_to_next)
      block[index].off = static_cast<std::int16_t>(block.size() - index - 1);
    program.insert(program.end(), block.begin(), block.end());
  }
  program.push_back(mov_imm(0, 0));
  program.push_back(exit_insn());
  return program;
}

}  // namespace spectrum::container
