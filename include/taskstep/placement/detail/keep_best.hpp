#pragma once
// In-place, order-preserving narrowing used by the built-in strategies: one pass, no allocation.

#include <cstddef>
#include <span>
#include <vector>

#include "taskstep/core/worker_info.hpp"

namespace taskstep::placement::detail {

// Keeps the candidates that pass `keep` and whose key is best among those (`better(a, b)`: a strictly
// better than b), ties in order. A new best restarts the kept prefix, so the write position never
// passes the read position.
template <class Keep, class Key, class Better>
void keep_best_if(std::span<const worker_info> workers, std::vector<std::size_t>& candidates, Keep keep, Key key,
                  Better better) {
  using key_type = decltype(key(workers[0]));
  key_type best{};
  std::size_t kept = 0;
  for (const std::size_t index : candidates) {
    const worker_info& w = workers[index];
    if (!keep(w)) continue;
    const key_type k = key(w);
    if (kept == 0 || better(k, best)) {
      best = k;
      kept = 0;
      candidates[kept++] = index;
    } else if (!better(best, k)) {
      candidates[kept++] = index;
    }
  }
  candidates.resize(kept);
}

template <class Key, class Better>
void keep_best(std::span<const worker_info> workers, std::vector<std::size_t>& candidates, Key key, Better better) {
  keep_best_if(workers, candidates, [](const worker_info&) { return true; }, key, better);
}

// The allocating form of a strategy, written once: copy the candidates, narrow the copy in place.
template <class Strategy>
std::vector<std::size_t> narrow_copy(const Strategy& s, std::span<const worker_info> workers,
                                     std::span<const std::size_t> candidates, const auto& spec) {
  std::vector<std::size_t> out(candidates.begin(), candidates.end());
  s.narrow_in_place(workers, out, spec);
  return out;
}

}  // namespace taskstep::placement::detail
