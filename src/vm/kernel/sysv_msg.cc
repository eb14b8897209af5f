#include "vm/kernel/sysv_msg.h"

#include <sys/ipc.h>
#include <sys/msg.h>

#include <algorithm>
#include <cerrno>
#include <ctime>

namespace spectrum::vm::kernel {

GuestResult<int> SysvMsg::get(std::int32_t key, int flags) {
  if (key != IPC_PRIVATE) {
    for (const auto& [id, queue] : queues_) {
      if (queue.key != key) continue;
      if ((flags & IPC_CREAT) && (flags & IPC_EXCL)) return std::unexpected(EEXIST);
      return id;
    }
    if (!(flags & IPC_CREAT)) return std::unexpected(ENOENT);
  }
  if (queues_.size() >= static_cast<std::size_t>(kMaxQueues)) return std::unexpected(ENOSPC);
  Queue queue;
  queue.key = key;
  queue.mode = static_cast<std::uint32_t>(flags) & 0777;
  queue.change_time = std::time(nullptr);
  const int id = next_id_++;
  queues_.emplace(id, std::move(queue));
  return id;
}

SysvMsg::Queue* SysvMsg::find(int id) {
  const auto it = queues_.find(id);
  return it == queues_.end() ? nullptr : &it->second;
}

void SysvMsg::remove(int id) {
  const auto it = queues_.find(id);
  if (it == queues_.end()) return;
  total_ -= it->second.bytes + it->second.messages.size() * kMessageOverhead;
  queues_.erase(it);
  for (auto w = waits_.begin(); w != waits_.end();) {
    if (w->second != id) {
      ++w;
      continue;
    }
    removed_waits_[w->first] = id;
    w = waits_.erase(w);
  }
}

GuestResult<void> SysvMsg::set_max_bytes(Queue& queue, std::uint64_t max_bytes) {
  if (max_bytes > kMaxTotalBytes) return std::unexpected(EINVAL);
  queue.max_bytes = max_bytes;
  return {};
}

std::uint64_t SysvMsg::total_messages() const {
  std::uint64_t n = 0;
  for (const auto& [id, queue] : queues_) n += queue.messages.size();
  return n;
}

GuestResult<SysvMsg::Queue*> SysvMsg::waiter_of(int task, int id) {
  if (const auto removed = removed_waits_.find(task); removed != removed_waits_.end()) {
    const bool mine = removed->second == id;
    removed_waits_.erase(removed);
    if (mine) return std::unexpected(EIDRM);
  }
  waits_.erase(task);
  Queue* queue = find(id);
  if (!queue) return std::unexpected(EINVAL);
  return queue;
}

GuestResult<bool> SysvMsg::send(int task, int pid, int id, std::int64_t type,
                                std::span<const std::uint8_t> text, int flags) {
  const auto found = waiter_of(task, id);
  if (!found) return std::unexpected(found.error());
  Queue* queue = *found;
  if (type < 1 || text.size() > kMaxMessage) return std::unexpected(EINVAL);
  // Linux's test: the bytes, and the number of messages, each within msg_qbytes.
  const bool full = queue->bytes + text.size() > queue->max_bytes ||
                    queue->messages.size() + 1 > queue->max_bytes ||
                    total_ + text.size() + kMessageOverhead > kMaxTotalBytes;
  if (full) {
    if (flags & IPC_NOWAIT) return std::unexpected(EAGAIN);
    waits_[task] = id;
    return false;
  }
  queue->messages.push_back({type, std::vector<std::uint8_t>(text.begin(), text.end())});
  queue->bytes += text.size();
  total_ += text.size() + kMessageOverhead;
  queue->send_pid = pid;
  queue->send_time = std::time(nullptr);
  return true;
}

GuestResult<std::optional<SysvMsg::Message>> SysvMsg::receive(int task, int pid, int id, std::uint64_t size,
                                                              std::int64_t type, int flags) {
  const auto found = waiter_of(task, id);
  if (!found) return std::unexpected(found.error());
  Queue* queue = *found;
  auto& messages = queue->messages;
  auto match = messages.end();
  if (type == 0) {
    match = messages.begin();
  } else if (type > 0) {
    match = std::find_if(messages.begin(), messages.end(), [&](const Message& m) {
      return (flags & MSG_EXCEPT) ? m.type != type : m.type == type;
    });
  } else {  // the first of the lowest type at most -type
    for (auto it = messages.begin(); it != messages.end(); ++it)
      if (it->type <= -type && (match == messages.end() || it->type < match->type)) match = it;
  }
  if (match == messages.end()) {
    if (flags & IPC_NOWAIT) return std::unexpected(ENOMSG);
    waits_[task] = id;
    return std::optional<Message>();
  }
  if (match->text.size() > size && !(flags & MSG_NOERROR)) return std::unexpected(E2BIG);
  Message message = std::move(*match);
  messages.erase(match);
  queue->bytes -= message.text.size();
  total_ -= message.text.size() + kMessageOverhead;
  if (message.text.size() > size) message.text.resize(size);
  queue->receive_pid = pid;
  queue->receive_time = std::time(nullptr);
  return std::optional<Message>(std::move(message));
}

}  // namespace spectrum::vm::kernel
