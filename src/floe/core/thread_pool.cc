// Worker loop, bounded enqueue and parallel_for of the ThreadPool.
#include "floe/core/thread_pool.h"

#include <atomic>

namespace floe {

ThreadPool::ThreadPool(size_t threads, size_t max_queued) : max_queued_(max_queued ? max_queued : 1) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  workers_.reserve(threads);
  for (size_t i = 0; i < threads; ++i) {
    workers_.emplace_back([this](std::stop_token stop) { worker_loop(stop); });
  }
}

ThreadPool::~ThreadPool() {
  {
    // Under the lock: a worker between finding the queue empty and starting to wait would otherwise miss both
    // the stop and the notification, and the join below would wait for it forever.
    std::lock_guard lock(mutex_);
    for (auto& worker : workers_) worker.request_stop();
  }
  has_work_.notify_all();
  workers_.clear();  // joins; queued jobs still run before workers exit
}

void ThreadPool::enqueue(std::function<void()> job) {
  std::unique_lock lock(mutex_);
  has_room_.wait(lock, [&] { return queue_.size() < max_queued_; });
  queue_.push_back(std::move(job));
  has_work_.notify_one();
}

void ThreadPool::worker_loop(std::stop_token stop) {
  while (true) {
    std::function<void()> job;
    {
      std::unique_lock lock(mutex_);
      has_work_.wait(lock, [&] { return !queue_.empty() || stop.stop_requested(); });
      if (queue_.empty()) return;
      job = std::move(queue_.front());
      queue_.pop_front();
      has_room_.notify_one();
    }
    job();
  }
}

void ThreadPool::parallel_for(size_t count, const std::function<void(size_t)>& body) {
  if (count == 0) return;
  auto next = std::make_shared<std::atomic<size_t>>(0);
  auto drain = [next, count, &body] {
    for (size_t i = next->fetch_add(1); i < count; i = next->fetch_add(1)) body(i);
  };
  size_t helpers = std::min(workers_.size(), count - 1);
  std::vector<std::future<void>> pending;
  pending.reserve(helpers);
  for (size_t i = 0; i < helpers; ++i) pending.push_back(submit(drain));
  drain();
  for (auto& future : pending) future.get();
}

}  // namespace floe
