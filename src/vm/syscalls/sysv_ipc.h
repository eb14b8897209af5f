// What the System V calls (sysv.cc, sysv_sem.cc, sysv_msg.cc) share: the IPC_64 flag, the
// caller's ids in the sandbox's pid namespace, and an object's struct ipc_perm both ways.
#pragma once

#include <sys/ipc.h>
#include <sys/syscall.h>

#include <cstdint>

#include "vm/kernel/kernel.h"

namespace spectrum::vm::syscalls::sysv {

inline constexpr int kIpc64 = 0x100;  // IPC_64: x86-64's structures are the 64-bit ones already

// The calling process (SYS_getpid) or thread (SYS_gettid) as the guest knows it.
inline int caller(Process& p, std::uint64_t number = SYS_getpid) {
  return static_cast<int>(p.kernel()->process_ids(p, number, 0, 0).value);
}

// IPC_STAT's permissions of a segment, set or queue (each has key, uid, gid, cuid, cgid, mode).
template <class Object>
struct ipc_perm permissions_of(const Object& object) {
  struct ipc_perm perm {};
  perm.__key = object.key;
  perm.uid = object.uid, perm.gid = object.gid;
  perm.cuid = object.cuid, perm.cgid = object.cgid;
  perm.mode = static_cast<unsigned short>(object.mode);
  return perm;
}

// IPC_SET: the owner and the permission bits.
template <class Object>
void set_permissions(Object& object, const struct ipc_perm& perm) {
  object.uid = perm.uid, object.gid = perm.gid;
  object.mode = (object.mode & ~0777u) | (perm.mode & 0777u);
}

}  // namespace spectrum::vm::syscalls::sysv
