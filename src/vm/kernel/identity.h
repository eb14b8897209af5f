// What the sandbox kernel says it is, the same wherever a program asks (uname, /proc/sys/kernel).
#pragma once

namespace spectrum::vm::identity {

inline constexpr const char* kSysname = "Linux";
inline constexpr const char* kNodename = "spectrum-vm";
inline constexpr const char* kRelease = "6.1.0-spectrum";
inline constexpr const char* kVersion = "#1 SMP spectrum guest kernel";
inline constexpr const char* kDomainname = "(none)";

}  // namespace spectrum::vm::identity
