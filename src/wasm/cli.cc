// `spectrum wasm validate FILE`, `spectrum wasm inspect FILE` (both only read the file and decode
// it) and `spectrum wasm compile FILE [-o OUT]` (the LLVM compiler's artifact, into OUT or the cache).
#include "wasm/cli.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "core/fd.h"
#include "wasm/engine.h"
#include "wasm/module.h"
#include "wasm/native.h"

namespace spectrum::wasm {
namespace {

constexpr const char* kUsage =
    "usage: spectrum wasm validate FILE   check that FILE is a valid WebAssembly module\n"
    "       spectrum wasm inspect FILE    list its sections, imports and exports\n"
    "       spectrum wasm compile FILE [-o OUT] [--bounds guard|check]\n"
    "                                     compile it to machine code: an artifact in OUT, or without -o\n"
    "                                     into the code cache that --engine auto|compiled runs use (both\n"
    "                                     bounds modes, or the one --bounds names)\n";

int error(const std::string& file, const Error& e) {
  std::fprintf(stderr, "spectrum: error: %s: %s\n", file.c_str(), e.message().c_str());
  return static_cast<int>(ExitCode::spectrum_error);
}

std::string describe_import(const ImportInfo& imp) {
  switch (imp.kind) {
    case ExternKind::func:
      return to_string(imp.func);
    case ExternKind::table: {
      std::string s = std::string(to_string(imp.table.element)) + " " + std::to_string(imp.table.limits.min);
      if (imp.table.limits.max) s += ".." + std::to_string(*imp.table.limits.max);
      return s;
    }
    case ExternKind::memory: {
      std::string s = std::to_string(imp.memory.limits.min);
      if (imp.memory.limits.max) s += ".." + std::to_string(*imp.memory.limits.max);
      return s + " pages";
    }
    case ExternKind::global:
      return std::string(imp.global.mutable_ ? "mut " : "") + std::string(to_string(imp.global.type));
  }
  return {};
}

int inspect(const std::string& file, const Module& module, const Result<void>& valid) {
  std::printf("%s: %s\n", file.c_str(), valid ? "valid" : ("INVALID: " + valid.error().message()).c_str());
  std::printf("sections:\n");
  for (const SectionInfo& s : module.sections()) {
    if (s.id == 0)
      std::printf("  %-10s %-20s offset 0x%06x  size %u\n", "custom", ("\"" + s.name + "\"").c_str(),
                  s.offset, s.size);
    else
      std::printf("  %-10s %-20s offset 0x%06x  size %u\n", s.name.c_str(), "", s.offset, s.size);
  }
  std::printf("imports: %zu\n", module.imports().size());
  for (const ImportInfo& imp : module.imports())
    std::printf("  %-8s %s.%s  %s\n", std::string(to_string(imp.kind)).c_str(), imp.module.c_str(),
                imp.name.c_str(), describe_import(imp).c_str());
  std::printf("exports: %zu\n", module.exports().size());
  for (const ExportInfo& e : module.exports()) {
    std::string detail;
    if (e.kind == ExternKind::func) {
      if (const FuncType* t = module.function_type(e.index)) detail = to_string(*t);
    }
    std::printf("  %-8s %-24s index %u  %s\n", std::string(to_string(e.kind)).c_str(), e.name.c_str(),
                e.index, detail.c_str());
  }
  std::printf("functions: %u (%zu imported)\n", module.function_count(),
              static_cast<std::size_t>(module.data().imported_funcs));
  if (auto start = module.start_function()) std::printf("start: function %u\n", *start);
  return valid ? 0 : static_cast<int>(ExitCode::spectrum_error);
}

int compile(int argc, char** argv) {
  std::string file, out;
  bool guarded = true, checked = true;  // the cache's bounds modes to fill
  for (int i = 2; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "-o" && i + 1 < argc) {
      out = argv[++i];
    } else if (a == "--bounds" && i + 1 < argc) {
      const std::string_view mode = argv[++i];
      if (mode != "guard" && mode != "check") {
        std::fprintf(stderr, "spectrum: error: invalid --bounds '%s': expected guard or check\n", argv[i]);
        return static_cast<int>(ExitCode::spectrum_error);
      }
      guarded = mode == "guard";
      checked = mode == "check";
    } else if (file.empty() && !a.starts_with("-")) {
      file = argv[i];
    } else {
      std::fputs(kUsage, stderr);
      return static_cast<int>(ExitCode::spectrum_error);
    }
  }
  if (file.empty()) {
    std::fputs(kUsage, stderr);
    return static_cast<int>(ExitCode::spectrum_error);
  }
  auto bytes = read_file(file);
  if (!bytes) return error(file, bytes.error());
  std::span<const std::uint8_t> span(reinterpret_cast<const std::uint8_t*>(bytes->data()), bytes->size());
  auto module = Module::load(span);
  if (!module) return error(file, module.error());
  std::string why;
  if (out.empty()) {
    // Into the cache, as a run would. Both modes: guarded code, and the explicitly checked code a
    // run under an address-space limit needs.
    const std::string dir = default_cache_dir();
    if (dir.empty())
      return error(file, Error("no cache directory (SPECTRUM_WASM_CACHE=off, no HOME): use -o OUT"));
    if ((guarded && !native_code(module->data(), false, dir, true, &why)) ||
        (checked && !native_code(module->data(), true, dir, true, &why)))
      return error(file, Error(why));
    const std::string path = cache_file(dir, module->data().bytes, checked);
    if (::access(path.c_str(), R_OK) != 0)
      return error(
          file, Error("the cache directory " + dir + " is not usable (it must be the caller's, mode 0700)"));
    std::printf("%s\n", path.c_str());
    return 0;
  }
  std::vector<std::uint8_t> artifact;
  if (!compile_artifact(module->data(), !guarded, &artifact, &why)) return error(file, Error(why));
  // A temporary file beside OUT, renamed over it: OUT is whole or as it was.
  std::string tmp = out + ".XXXXXX";
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0)
    return error(out,
                 Error("cannot create a temporary file beside it: " + std::string(std::strerror(errno))));
  std::size_t done = 0;
  while (done < artifact.size()) {
    const ssize_t n = ::write(fd, artifact.data() + done, artifact.size() - done);
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  const bool ok = done == artifact.size() && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), out.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return error(out, Error(std::string("cannot write: ") + std::strerror(err)));
  }
  return 0;
}

}  // namespace

