// Ahead-of-time artifacts and the code cache, and the library's exported interface.
//
// An artifact is the ELF object jit.cc makes, wrapped:
//   "SPWASMC1" | u32 checked | 32-byte SHA-256 of the module file | u32 id length | engine id |
//   u64 object length | object | 32-byte SHA-256 of everything before it
// It is used only when every field matches this module, this engine (version, LLVM, CPU and
// features) and the bounds mode, and the checksum verifies; anything else is recompiled, never
// linked. The checksum finds torn and corrupted files; the cache directory's ownership (the
// caller's, mode 0700, checked before use) keeps other users from planting one.
//
// Cache: native.h's cache_file(), written to a temporary file in DIR and
// renamed into place (concurrent writers race harmlessly: each rename is a whole artifact).
#include <fcntl.h>
#include <llvm/ADT/ArrayRef.h>
#include <llvm/Support/SHA256.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "wasm/llvm/jit.h"

namespace spectrum::wasm {

namespace {

constexpr char kMagic[8] = {'S', 'P', 'W', 'A', 'S', 'M', 'C', '1'};
constexpr std::uint64_t kMaxArtifact = 1ull << 30;

using Digest = std::array<std::uint8_t, 32>;

Digest sha256(const std::uint8_t* data, std::size_t n) {
  llvm::SHA256 h;
  h.update(llvm::ArrayRef<std::uint8_t>(data, n));
  return h.final();
}

template <class T>
void put(std::vector<std::uint8_t>& out, const T& v) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
  out.insert(out.end(), p, p + sizeof v);
}

std::vector<std::uint8_t> wrap(const ModuleData& module, bool checked,
                               const std::vector<std::uint8_t>& object) {
  std::vector<std::uint8_t> out(kMagic, kMagic + 8);
  put(out, static_cast<std::uint32_t>(checked));
  const Digest module_hash = sha256(module.bytes.data(), module.bytes.size());
  out.insert(out.end(), module_hash.begin(), module_hash.end());
  const std::string& id = engine_id();
  put(out, static_cast<std::uint32_t>(id.size()));
  out.insert(out.end(), id.begin(), id.end());
  put(out, static_cast<std::uint64_t>(object.size()));
  out.insert(out.end(), object.begin(), object.end());
  const Digest sum = sha256(out.data(), out.size());
  out.insert(out.end(), sum.begin(), sum.end());
  return out;
}

// The object inside a verified artifact, or an error naming the first mismatch.
bool unwrap(const ModuleData& module, bool checked, const std::vector<std::uint8_t>& a,
            std::vector<std::uint8_t>* object, std::string* error) {
  std::size_t pos = 0;
  auto need = [&](std::size_t n) { return a.size() >= pos && a.size() - pos >= n; };
  auto bad = [&](const char* what) {
    *error = std::string("artifact rejected: ") + what;
    return false;
  };
  if (a.size() < 8 + 4 + 32 + 4 + 8 + 32) return bad("truncated");
  if (std::memcmp(a.data(), kMagic, 8) != 0) return bad("not a spectrum wasm artifact (magic)");
  const Digest sum = sha256(a.data(), a.size() - 32);
  if (std::memcmp(sum.data(), a.data() + a.size() - 32, 32) != 0)
    return bad("checksum mismatch (corrupt or torn)");
  pos = 8;
  std::uint32_t mode;
  std::memcpy(&mode, a.data() + pos, 4);
  pos += 4;
  if (mode != static_cast<std::uint32_t>(checked)) return bad("compiled for another bounds-check mode");
  const Digest module_hash = sha256(module.bytes.data(), module.bytes.size());
  if (std::memcmp(module_hash.data(), a.data() + pos, 32) != 0) return bad("compiled from another module");
  pos += 32;
  std::uint32_t id_len;
  std::memcpy(&id_len, a.data() + pos, 4);
  pos += 4;
  if (!need(id_len)) return bad("truncated");
  const std::string id(reinterpret_cast<const char*>(a.data() + pos), id_len);
  if (id != engine_id()) return bad("compiled by another engine version or for another CPU");
  pos += id_len;
  std::uint64_t len;
  if (!need(8)) return bad("truncated");
  std::memcpy(&len, a.data() + pos, 8);
  pos += 8;
  if (!need(32) || len != a.size() - pos - 32) return bad("object length mismatch");
  object->assign(a.begin() + static_cast<std::ptrdiff_t>(pos),
                 a.begin() + static_cast<std::ptrdiff_t>(pos + len));
  return true;
}

// The cache directory, created owner-only if missing; empty if it is not safe to use (another
// owner, group- or world-accessible, a symlink, not a directory).
bool safe_cache_dir(const std::string& dir) {
  if (dir.empty()) return false;
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) return false;
    // Parents as the user's umask makes them; the cache itself 0700.
    for (std::size_t slash = dir.find('/', 1); slash != std::string::npos; slash = dir.find('/', slash + 1))
      ::mkdir(dir.substr(0, slash).c_str(), 0755);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return false;
    if (::lstat(dir.c_str(), &st) != 0) return false;
  }
  return S_ISDIR(st.st_mode) && st.st_uid == ::geteuid() && (st.st_mode & 077) == 0;
}

