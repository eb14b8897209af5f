// Ahead-of-time artifacts and the code cache (formats in native.h). No LLVM here: a cached module
// is read, verified and linked by the runtime itself; only a compile loads the library.
//
// Cache: native.h's cache_file() in a directory that must be the caller's and mode 0700 (checked
// before every use, created so when missing). Writes go to a temporary file in the directory,
// renamed into place: concurrent writers race harmlessly (each rename is a whole artifact), and a
// torn or corrupt file fails the checksum and is recompiled, never run.
#include <cpuid.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "wasm/native.h"

namespace spectrum::wasm {

namespace {

constexpr char kMagic[8] = {'S', 'P', 'W', 'A', 'S', 'M', 'C', '2'};
constexpr std::uint64_t kMaxArtifact = 1ull << 30;

std::uint64_t fnv1a(const std::uint8_t* data, std::size_t n) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (std::size_t i = 0; i < n; ++i) h = (h ^ data[i]) * 0x100000001b3ull;
  return h;
}

template <class T>
void put(std::vector<std::uint8_t>& out, const T& v) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
  out.insert(out.end(), p, p + sizeof v);
}

// A regular file of ours, not writable by others, not too large.
bool read_artifact_file(const std::string& path, std::vector<std::uint8_t>* out) {
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

bool safe_cache_dir(const std::string& dir) {
  if (dir.empty()) return false;
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) return false;
    for (std::size_t slash = dir.find('/', 1); slash != std::string::npos; slash = dir.find('/', slash + 1))
      ::mkdir(dir.substr(0, slash).c_str(), 0755);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return false;
    if (::lstat(dir.c_str(), &st) != 0) return false;
  }
  return S_ISDIR(st.st_mode) && st.st_uid == ::geteuid() && (st.st_mode & 077) == 0;
}

std::string engine_id() {
  static const std::string id = [] {
    unsigned regs[4][4] = {};
    __get_cpuid(0, &regs[0][0], &regs[0][1], &regs[0][2], &regs[0][3]);
    __get_cpuid(1, &regs[1][0], &regs[1][1], &regs[1][2], &regs[1][3]);
    __get_cpuid_count(7, 0, &regs[2][0], &regs[2][1], &regs[2][2], &regs[2][3]);
    __get_cpuid(0x80000001, &regs[3][0], &regs[3][1], &regs[3][2], &regs[3][3]);
    regs[1][1] &= 0x0000FFFFu;  // leaf 1 ebx: the APIC id and logical count differ per core
    std::string out = std::string(kEngineVersion) + " cpu";
    for (auto& leaf : regs)
      for (unsigned r : leaf) {
        char hex[9];
        for (int i = 0; i < 8; ++i) hex[i] = "0123456789abcdef"[(r >> (28 - 4 * i)) & 15];
        hex[8] = '\0';
        out += std::string(" ") + hex;
      }
    return out;
  }();
  return id;
}

std::vector<std::uint8_t> wrap_artifact(const ModuleData& module, bool checked,
                                        const std::vector<std::uint8_t>& object) {
  std::vector<std::uint8_t> out(kMagic, kMagic + 8);
  put(out, static_cast<std::uint32_t>(checked));
  const std::string id = engine_id();
  put(out, static_cast<std::uint32_t>(id.size()));
  out.insert(out.end(), id.begin(), id.end());
  put(out, static_cast<std::uint64_t>(module.bytes.size()));
  out.insert(out.end(), module.bytes.begin(), module.bytes.end());
  put(out, static_cast<std::uint64_t>(object.size()));
  out.insert(out.end(), object.begin(), object.end());
  put(out, fnv1a(out.data(), out.size()));
  return out;
}

