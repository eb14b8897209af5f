// The sandbox kernel's System V semaphore sets and message queues (kernel/sysv_sem.h,
// kernel/sysv_msg.h), beyond what the conformance cases sysv_sem and sysv_msg show against Linux:
// a retried semop keeps the deadline of its first try, a waiter of a removed set or queue gets
// EIDRM once, SEM_UNDO adjustments stay within 0..32767 and go with SETVAL, and the monitor's
// memory bounds what a workload can make (semaphores, queued messages).
#include <gtest/gtest.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>

#include "vm/kernel/sysv_msg.h"
#include "vm/kernel/sysv_sem.h"

namespace spectrum::vm::kernel {
namespace {

using Op = SysvSem::Op;
using namespace std::chrono_literals;

TEST(SysvSem, AllOrNothingAndTheWaitsItCounts) {
  SysvSem sem;
  const int id = *sem.get(IPC_PRIVATE, 2, 0600, 10);
  const Op up_both[] = {{0, 1, 0}, {1, 2, 0}};
  ASSERT_TRUE(sem.operate(1, 10, id, up_both, {}).has_value());
  const Op would_block[] = {{0, -1, IPC_NOWAIT}, {1, -3, IPC_NOWAIT}};
  EXPECT_EQ(sem.operate(1, 10, id, would_block, {}).error(), EAGAIN);
  EXPECT_EQ(sem.find(id)->sems[0].value, 1) << "nothing of a refused semop applies";
  const Op take_three[] = {{1, -3, 0}};
  const auto wait = sem.operate(2, 20, id, take_three, {});
  ASSERT_TRUE(wait.has_value() && wait->has_value());
  EXPECT_EQ(sem.waiters(id, 1, false), 1);
  EXPECT_EQ(sem.waiters(id, 1, true), 0);
  const Op up_one[] = {{1, 1, 0}};
  ASSERT_TRUE(sem.operate(1, 10, id, up_one, {}).has_value());
  const auto retried = sem.operate(2, 20, id, take_three, {});
  ASSERT_TRUE(retried.has_value());
  EXPECT_FALSE(retried->has_value()) << "applied on the retry";
  EXPECT_EQ(sem.waiters(id, 1, false), 0);
  EXPECT_EQ(sem.find(id)->sems[1].pid, 20);
}

TEST(SysvSem, ARetryKeepsTheDeadlineOfItsFirstTry) {
  SysvSem sem;
  const int id = *sem.get(IPC_PRIVATE, 1, 0600, 10);
  const Op take[] = {{0, -1, 0}};
  const auto first = sem.operate(1, 10, id, take, 10s);
  ASSERT_TRUE(first.has_value() && first->has_value() && (*first)->deadline);
  const auto retry = sem.operate(1, 10, id, take, 10s);
  ASSERT_TRUE(retry.has_value() && retry->has_value());
  EXPECT_EQ((*retry)->deadline, (*first)->deadline);
  // Once the call ended otherwise (a signal), the next one starts its own clock.
  sem.stop_waiting(1);
  const auto next = sem.operate(1, 10, id, take, 20s);
  ASSERT_TRUE(next.has_value() && next->has_value());
  EXPECT_GT((*next)->deadline, (*first)->deadline);
  // A deadline that has passed is EAGAIN.
  sem.stop_waiting(1);
  EXPECT_EQ(sem.operate(1, 10, id, take, 0ns).error(), EAGAIN);
}

TEST(SysvSem, AWaiterOfARemovedSetGetsEidrmOnce) {
  SysvSem sem;
  const int id = *sem.get(IPC_PRIVATE, 1, 0600, 10);
  const Op take[] = {{0, -1, 0}};
  ASSERT_TRUE(sem.operate(1, 10, id, take, {})->has_value());
  sem.remove(id);
  EXPECT_EQ(sem.operate(1, 10, id, take, {}).error(), EIDRM);
  EXPECT_EQ(sem.operate(1, 10, id, take, {}).error(), EINVAL);
  EXPECT_EQ(sem.operate(2, 20, id, take, {}).error(), EINVAL);
}

TEST(SysvSem, UndoStaysInRangeAndGoesWithSetval) {
  SysvSem sem;
  const int id = *sem.get(IPC_PRIVATE, 2, 0600, 10);
  const Op up[] = {{0, 5, SEM_UNDO}, {1, 4, SEM_UNDO}};
  ASSERT_TRUE(sem.operate(1, 10, id, up, {}).has_value());
  sem.find(id)->sems[0].value = 2;              // another process took 3 meanwhile (without undo)
  sem.clear_adjustments(id, std::uint16_t{1});  // SETVAL of semaphore 1
  sem.exit_process(10);
  EXPECT_EQ(sem.find(id)->sems[0].value, 0) << "undoing +5 from 2 stops at 0";
  EXPECT_EQ(sem.find(id)->sems[1].value, 4) << "SETVAL dropped the adjustment";
  sem.exit_process(10);  // nothing left to undo
  EXPECT_EQ(sem.find(id)->sems[1].value, 4);
}

TEST(SysvSem, GetFollowsLinux) {
  SysvSem sem;
  EXPECT_EQ(sem.get(7, 1, 0600, 1).error(), ENOENT);
  const int id = *sem.get(7, 3, IPC_CREAT | 0600, 1);
  EXPECT_EQ(*sem.get(7, 2, 0, 1), id);
  EXPECT_EQ(sem.get(7, 4, 0, 1).error(), EINVAL);
  EXPECT_EQ(sem.get(7, 1, IPC_CREAT | IPC_EXCL, 1).error(), EEXIST);
  EXPECT_EQ(sem.get(IPC_PRIVATE, 0, 0600, 1).error(), EINVAL);
  EXPECT_EQ(sem.get(IPC_PRIVATE, SysvSem::kMaxPerSet + 1, 0600, 1).error(), EINVAL);
  // The monitor's memory is bounded: sets of kMaxPerSet until kMaxSemaphores are made.
  int made = 3;
  while (made + SysvSem::kMaxPerSet <= SysvSem::kMaxSemaphores) {
    ASSERT_TRUE(sem.get(IPC_PRIVATE, SysvSem::kMaxPerSet, 0600, 1).has_value());
    made += SysvSem::kMaxPerSet;
  }
  EXPECT_EQ(sem.get(IPC_PRIVATE, SysvSem::kMaxPerSet, 0600, 1).error(), ENOSPC);
  EXPECT_EQ(sem.semaphores(), made);
  const Op beyond[] = {{3, 1, 0}};
  EXPECT_EQ(sem.operate(1, 1, id, beyond, {}).error(), EFBIG);
  const Op too_much[] = {{0, SysvSem::kMaxValue, 0}, {0, 1, 0}};
  EXPECT_EQ(sem.operate(1, 1, id, too_much, {}).error(), ERANGE);
}

TEST(SysvMsg, QueuedMessagesAreBoundedInAllQueuesTogether) {
  SysvMsg msg;
  const std::vector<std::uint8_t> text(SysvMsg::kMaxMessage, 'x');
  std::vector<int> queues;
  std::uint64_t sent = 0;
  for (;;) {
    const int id = *msg.get(IPC_PRIVATE, 0600);
    queues.push_back(id);
    bool room = true;
    while (room) {
      auto r = msg.send(1, 10, id, 1, text, IPC_NOWAIT);
      if (!r) {
        EXPECT_EQ(r.error(), EAGAIN);
        room = false;
      } else {
        ++sent;
      }
    }
    if (msg.queues().at(id).messages.size() < 2) break;  // full before its own msg_qbytes
  }
  EXPECT_LE(msg.total_bytes(), SysvMsg::kMaxTotalBytes);
  EXPECT_EQ(msg.total_messages(), sent);
  // Removing a queue gives its share back.
  const std::uint64_t before = msg.total_bytes();
  msg.remove(queues.front());
  EXPECT_LT(msg.total_bytes(), before);
  EXPECT_TRUE(*msg.send(1, 10, queues.back(), 1, text, IPC_NOWAIT));
}

TEST(SysvMsg, WaitersOfARemovedQueueGetEidrmOnce) {
  SysvMsg msg;
  const int id = *msg.get(IPC_PRIVATE, 0600);
  const auto waiting = msg.receive(1, 10, id, 64, 0, 0);
  ASSERT_TRUE(waiting.has_value());
  EXPECT_FALSE(waiting->has_value()) << "nothing queued: it waits";
  msg.remove(id);
  EXPECT_EQ(msg.receive(1, 10, id, 64, 0, 0).error(), EIDRM);
  EXPECT_EQ(msg.receive(1, 10, id, 64, 0, 0).error(), EINVAL);
}

}  // namespace
}  // namespace spectrum::vm::kernel
