// System V message queues: msgget, msgsnd, msgrcv, msgctl over the sandbox kernel's queues
// (kernel/sysv_msg.h). A call that must wait blocks as a retried call.
#include <sys/msg.h>
#include <sys/syscall.h>

#include <ctime>
#include <vector>

#include "vm/kernel/kernel.h"
#include "vm/syscalls/syscalls.h"
#include "vm/syscalls/sysv_ipc.h"

namespace spectrum::vm::syscalls {

using kernel::SysvMsg;

static_assert(sizeof(struct msqid_ds) == 120 && offsetof(struct msqid_ds, msg_stime) == 48 &&
                  offsetof(struct msqid_ds, __msg_cbytes) == 72 &&
                  offsetof(struct msqid_ds, msg_qbytes) == 88 && offsetof(struct msqid_ds, msg_lspid) == 96,
              "the kernel's struct msqid64_ds of x86-64, which glibc's matches");
static_assert(sizeof(struct msginfo) == 32);

namespace {

constexpr int kMsgCopy = 040000;  // MSG_COPY: checkpoint/restore's peek, not served

SyscallResult must_wait() {
  SyscallResult blocked;
  blocked.kind = SyscallResult::Kind::block;  // no fd: tried again when another task has run
  return blocked;
}

}  // namespace

SyscallResult sys_msgget(Process& p, const SyscallRequest& req) {
  if (!p.kernel()) return SyscallResult::error(ENOSYS);
  return SyscallResult::ret(
      TRY_GUEST(p.kernel()->sysv_msg().get(static_cast<std::int32_t>(ARG(0)), static_cast<int>(ARG(1)))));
}

SyscallResult sys_msgsnd(Process& p, const SyscallRequest& req) {
  if (!p.kernel()) return SyscallResult::error(ENOSYS);
  const int id = static_cast<int>(ARG(0));
  const auto size = static_cast<std::int64_t>(ARG(2));
  if (id < 0 || size < 0 || static_cast<std::uint64_t>(size) > SysvMsg::kMaxMessage)
    return SyscallResult::error(EINVAL);
  const auto type = TRY_GUEST(read_struct<std::int64_t>(p, ARG(1)));
  std::vector<std::uint8_t> text(static_cast<std::size_t>(size));
  TRY_GUEST_VOID(p.space().read(ARG(1) + sizeof type, text));
  const bool sent = TRY_GUEST(p.kernel()->sysv_msg().send(sysv::caller(p, SYS_gettid), sysv::caller(p), id,
                                                          type, text, static_cast<int>(ARG(3))));
  return sent ? SyscallResult::ret(0) : must_wait();
}

SyscallResult sys_msgrcv(Process& p, const SyscallRequest& req) {
  if (!p.kernel()) return SyscallResult::error(ENOSYS);
  const int id = static_cast<int>(ARG(0));
  const auto size = static_cast<std::int64_t>(ARG(2));
  const int flags = static_cast<int>(ARG(4));
  if (id < 0 || size < 0) return SyscallResult::error(EINVAL);
  if (flags & kMsgCopy) return SyscallResult::error(ENOSYS);
  auto message = TRY_GUEST(p.kernel()->sysv_msg().receive(sysv::caller(p, SYS_gettid), sysv::caller(p), id,
                                                          static_cast<std::uint64_t>(size),
                                                          static_cast<std::int64_t>(ARG(3)), flags));
  if (!message) return must_wait();
  // Taken from the queue already: a destination the caller cannot write loses it, as on Linux.
  TRY_GUEST_VOID(write_struct(p, ARG(1), message->type));
  TRY_GUEST_VOID(p.space().write(ARG(1) + sizeof message->type, message->text));
  return SyscallResult::ret(static_cast<std::int64_t>(message->text.size()));
}

SyscallResult sys_msgctl(Process& p, const SyscallRequest& req) {
  if (!p.kernel()) return SyscallResult::error(ENOSYS);
  SysvMsg& msg = p.kernel()->sysv_msg();
  const int id = static_cast<int>(ARG(0));
  const int cmd = static_cast<int>(ARG(1)) & ~sysv::kIpc64;
  if (cmd == IPC_INFO || cmd == MSG_INFO) {
    struct msginfo info {};
    info.msgmax = static_cast<int>(SysvMsg::kMaxMessage);
    info.msgmnb = static_cast<int>(SysvMsg::kDefaultQueueBytes);
    info.msgmni = SysvMsg::kMaxQueues;
    info.msgssz = 16;
    info.msgseg = 0xffff;
    info.msgpool = static_cast<int>(SysvMsg::kMaxTotalBytes >> 10);  // KiB
    info.msgmap = static_cast<int>(SysvMsg::kMaxTotalBytes / SysvMsg::kMessageOverhead);
    info.msgtql = info.msgmap;
    if (cmd == MSG_INFO) {  // in use: queues, messages, bytes
      info.msgpool = static_cast<int>(msg.queues().size());
      info.msgmap = static_cast<int>(msg.total_messages());
      info.msgtql = static_cast<int>(msg.total_bytes());
    }
    TRY_GUEST_VOID(write_struct(p, ARG(2), info));
    return SyscallResult::ret(msg.queues().empty() ? 0 : msg.queues().rbegin()->first);
  }
  SysvMsg::Queue* queue = id < 0 ? nullptr : msg.find(id);
  if (!queue) return SyscallResult::error(EINVAL);
  switch (cmd) {
    case IPC_STAT:
    case MSG_STAT:
    case MSG_STAT_ANY: {
      struct msqid_ds ds {};
      ds.msg_perm = sysv::permissions_of(*queue);
      ds.msg_stime = queue->send_time, ds.msg_rtime = queue->receive_time, ds.msg_ctime = queue->change_time;
      ds.__msg_cbytes = queue->bytes;
      ds.msg_qnum = queue->messages.size();
      ds.msg_qbytes = queue->max_bytes;
      ds.msg_lspid = queue->send_pid, ds.msg_lrpid = queue->receive_pid;
      TRY_GUEST_VOID(write_struct(p, ARG(2), ds));
      return SyscallResult::ret(cmd == IPC_STAT ? 0 : id);
    }
    case IPC_SET: {
      const auto ds = TRY_GUEST(read_struct<struct msqid_ds>(p, ARG(2)));
      TRY_GUEST_VOID(msg.set_max_bytes(*queue, ds.msg_qbytes));
      sysv::set_permissions(*queue, ds.msg_perm);
      queue->change_time = std::time(nullptr);
      return SyscallResult::ret(0);
    }
    case IPC_RMID:
      msg.remove(id);
      return SyscallResult::ret(0);
    default:
      return SyscallResult::error(EINVAL);
  }
}

}  // namespace spectrum::vm::syscalls