bool unwrap_artifact(const ModuleData& module, bool checked, const std::vector<std::uint8_t>& a,
                     std::vector<std::uint8_t>* object, std::string* error) {
  auto bad = [&](const char* what) {
    *error = std::string("artifact rejected: ") + what;
    return false;
  };
  std::size_t pos = 0;
  auto need = [&](std::uint64_t n) { return pos <= a.size() - 8 && n <= a.size() - 8 - pos; };
  auto u32 = [&] {
    std::uint32_t v;
    std::memcpy(&v, a.data() + pos, 4);
    pos += 4;
    return v;
  };
  auto u64 = [&] {
    std::uint64_t v;
    std::memcpy(&v, a.data() + pos, 8);
    pos += 8;
    return v;
  };
  if (a.size() < 8 + 4 + 4 + 8 + 8 + 8) return bad("truncated");
  if (std::memcmp(a.data(), kMagic, 8) != 0)
    return bad("not a spectrum wasm artifact of this version (magic)");
  std::uint64_t sum;
  std::memcpy(&sum, a.data() + a.size() - 8, 8);
  if (sum != fnv1a(a.data(), a.size() - 8)) return bad("checksum mismatch (corrupt or torn)");
  pos = 8;
  if (u32() != static_cast<std::uint32_t>(checked)) return bad("compiled for another bounds-check mode");
  const std::uint32_t id_len = u32();
  if (!need(id_len)) return bad("truncated");
  const std::string id = engine_id();
  if (id_len != id.size() || std::memcmp(a.data() + pos, id.data(), id_len) != 0)
    return bad("compiled by another engine version or for another CPU");
  pos += id_len;
  if (!need(8)) return bad("truncated");
  const std::uint64_t module_len = u64();
  if (!need(module_len)) return bad("truncated");
  if (module_len != module.bytes.size() || std::memcmp(a.data() + pos, module.bytes.data(), module_len) != 0)
    return bad("compiled from another module");
  pos += module_len;
  if (!need(8)) return bad("truncated");
  const std::uint64_t len = u64();
  if (len != a.size() - 8 - pos) return bad("object length mismatch");
  object->assign(a.begin() + static_cast<std::ptrdiff_t>(pos), a.end() - 8);
  return true;
}

std::shared_ptr<NativeModule> load_artifact(const ModuleData& module, bool checked,
                                            const std::vector<std::uint8_t>& artifact, std::string* error) {
  std::vector<std::uint8_t> object;
  if (!unwrap_artifact(module, checked, artifact, &object, error)) return nullptr;
  return load_object(module, object, error);
}

bool compile_artifact(const ModuleData& module, bool checked, std::vector<std::uint8_t>* out,
                      std::string* error) {
  const NativeApi* api = native_api(error);
  if (!api) return false;
  if (std::string why = api->unsupported(module); !why.empty()) {
    *error = why;
    return false;
  }
  std::vector<std::uint8_t> object;
  if (!api->compile_object(module, checked, &object, error)) return false;
  *out = wrap_artifact(module, checked, object);
  return true;
}

std::shared_ptr<NativeModule> native_code(const ModuleData& module, bool checked,
                                          const std::string& cache_dir, bool may_compile,
                                          std::string* error) {
  const bool use_cache = safe_cache_dir(cache_dir);
  const std::string path = use_cache ? cache_file(cache_dir, module.bytes, checked) : std::string();
  if (use_cache) {
    std::vector<std::uint8_t> bytes;
    std::string why;
    if (read_artifact_file(path, &bytes))
      if (auto code = load_artifact(module, checked, bytes, &why)) return code;
  }
  if (!may_compile) {
    *error = use_cache ? "no valid cached code" : "no usable cache directory";
    return nullptr;
  }
  if (static_executable()) {
    // No LLVM here: spectrum-llvm compiles into the cache, and the code is linked from there.
    if (!use_cache) {
      *error = "compiling in a static spectrum needs the code cache (SPECTRUM_WASM_CACHE is off or " +
               cache_dir + " is not the caller's with mode 0700)";
      return nullptr;
    }
    if (!compile_with_helper(module.bytes, cache_dir, checked, error)) return nullptr;
    std::vector<std::uint8_t> bytes;
    if (!read_artifact_file(path, &bytes)) {
      *error = "the compiler wrote no artifact to " + path;
      return nullptr;
    }
    return load_artifact(module, checked, bytes, error);
  }
  std::vector<std::uint8_t> artifact;
  if (!compile_artifact(module, checked, &artifact, error)) return nullptr;
  if (use_cache) write_cache(path, artifact);
  return load_artifact(module, checked, artifact, error);
}

}  // namespace spectrum::wasm
