// Code generation and loading: the translated module is optimized (O2), compiled to an ELF object
// for the host CPU, and that object is linked into the process by ORC's LLJIT, one JITDylib per
// module (removed with it). The same object, wrapped and checksummed, is the ahead-of-time
// artifact (artifact.cc), so a cached module skips everything but the link.
#include "wasm/llvm/jit.h"

#include <llvm/ExecutionEngine/JITLink/JITLinkMemoryManager.h>
#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ObjectLinkingLayer.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/Host.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>

namespace spectrum::wasm {

namespace {

struct JitState {
  std::mutex mutex;
  std::unique_ptr<llvm::orc::LLJIT> jit;
  std::unique_ptr<llvm::TargetMachine> machine;
  std::string engine_id;
  std::uint64_t counter = 0;
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
    st->engine_id =
        std::string(kEngineVersion) + " llvm-" LLVM_VERSION_STRING " " + triple + " " + cpu + " " + features;
    // JITLink (not RuntimeDyld): each module's code, GOT and stubs in one allocation that lives
    // exactly as long as its JITDylib.
    auto jit = llvm::orc::LLJITBuilder()
                   .setObjectLinkingLayerCreator(
                       [](llvm::orc::ExecutionSession& es,
                          const llvm::Triple&) -> llvm::Expected<std::unique_ptr<llvm::orc::ObjectLayer>> {
                         auto mm = llvm::jitlink::InProcessMemoryManager::Create();
                         if (!mm) return mm.takeError();
                         return std::make_unique<llvm::orc::ObjectLinkingLayer>(es, std::move(*mm));
                       })
                   .create();
    if (!jit) {
      st->error = "cannot create the JIT: " + llvm::toString(jit.takeError());
      return st;
    }
    st->jit = std::move(*jit);
    return st;
  }();
  return *s;
}

}  // namespace

struct NativeModule::Loaded {
  llvm::orc::JITDylib* dylib = nullptr;
  ~Loaded() {
    if (!dylib) return;
    JitState& s = jit_state();
    std::lock_guard lock(s.mutex);
    llvm::consumeError(s.jit->getExecutionSession().removeJITDylib(*dylib));
  }
};

NativeModule::~NativeModule() {
  unregister_code(this);
  loaded.reset();
}

const std::string& engine_id() { return jit_state().engine_id; }

bool compile_object(const ModuleData& module, bool checked, std::vector<std::uint8_t>* object,
                    std::string* error) {
  JitState& s = jit_state();
  if (!s.jit) {
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

std::shared_ptr<NativeModule> load_object(const ModuleData& module, const std::vector<std::uint8_t>& object,
                                          std::string* error) {
  JitState& s = jit_state();
  if (!s.jit) {
    *error = s.error;
    return nullptr;
  }
  auto code = std::make_shared<NativeModule>();
  code->module = &module;
  code->object_bytes = object.size();
  code->loaded = std::make_unique<NativeModule::Loaded>();
  std::lock_guard lock(s.mutex);
  llvm::orc::ExecutionSession& es = s.jit->getExecutionSession();
  llvm::orc::JITDylib& jd = es.createBareJITDylib("wasm" + std::to_string(++s.counter));
  code->loaded->dylib = &jd;
  llvm::orc::SymbolMap helpers;
  for (const HelperSymbol& h : helper_symbols())
    helpers[s.jit->mangleAndIntern(h.name)] =
        llvm::JITEvaluatedSymbol(llvm::pointerToJITTargetAddress(h.address), llvm::JITSymbolFlags::Exported);
  auto fail_with = [&](llvm::Error e) {
    *error = "loading compiled code: " + llvm::toString(std::move(e));
    return nullptr;
  };
  if (auto e = jd.define(llvm::orc::absoluteSymbols(std::move(helpers)))) return fail_with(std::move(e));
  // libm (rounding without SSE4.1) and the C library (memcpy/memset LLVM may call).
  auto process = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
      s.jit->getDataLayout().getGlobalPrefix());
  if (!process) return fail_with(process.takeError());
  jd.addGenerator(std::move(*process));
  auto buffer = llvm::MemoryBuffer::getMemBufferCopy(
      llvm::StringRef(reinterpret_cast<const char*>(object.data()), object.size()), "wasm-module");
  if (auto e = s.jit->addObjectFile(jd, std::move(buffer))) return fail_with(std::move(e));
  const std::uint32_t first = module.imported_funcs;
  const auto n = static_cast<std::uint32_t>(module.bodies.size());
  code->entries.resize(n);
  code->typed.resize(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    auto entry = s.jit->lookup(jd, "e" + std::to_string(first + i));
    if (!entry) return fail_with(entry.takeError());
    auto typed = s.jit->lookup(jd, "f" + std::to_string(first + i));
    if (!typed) return fail_with(typed.takeError());
    code->entries[i] = entry->toPtr<void*>();
    code->typed[i] = typed->toPtr<void*>();
    code->starts.emplace_back(typed->getValue(), first + i);
    code->starts.emplace_back(entry->getValue(), first + i);
  }
  auto end = s.jit->lookup(jd, "spectrum_code_end");
  if (!end) return fail_with(end.takeError());
  std::sort(code->starts.begin(), code->starts.end());
  code->code_begin = code->starts.empty() ? end->getValue() : code->starts.front().first;
  code->code_end = end->getValue() + 16;
  register_code(code.get());
  return code;
}

}  // namespace spectrum::wasm
