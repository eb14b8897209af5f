// Code generation: the translated module is optimized (O2) and compiled to an ELF relocatable
// object for the host CPU (its features enabled: the artifact is keyed by the CPU). The runtime
// links it (native_loader.cc); wrapped and checksummed it is the ahead-of-time artifact
// (native_artifact.cc), so a cached module skips everything but that link, without LLVM.
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/Host.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>

#include "wasm/llvm/compiler.h"

namespace spectrum::wasm {

namespace {

struct JitState {
  std::mutex mutex;
  std::unique_ptr<llvm::TargetMachine> machine;
  std::string error;
};

JitState& jit_state() {
  static JitState* s = [] {
    auto* st = new JitState;
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    const std::string triple = llvm::sys::getProcessTriple();
    std::string err;
    const llvm::Target* target = llvm::TargetRegistry::lookupTarget(triple, err);
    if (!target) {
      st->error = "no LLVM target for " + triple + ": " + err;
      return st;
    }
    const std::string cpu = llvm::sys::getHostCPUName().str();
    llvm::StringMap<bool> host_features;
    std::string features;
    if (llvm::sys::getHostCPUFeatures(host_features)) {
      std::vector<std::string> list;
      for (auto& f : host_features) list.push_back((f.second ? "+" : "-") + f.first().str());
      std::sort(list.begin(), list.end());
      for (auto& f : list) features += (features.empty() ? "" : ",") + f;
    }
    llvm::TargetOptions options;
    st->machine.reset(target->createTargetMachine(triple, cpu, features, options, llvm::Reloc::PIC_,
                                                  llvm::CodeModel::Small, llvm::CodeGenOpt::Aggressive));
    return st;
  }();
  return *s;
}

}  // namespace

namespace {

bool compile_object(const ModuleData& module, bool checked, std::vector<std::uint8_t>* object,
                    std::string* error) {
  JitState& s = jit_state();
  if (!s.machine) {
    *error = s.error;
    return false;
  }
  llvm::LLVMContext context;
  std::unique_ptr<llvm::Module> ir = translate_module(context, module, checked, error);
  if (!ir) return false;
  ir->setDataLayout(s.machine->createDataLayout());
  ir->setTargetTriple(s.machine->getTargetTriple().str());
  std::string problems;
  llvm::raw_string_ostream os(problems);
  if (llvm::verifyModule(*ir, &os)) {
    *error = "internal compiler error (invalid IR): " + problems.substr(0, 2000);
    return false;
  }
  {
    llvm::LoopAnalysisManager lam;
    llvm::FunctionAnalysisManager fam;
    llvm::CGSCCAnalysisManager cgam;
    llvm::ModuleAnalysisManager mam;
    llvm::PassBuilder pb(s.machine.get());
    pb.registerModuleAnalyses(mam);
    pb.registerCGSCCAnalyses(cgam);
    pb.registerFunctionAnalyses(fam);
    pb.registerLoopAnalyses(lam);
    pb.crossRegisterProxies(lam, fam, cgam, mam);
    unroll_self_recursion(*ir);
    llvm::ModulePassManager mpm = pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O2);
    mpm.run(*ir, mam);
  }
  llvm::SmallVector<char, 0> buffer;
  llvm::raw_svector_ostream out(buffer);
  llvm::legacy::PassManager pm;
  std::lock_guard lock(s.mutex);  // the TargetMachine is shared
  if (s.machine->addPassesToEmitFile(pm, out, nullptr, llvm::CGFT_ObjectFile)) {
    *error = "the target cannot emit object files";
    return false;
  }
  pm.run(*ir);
  object->assign(buffer.begin(), buffer.end());
  return true;
}

const NativeApi kApi{kNativeApiVersion, compile_object, unsupported_reason};

}  // namespace

}  // namespace spectrum::wasm

extern "C" __attribute__((visibility("default"))) const spectrum::wasm::NativeApi*
spectrum_wasm_native_api() {
  return &spectrum::wasm::kApi;
}
