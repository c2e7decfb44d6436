// Tasks for a worker itself (watchdog pings, flow snapshots) travel through
// the same mailbox as connection letters.
#include "terminator/worker_mailbox.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <future>

#include "terminator/worker_heartbeat.h"

namespace tlsgate::terminator {
namespace {

uint64_t read_eventfd(int fd) {
  uint64_t value = 0;
  return ::read(fd, &value, sizeof value) == sizeof value ? value : 0;
}

TEST(WorkerMailbox, PostedTasksWakeTheWorkerAndRunInOrder) {
  WorkerMailbox box;
  std::vector<int> ran;
  box.post_task([&] { ran.push_back(1); });
  box.post_task([&] { ran.push_back(2); });
  EXPECT_EQ(read_eventfd(box.eventfd()), 2u);
  auto tasks = box.take_tasks();
  ASSERT_EQ(tasks.size(), 2u);
  for (auto& t : tasks) t();
  EXPECT_EQ(ran, (std::vector<int>{1, 2}));
  EXPECT_TRUE(box.take_tasks().empty());
  EXPECT_TRUE(box.take().empty());  // tasks are not connection letters
}

TEST(WorkerMailbox, TasksOfAnExitedWorkerAreDroppedAndBreakTheirPromise) {
  WorkerMailbox box;
  auto pending = std::make_shared<std::promise<int>>();
  auto before_close = pending->get_future();
  box.post_task([pending] { pending->set_value(1); });
  pending.reset();
  box.close();  // the worker exits without running it
  EXPECT_THROW(before_close.get(), std::future_error);

  auto late = std::make_shared<std::promise<int>>();
  auto after_close = late->get_future();
  box.post_task([late] { late->set_value(2); });
  late.reset();
  EXPECT_THROW(after_close.get(), std::future_error);
  EXPECT_TRUE(box.take_tasks().empty());
}

TEST(WorkerHeartbeat, FedOnlyWhenEveryWorkerAnsweredTheLastRound) {
  WorkerHeartbeat hb(3);
  EXPECT_TRUE(hb.all_answered());  // nothing asked yet
  const uint64_t r1 = hb.next_round();
  EXPECT_FALSE(hb.all_answered());
  hb.answer(0, r1);
  hb.answer(2, r1);
  EXPECT_FALSE(hb.all_answered());  // worker 1 is stuck
  hb.answer(1, r1);
  EXPECT_TRUE(hb.all_answered());
  const uint64_t r2 = hb.next_round();
  hb.answer(0, r2);
  hb.answer(1, r2);
  hb.answer(2, r1);  // a late answer to an older round does not count
  EXPECT_FALSE(hb.all_answered());
  hb.answer(2, r2);
  EXPECT_TRUE(hb.all_answered());
}

}  // namespace
}  // namespace tlsgate::terminator
