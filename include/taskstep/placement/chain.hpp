#pragma once
//! \file
//! `chain<A, B...>`: narrow with A, then narrow what is left with B, ... (Concourse v7's chained
//! `--container-placement-strategy=volume-locality,fewest-build-containers`; v6.7 takes one value).

#include <cstddef>
#include <span>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "taskstep/core/container_spec.hpp"
#include "taskstep/core/worker_info.hpp"
#include "taskstep/placement/concepts.hpp"
#include "taskstep/placement/detail/keep_best.hpp"

namespace taskstep::placement {

//! Models `placement_strategy`: applies `First`, then each of `Rest...` to the survivors, so later
//! strategies break the ties of earlier ones (e.g. `volume_locality{} | fewest_build_containers{}`).
//! Built as a type (`chain<volume_locality, limit_active_tasks>`), with CTAD
//! (`chain{volume_locality{}, limit_active_tasks{2}}`), or with `|`, which flattens nested chains.
//! Narrows in place: one vector per decision however long the chain.
template <class First, class... Rest>
class chain {
  static_assert((placement_strategy<First> && ... && placement_strategy<Rest>), TASKSTEP_PLACEMENT_STRATEGY_MESSAGE);

 public:
  //! A chain waits for free workers when any of its strategies does.
  static constexpr bool modifies_active_tasks =
      (modifies_active_tasks_v<First> || ... || modifies_active_tasks_v<Rest>);

  chain() = default;
  constexpr explicit chain(First first, Rest... rest) : strategies_(std::move(first), std::move(rest)...) {}

  //! The chained strategies, in order.
  [[nodiscard]] constexpr const std::tuple<First, Rest...>& strategies() const noexcept { return strategies_; }

  void narrow_in_place(std::span<const worker_info> workers, std::vector<std::size_t>& candidates,
                       const container_spec& spec) const {
    std::apply(
        [&](const auto&... s) {
          ((candidates.empty() ? void() : placement::narrow_in_place(s, workers, candidates, spec)), ...);
        },
        strategies_);
  }

  [[nodiscard]] std::vector<std::size_t> narrow(std::span<const worker_info> workers,
                                                std::span<const std::size_t> candidates,
                                                const container_spec& spec) const {
    return detail::narrow_copy(*this, workers, candidates, spec);
  }

 private:
  std::tuple<First, Rest...> strategies_;
};

template <class First, class... Rest>
chain(First, Rest...) -> chain<First, Rest...>;

namespace detail {
template <class P>
constexpr auto chain_parts(P p) {
  return std::tuple<P>(std::move(p));
}
template <class... S>
constexpr auto chain_parts(chain<S...> c) {
  return c.strategies();
}
}  // namespace detail

//! `a | b` is `chain{a, b}`; chains on either side are flattened (`a | b | c` is `chain<A, B, C>`).
//! Taken when either side is a strategy, so that the other is named by the assertion if it is not.
template <class A, class B>
  requires(placement_strategy<A> || placement_strategy<B>)
constexpr auto operator|(A a, B b) {
  static_assert(placement_strategy<A> && placement_strategy<B>, TASKSTEP_PLACEMENT_STRATEGY_MESSAGE);
  return std::apply([](auto&&... s) { return chain<std::decay_t<decltype(s)>...>(std::move(s)...); },
                    std::tuple_cat(detail::chain_parts(std::move(a)), detail::chain_parts(std::move(b))));
}

}  // namespace taskstep::placement
