// ThreadPool: a fixed set of workers with a bounded queue; submitters wait when the queue is full.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace floe {

class ThreadPool {
 public:
  // threads == 0 means std::thread::hardware_concurrency().
  explicit ThreadPool(size_t threads = 0, size_t max_queued = 1024);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  size_t size() const { return workers_.size(); }

  template <typename Fn>
  auto submit(Fn&& fn) -> std::future<std::invoke_result_t<Fn>> {
    using R = std::invoke_result_t<Fn>;
    auto task = std::make_shared<std::packaged_task<R()>>(std::forward<Fn>(fn));
    std::future<R> future = task->get_future();
    enqueue([task] { (*task)(); });
    return future;
  }

  // Runs body(i) for i in [0, count) on the pool and waits; the caller's thread helps.
  void parallel_for(size_t count, const std::function<void(size_t)>& body);

 private:
  void enqueue(std::function<void()> job);
  void worker_loop(std::stop_token stop);

  std::mutex mutex_;
  std::condition_variable_any has_work_;
  std::condition_variable_any has_room_;
  std::deque<std::function<void()>> queue_;
  size_t max_queued_;
  std::vector<std::jthread> workers_;
};

}  // namespace floe