std::string cache_path(const std::string& dir, const ModuleData& module, bool checked) {
  return cache_file(dir, module.bytes, checked);
}

bool read_file(const std::string& path, std::vector<std::uint8_t>* out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st {};
  bool ok = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == ::geteuid() &&
            (st.st_mode & 022) == 0 && static_cast<std::uint64_t>(st.st_size) <= kMaxArtifact;
  if (ok) {
    out->resize(static_cast<std::size_t>(st.st_size));
    std::size_t done = 0;
    while (done < out->size()) {
      const ssize_t n = ::read(fd, out->data() + done, out->size() - done);
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    ok = done == out->size();
  }
  ::close(fd);
  return ok;
}

void write_cache(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::string tmp = path + ".XXXXXX";
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) return;
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  const bool ok = done == bytes.size() && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) ::unlink(tmp.c_str());
}

}  // namespace

bool write_artifact(const ModuleData& module, bool checked, std::vector<std::uint8_t>* out,
                    std::string* error) {
  std::vector<std::uint8_t> object;
  if (!compile_object(module, checked, &object, error)) return false;
  *out = wrap(module, checked, object);
  return true;
}

std::shared_ptr<NativeModule> load_artifact(const ModuleData& module, bool checked,
                                            const std::vector<std::uint8_t>& artifact, std::string* error) {
  std::vector<std::uint8_t> object;
  if (!unwrap(module, checked, artifact, &object, error)) return nullptr;
  return load_object(module, object, error);
}

std::shared_ptr<NativeModule> compile_module(const ModuleData& module, bool checked,
                                             const std::string& cache_dir, std::string* error) {
  const bool use_cache = safe_cache_dir(cache_dir);
  std::string path;
  if (use_cache) {
    path = cache_path(cache_dir, module, checked);
    std::vector<std::uint8_t> bytes;
    std::string why;
    if (read_file(path, &bytes)) {
      if (auto code = load_artifact(module, checked, bytes, &why)) return code;
    }
  }
  std::vector<std::uint8_t> object;
  if (!compile_object(module, checked, &object, error)) return nullptr;
  if (use_cache) write_cache(path, wrap(module, checked, object));
  return load_object(module, object, error);
}

namespace {

bool attach(const std::shared_ptr<NativeModule>& code, Instance* instance, NativeCtx* ctx,
            std::string* error) {
  Instance::State& s = instance->state();
  const ModuleData& m = instance->module().data();
  if (code->entries.size() != m.bodies.size()) {
    *error = "compiled code does not match the module";
    return false;
  }
  for (std::size_t i = 0; i < m.bodies.size(); ++i) {
    Function* f = s.funcs[m.imported_funcs + i];
    f->native_entry = code->entries[i];
    f->native_typed = code->typed[i];
    f->native_ctx = ctx;
  }
  return true;
}

std::shared_ptr<NativeModule> api_compile(const ModuleData& module, bool checked,
                                          const std::string& cache_dir, std::string* error) {
  return compile_module(module, checked, cache_dir, error);
}

const NativeApi kApi{kNativeApiVersion, set_services,   api_compile,   attach,
                     execute,           write_artifact, load_artifact, unsupported_reason};

}  // namespace

}  // namespace spectrum::wasm

extern "C" __attribute__((visibility("default"))) const spectrum::wasm::NativeApi*
spectrum_wasm_native_api() {
  return &spectrum::wasm::kApi;
}
