// A persistent pool of worker threads for data-parallel kernels. The calling thread works too,
// so a pool of n threads starts n - 1 workers. Workers spin briefly for the next job (the forward
// pass issues hundreds of small jobs per token) and then sleep on a condition variable.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace ember {

class ThreadPool {
 public:
  // n_threads <= 0 means the number of physical cores.
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // How many of the threads (the caller included) take part in the next ParallelFor calls:
  // 1..size(), clamped. The others stay idle (llama.cpp's -t / -tb: fewer threads for decoding
  // than for prompt batches). Not to be called during a ParallelFor.
  void set_active(int n);
  int active() const { return active_; }

  // Calls fn(begin, end) over [0, n) in chunks of at most `grain`, on all threads; returns when
  // every chunk is done. Not reentrant.
  void ParallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

  static int PhysicalCores();

 private:
  void WorkerLoop(int index);
  void RunChunks();

  int n_threads_;
  int active_;  // written by the caller before publishing a job, read by workers after
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> busy_{0};
  std::atomic<bool> stop_{false};
  // The current job.
  const std::function<void(int64_t, int64_t)>* fn_ = nullptr;
  int64_t n_ = 0;
  int64_t grain_ = 1;
  std::atomic<int64_t> next_{0};
};

}  // namespace ember
