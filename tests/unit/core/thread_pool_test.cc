// Tests of the ThreadPool: results, bounded queue back-pressure, parallel_for coverage.
#include "floe/core/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>

namespace floe {
namespace {

TEST(ThreadPool, RunsTasksAndReturnsResults) {
  ThreadPool pool(2);
  std::vector<std::future<int>> futures;
  for (int i = 0; i < 100; ++i) futures.push_back(pool.submit([i] { return i * i; }));
  int sum = 0;
  for (auto& future : futures) sum += future.get();
  EXPECT_EQ(sum, 328350);
}

TEST(ThreadPool, QueueIsBounded) {
  ThreadPool pool(1, 2);
  std::atomic<bool> release{false};
  std::atomic<int> started{0};
  auto blocker = pool.submit([&] {
    ++started;
    while (!release) std::this_thread::yield();
  });
  while (started == 0) std::this_thread::yield();
  pool.submit([] {});
  pool.submit([] {});  // queue now full (2)
  std::atomic<bool> third_enqueued{false};
  std::thread submitter([&] {
    pool.submit([] {});
    third_enqueued = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(third_enqueued.load());  // blocked by back-pressure
  release = true;
  submitter.join();
  EXPECT_TRUE(third_enqueued.load());
  blocker.get();
}

TEST(ThreadPool, ParallelForVisitsEveryIndexOnce) {
  ThreadPool pool(2);
  std::vector<std::atomic<int>> visits(1000);
  pool.parallel_for(visits.size(), [&](size_t i) { visits[i]++; });
  for (auto& count : visits) EXPECT_EQ(count.load(), 1);
}

// Pools destroyed right after their work: a stop requested outside the pool's lock could slip between a worker's
// empty-queue check and its wait, and the destructor's join then never returned (seen in `floe virtualize`).
TEST(ThreadPool, DestructionRightAfterWorkAlwaysJoins) {
  std::atomic<size_t> done{0};
  for (int round = 0; round < 2000; ++round) {
    ThreadPool pool(4);
    pool.parallel_for(3, [&](size_t) { done++; });
  }
  EXPECT_EQ(done.load(), 6000u);
}

TEST(ThreadPool, ExceptionsReachTheFuture) {
  ThreadPool pool(1);
  auto future = pool.submit([]() -> int { throw std::runtime_error("boom"); });
  EXPECT_THROW(future.get(), std::runtime_error);
}

}  // namespace
}  // namespace floe
