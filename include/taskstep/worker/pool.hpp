#pragma once
//! \file
//! `worker_pool<W...>`: workers of different types in one pool, chosen by index and dispatched
//! without virtual calls (each type keeps its own vector; an index maps to a (type, position) pair at
//! compile time through a fold over the types).

#include <cstddef>
#include <stop_token>
#include <tuple>
#include <utility>
#include <vector>

#include "taskstep/worker/worker_client.hpp"

namespace taskstep::worker {

//! A pool of workers of the types `W...`. Models what `basic_task_step` needs: `infos()` and
//! `run(index, container, process, io, stop)`, and `commit_caches(index, ...)` for the workers that
//! model `commits_caches`.
template <class... W>
class worker_pool {
  static_assert((worker_client<W> && ...), TASKSTEP_WORKER_CLIENT_MESSAGE);

 public:
  worker_pool() = default;
  explicit worker_pool(std::vector<W>... workers) : workers_(std::move(workers)...) {}

  //! Adds a worker of one of the pool's types.
  template <class T>
  void add(T worker) {
    std::get<std::vector<T>>(workers_).push_back(std::move(worker));
  }

  //! Every worker's description, in pool order (types in template order).
  [[nodiscard]] std::vector<worker_info> infos() const {
    std::vector<worker_info> out;
    std::apply([&](const auto&... vs) { ((append(out, vs)), ...); }, workers_);
    return out;
  }

  //! Commits the caches of a finished run on worker `index`, for workers that keep caches.
  result<void> commit_caches(std::size_t index, const container_spec& c, const run_result& r) {
    result<void> out{};
    std::apply(
        [&](auto&... vs) {
          (void)((index < vs.size() ? (out = commit_one(vs[index], c, r), true) : (index -= vs.size(), false)) || ...);
        },
        workers_);
    return out;
  }

  [[nodiscard]] std::size_t size() const {
    return std::apply([](const auto&... vs) { return (vs.size() + ... + std::size_t{0}); }, workers_);
  }

  //! Runs on worker `index` (an index into `infos()`).
  template <class IO>
  result<run_result> run(std::size_t index, const container_spec& c, const process_spec& p, IO& io,
                         std::stop_token stop) {
    static_assert(process_io<IO>, TASKSTEP_PROCESS_IO_MESSAGE);
    result<run_result> out = fail(errc::no_workers, "no workers");
    std::apply(
        [&](auto&... vs) {
          (void)((index < vs.size() ? (out = vs[index].run(c, p, io, stop), true) : (index -= vs.size(), false)) ||
                 ...);
        },
        workers_);
    return out;
  }

 private:
  template <class T>
  static result<void> commit_one(T& w, const container_spec& c, const run_result& r) {
    if constexpr (commits_caches<T>) return w.commit_caches(c, r);
    else return {};
  }
  template <class T>
  static void append(std::vector<worker_info>& out, const std::vector<T>& vs) {
    for (const auto& w : vs) out.push_back(w.info());
  }
  std::tuple<std::vector<W>...> workers_;
};

}  // namespace taskstep::worker
