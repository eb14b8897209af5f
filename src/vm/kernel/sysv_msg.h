// System V message queues (msgget, msgsnd, msgrcv, msgctl) in the sandbox's own IPC namespace. A
// send to a full queue and a receive from a queue without a matching message wait as retried
// calls (made again whenever another task has run). The messages live in the monitor's memory,
// outside the guest's, so besides each queue's msg_qbytes all queues together hold at most
// kMaxTotalBytes (with kMessageOverhead counted per message, as an empty message costs too).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <vector>

#include "vm/memory.h"

namespace spectrum::vm::kernel {

class SysvMsg {
 public:
  // Linux's defaults (MSGMAX, MSGMNB), fewer queues than its MSGMNI (32000).
  static constexpr std::uint64_t kMaxMessage = 8192, kDefaultQueueBytes = 16384;
  static constexpr int kMaxQueues = 1024;
  static constexpr std::uint64_t kMaxTotalBytes = 16u << 20, kMessageOverhead = 64;

  struct Message {
    std::int64_t type = 0;
    std::vector<std::uint8_t> text;
  };
  struct Queue {
    std::int32_t key = 0;
    std::deque<Message> messages;
    std::uint64_t bytes = 0;                       // of text
    std::uint64_t max_bytes = kDefaultQueueBytes;  // msg_qbytes
    std::uint32_t mode = 0, uid = 0, gid = 0, cuid = 0, cgid = 0;
    int send_pid = 0, receive_pid = 0;
    std::int64_t send_time = 0, receive_time = 0, change_time = 0;
  };

  // msgget: as Linux answers (ENOENT, EEXIST, ENOSPC).
  GuestResult<int> get(std::int32_t key, int flags);
  Queue* find(int id);  // nullptr if there is none
  // IPC_RMID: the queue and its messages are gone; its waiters' calls end with EIDRM.
  void remove(int id);
  // IPC_SET of msg_qbytes (a larger queue may take messages that waited).
  GuestResult<void> set_max_bytes(Queue& queue, std::uint64_t max_bytes);

  // msgsnd by `task` of process `pid`: true once queued, false when it must wait (the queue is
  // full); EAGAIN (full, IPC_NOWAIT), EINVAL, EIDRM.
  GuestResult<bool> send(int task, int pid, int id, std::int64_t type, std::span<const std::uint8_t> text,
                         int flags);
  // msgrcv: the message taken (its text cut to `size` under MSG_NOERROR), or nothing when it must
  // wait; ENOMSG (none, IPC_NOWAIT), E2BIG (longer than `size`: it stays), EINVAL, EIDRM.
  GuestResult<std::optional<Message>> receive(int task, int pid, int id, std::uint64_t size,
                                              std::int64_t type, int flags);
  // A waiting call that ended otherwise (a signal, the task's end).
  void stop_waiting(int task) { waits_.erase(task); }
  const std::map<int, Queue>& queues() const { return queues_; }
  std::uint64_t total_bytes() const { return total_; }
  std::uint64_t total_messages() const;

 private:
  GuestResult<Queue*> waiter_of(int task, int id);  // EIDRM once for a waiter of a removed queue
  std::map<int, Queue> queues_;
  int next_id_ = 0;
  std::uint64_t total_ = 0;   // text and overhead of every message held
  std::map<int, int> waits_;  // task -> the queue it waits on
  std::map<int, int> removed_waits_;
};

}  // namespace spectrum::vm::kernel
