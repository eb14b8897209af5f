// Private to oci_config*.cc: the decoder, which walks the document keeping the field path for
// errors. Its members are split by part of the config (oci_config.cc: process, root, mounts,
// namespaces, devices, the linux section; oci_config_linux.cc: resources, seccomp, sysctl, hooks).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "container/oci_config.h"
#include "container/try.h"
#include "core/error.h"

namespace spectrum::container::oci {

using nlohmann::json;

class Decoder {
 public:
  explicit Decoder(std::string_view source) : source_(source) {}

  std::unexpected<Error> error(const std::string& path, const std::string& problem) const {
    return fail(std::string(source_) + ": " + path + ": " + problem);
  }

  // Every key of `j` must be in `known`; `unsupported` keys are known to the spec but not done here.
  Result<void> check_object(const json& j, const std::string& path,
                            std::initializer_list<std::string_view> known,
                            std::initializer_list<std::string_view> unsupported = {}) const {
    if (!j.is_object())
      return error(path.empty() ? "(document)" : path,
                   "expected an object, found " + std::string(j.type_name()));
    for (auto it = j.begin(); it != j.end(); ++it) {
      std::string_view key = it.key();
      bool is_known = false;
      for (std::string_view k : known) is_known |= k == key;
      if (is_known) continue;
      std::string field = join(path, it.key());
      for (std::string_view k : unsupported)
        if (k == key) {
          if (it->is_null() || (it->is_string() && it->get<std::string>().empty())) goto next;
          return error(field, "not supported by spectrum");
        }
      return error(field, "unknown field");
    next:;
    }
    return {};
  }

  static std::string join(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
  }
  static std::string index(const std::string& path, std::size_t i) {
    return path + "[" + std::to_string(i) + "]";
  }

  Result<std::string> string(const json& j, const std::string& path) const {
    if (!j.is_string()) return error(path, "expected a string, found " + std::string(j.type_name()));
    std::string text = j.get<std::string>();
    // The kernel takes C strings: a NUL would cut the value short without a word.
    if (text.find('\0') != std::string::npos) return error(path, "contains a NUL byte");
    return text;
  }
  Result<bool> boolean(const json& j, const std::string& path) const {
    if (!j.is_boolean()) return error(path, "expected true or false, found " + std::string(j.type_name()));
    return j.get<bool>();
  }
  Result<std::int64_t> integer(const json& j, const std::string& path) const {
    if (!j.is_number_integer())
      return error(path, "expected an integer, found " + std::string(j.type_name()));
    return j.get<std::int64_t>();
  }
  Result<std::uint64_t> unsigned_integer(const json& j, const std::string& path,
                                         std::uint64_t max = UINT64_MAX) const {
    if (!j.is_number_unsigned() && !(j.is_number_integer() && j.get<std::int64_t>() >= 0))
      return error(path, "expected a non-negative integer, found " +
                             (j.is_number() ? j.dump() : std::string(j.type_name())));
    std::uint64_t v = j.get<std::uint64_t>();
    if (v > max)
      return error(path,
                   "value " + std::to_string(v) + " is out of range (at most " + std::to_string(max) + ")");
    return v;
  }
  Result<std::vector<std::string>> strings(const json& j, const std::string& path) const {
    if (!j.is_array())
      return error(path, "expected an array of strings, found " + std::string(j.type_name()));
    std::vector<std::string> out;
    out.reserve(j.size());
    for (std::size_t i = 0; i < j.size(); ++i) out.push_back(SPECTRUM_TRY(string(j[i], index(path, i))));
    return out;
  }

  // Calls `f(value, path)` for j[key] when present (and not null).
  template <class F>
  Result<void> optional_field(const json& j, const std::string& path, const char* key, F&& f) const {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return {};
    return f(*it, join(path, key));
  }

  Result<Process> process(const json& j, const std::string& path, bool require_args) const;
  Result<User> user(const json& j, const std::string& path) const;
  Result<CapabilitySets> capabilities(const json& j, const std::string& path) const;
  Result<MountEntry> mount(const json& j, const std::string& path) const;
  Result<Namespace> namespace_entry(const json& j, const std::string& path) const;
  Result<std::vector<IdMapping>> id_mappings(const json& j, const std::string& path) const;
  Result<Device> device(const json& j, const std::string& path) const;
  Result<void> resources(const json& j, const std::string& path, Config& config) const;
  Result<void> check_sysctl(const Config& c, const std::string& key, const std::string& field) const;
  Result<std::vector<Hook>> hooks(const json& j, const std::string& path) const;
  Result<Seccomp> seccomp(const json& j, const std::string& path) const;
  Result<void> linux_section(const json& j, const std::string& path, Config& config) const;

 private:
  std::string_view source_;
};

}  // namespace spectrum::container::oci