int cli_main(int argc, char** argv) {
  if (argc < 2 || std::string_view(argv[1]) == "-h" || std::string_view(argv[1]) == "--help") {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? static_cast<int>(ExitCode::spectrum_error) : 0;
  }
  const std::string_view verb = argv[1];
  if (verb == "compile") return compile(argc, argv);
  if (verb != "validate" && verb != "inspect") {
    std::fprintf(stderr, "spectrum: error: unknown wasm command '%s' (validate, inspect or compile)\n",
                 argv[1]);
    return static_cast<int>(ExitCode::spectrum_error);
  }
  if (argc != 3) {
    std::fputs(kUsage, stderr);
    return static_cast<int>(ExitCode::spectrum_error);
  }
  const std::string file = argv[2];
  auto bytes = read_file(file);
  if (!bytes) return error(file, bytes.error());
  std::span<const std::uint8_t> span(reinterpret_cast<const std::uint8_t*>(bytes->data()), bytes->size());
  auto module = Module::decode(span);
  if (!module) return error(file, module.error());
  const Result<void> valid = module->validate();
  if (verb == "validate") {
    if (!valid) return error(file, valid.error());
    std::printf("%s: valid\n", file.c_str());
    return 0;
  }
  if (!valid)
    std::fprintf(stderr, "spectrum: error: %s: %s\n", file.c_str(), valid.error().message().c_str());
  return inspect(file, *module, valid);
}

}  // namespace spectrum::wasm
