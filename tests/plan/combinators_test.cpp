// The combinators' outcome tables (Concourse 6.7's atc/exec/*.go), hook nesting, attempts, timeout,
// and the runtime tree giving the same tables as the typed combinators.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "plan_support.hpp"

using namespace plan_test;
using namespace std::chrono_literals;
using plan::hook_kind;

namespace {

struct expectation {
  status result;
  bool hook_ran;
};

// What Concourse 6.7 gives for `kind` with the step ending as `s` and the hook as `h`.
expectation expected(hook_kind kind, status s, status h) {
  const bool aborted_any = s == status::aborted || h == status::aborted;
  switch (kind) {
    case hook_kind::ensure:  // ensure_step.go
      if (aborted_any) return {status::aborted, true};
      if (s == status::errored || h == status::errored) return {status::errored, true};
      return {s == status::succeeded && h == status::succeeded ? status::succeeded : status::failed, true};
    case hook_kind::on_success:  // on_success.go
      if (s == status::succeeded) return {h, true};
      return {s, false};
    case hook_kind::on_failure:  // on_failure.go
      if (s == status::failed) return {h == status::errored || h == status::aborted ? h : status::failed, true};
      return {s, false};
    case hook_kind::on_abort:  // on_abort.go
      return {s, s == status::aborted};
    case hook_kind::on_error:  // on_error.go
      return {s, s == status::errored};
  }
  return {status::errored, false};
}

const char* name_of(hook_kind k) {
  switch (k) {
    case hook_kind::ensure: return "ensure";
    case hook_kind::on_success: return "on_success";
    case hook_kind::on_failure: return "on_failure";
    case hook_kind::on_abort: return "on_abort";
    case hook_kind::on_error: return "on_error";
  }
  return "?";
}

template <hook_kind K>
plan::outcome run_typed_hook(status s, status h, run_log& log) {
  std::stop_source stop;
  plan::basic_hooked<K, scripted, scripted> p(scripted{"step", &log, s, &stop}, scripted{"hook", &log, h, &stop});
  return run_plan(p, stop);
}

plan::outcome run_typed_hook(hook_kind k, status s, status h, run_log& log) {
  switch (k) {
    case hook_kind::ensure: return run_typed_hook<hook_kind::ensure>(s, h, log);
    case hook_kind::on_success: return run_typed_hook<hook_kind::on_success>(s, h, log);
    case hook_kind::on_failure: return run_typed_hook<hook_kind::on_failure>(s, h, log);
    case hook_kind::on_abort: return run_typed_hook<hook_kind::on_abort>(s, h, log);
    case hook_kind::on_error: return run_typed_hook<hook_kind::on_error>(s, h, log);
  }
  return plan::errored("?");
}

plan::outcome run_tree_hook(hook_kind k, status s, status h, run_log& log) {
  std::stop_source stop;
  auto n = plan::hook_node(k, plan::leaf_node(scripted{"step", &log, s, &stop}), plan::leaf_node(scripted{"hook", &log, h, &stop}));
  return run_tree(n, stop);
}

constexpr hook_kind all_hooks[] = {hook_kind::ensure, hook_kind::on_success, hook_kind::on_failure, hook_kind::on_abort,
                                   hook_kind::on_error};

}  // namespace

TEST_CASE("every hook's outcome table matches Concourse 6.7 for each step and hook outcome", "[plan][hooks]") {
  for (hook_kind k : all_hooks) {
    for (status s : all_statuses) {
      for (status h : all_statuses) {
        INFO(name_of(k) << " step=" << plan::to_string(s) << " hook=" << plan::to_string(h));
        run_log log;
        const auto got = run_typed_hook(k, s, h, log);
        const auto want = expected(k, s, h);
        CHECK(got.status == want.result);
        CHECK(log.has("hook") == want.hook_ran);
        CHECK(log.get().front() == "step");
      }
    }
  }
}

TEST_CASE("the runtime tree gives the typed combinators' outcome tables", "[plan][tree]") {
  for (hook_kind k : all_hooks) {
    for (status s : all_statuses) {
      for (status h : all_statuses) {
        INFO(name_of(k) << " step=" << plan::to_string(s) << " hook=" << plan::to_string(h));
        run_log typed_log, tree_log;
        const auto typed = run_typed_hook(k, s, h, typed_log);
        const auto tree = run_tree_hook(k, s, h, tree_log);
        CHECK(typed == tree);
        CHECK(typed_log.get() == tree_log.get());
      }
    }
  }
  // do, try, in_parallel, attempts, timeout over every pair of child outcomes
  for (status a : all_statuses) {
    for (status b : all_statuses) {
      INFO("a=" << plan::to_string(a) << " b=" << plan::to_string(b));
      auto both = [&](auto make_typed, auto make_tree) {
        run_log l1, l2;
        std::stop_source s1, s2;
        auto typed = make_typed(scripted{"a", &l1, a, &s1}, scripted{"b", &l1, b, &s1});
        const auto t = run_plan(typed, s1);
        const auto n = make_tree(scripted{"a", &l2, a, &s2}, scripted{"b", &l2, b, &s2});
        const auto r = run_tree(n, s2);
        CHECK(t == r);
        return t;
      };
      using plan::leaf_node;
      both([](scripted x, scripted y) { return plan::do_(x, y); },
           [](scripted x, scripted y) { return plan::do_node<scripted>({leaf_node(x), leaf_node(y)}); });
      both([](scripted x, scripted y) { return plan::in_parallel(x, y).limit(1); },
           [](scripted x, scripted y) { return plan::in_parallel_node<scripted>({leaf_node(x), leaf_node(y)}, 1); });
      both([](scripted x, scripted y) { return plan::try_(plan::do_(x, y)); },
           [](scripted x, scripted y) { return plan::try_node(plan::do_node<scripted>({leaf_node(x), leaf_node(y)})); });
      both([](scripted x, scripted y) { return plan::attempts(2, plan::do_(x, y)); },
           [](scripted x, scripted y) { return plan::attempts_node(2, plan::do_node<scripted>({leaf_node(x), leaf_node(y)})); });
      both([](scripted x, scripted y) { return plan::timeout(10s, plan::do_(x, y)); },
           [](scripted x, scripted y) { return plan::timeout_node(10s, plan::do_node<scripted>({leaf_node(x), leaf_node(y)})); });
    }
  }
}

TEST_CASE("do runs its steps in order and stops at the first that does not succeed", "[plan][do]") {
  for (status s : all_statuses) {
    INFO(plan::to_string(s));
    run_log log;
    std::stop_source stop;
    auto p = plan::do_(scripted{"a", &log}, scripted{"b", &log, s, &stop}, scripted{"c", &log});
    CHECK(run_plan(p, stop).status == s);
    CHECK(log.get() == (s == status::succeeded ? std::vector<std::string>{"a", "b", "c"} : std::vector<std::string>{"a", "b"}));
  }
  run_log log;
  std::stop_source stop;
  auto empty = plan::do_();
  CHECK(run_plan(empty, stop).succeeded());
}

TEST_CASE("try turns a failure or an error into success but keeps an abort", "[plan][try]") {
  for (status s : all_statuses) {
    run_log log;
    std::stop_source stop;
    auto p = plan::try_(scripted{"a", &log, s, &stop});
    CHECK(run_plan(p, stop).status == (s == status::aborted ? status::aborted : status::succeeded));
  }
}

TEST_CASE("hooks nest as Concourse 6.7 parses them: ensure outside on_error, on_abort, on_failure, on_success", "[plan][hooks]") {
  // atc/steps.go StepPrecedence: ensure, on_error, on_abort, on_failure, on_success, across, attempts, timeout, core.
  auto build = [](run_log& log, status task_end, std::stop_source& stop) {
    return plan::ensure(
        plan::on_error(
            plan::on_abort(
                plan::on_failure(plan::on_success(plan::attempts(2, plan::timeout(10s, scripted{"task", &log, task_end, &stop})),
                                                  scripted{"on_success", &log}),
                                 scripted{"on_failure", &log}),
                scripted{"on_abort", &log}),
            scripted{"on_error", &log}),
        scripted{"ensure", &log});
  };
  const std::vector<std::pair<status, std::vector<std::string>>> cases = {
      {status::succeeded, {"task", "on_success", "ensure"}},
      {status::failed, {"task", "task", "on_failure", "ensure"}},
      {status::errored, {"task", "task", "on_error", "ensure"}},
      {status::aborted, {"task", "on_abort", "ensure"}},
  };
  for (const auto& [end, order] : cases) {
    INFO(plan::to_string(end));
    run_log log;
    std::stop_source stop;
    auto p = build(log, end, stop);
    CHECK(run_plan(p, stop).status == end);
    CHECK(log.get() == order);
  }
}

TEST_CASE("a failing on_success hook fails the step and a failing ensure hook fails a succeeded step", "[plan][hooks]") {
  run_log log;
  std::stop_source stop;
  auto p = plan::ensure(plan::on_success(scripted{"a", &log}, scripted{"b", &log, status::failed}), scripted{"c", &log});
  CHECK(run_plan(p, stop).status == status::failed);
  auto q = plan::ensure(scripted{"a", &log}, scripted{"c", &log, status::failed});
  CHECK(run_plan(q, stop).status == status::failed);
  auto r = plan::on_error(scripted{"a", &log, status::errored}, scripted{"h", &log, status::errored});
  const auto o = run_plan(r, stop);
  CHECK(o.status == status::errored);
  CHECK(o.message == "a broke; h broke");
}

namespace {
// Ends as the next entry of `script` (shared by every copy), counting the copies' runs on itself.
struct counting {
  run_log* log;
  std::vector<status>* script;
  std::size_t* next;
  int own_runs = 0;
  template <class State, class D>
  plan::outcome run(State&, D&, std::stop_token) {
    ++own_runs;
    log->add("attempt own_runs=" + std::to_string(own_runs));
    const status s = (*script)[(*next)++];
    if (s == status::errored) return plan::errored("boom");
    return s == status::succeeded ? plan::succeeded() : plan::failed();
  }
};
}  // namespace

TEST_CASE("attempts retries failures and errors with a fresh step each time, and the last attempt's outcome counts", "[plan][attempts]") {
  struct row {
    std::vector<status> script;
    std::size_t runs;
    status result;
  };
  const std::vector<row> rows = {
      {{status::succeeded, status::failed, status::failed}, 1, status::succeeded},
      {{status::failed, status::errored, status::succeeded}, 3, status::succeeded},
      {{status::failed, status::failed, status::failed}, 3, status::failed},
      {{status::failed, status::failed, status::errored}, 3, status::errored},
      {{status::errored, status::errored, status::failed}, 3, status::failed},
  };
  for (const auto& r : rows) {
    run_log log;
    auto script = r.script;
    std::size_t next = 0;
    std::stop_source stop;
    auto p = plan::attempts(3, counting{&log, &script, &next});
    CHECK(run_plan(p, stop).status == r.result);
    CHECK(next == r.runs);
    for (const auto& l : log.get()) CHECK(l == "attempt own_runs=1");  // each attempt is a fresh copy
  }
}

TEST_CASE("an abort during an attempt ends attempts without another try", "[plan][attempts][abort]") {
  run_log log;
  std::stop_source stop;
  auto p = plan::attempts(3, scripted{"a", &log, status::aborted, &stop});
  CHECK(run_plan(p, stop).status == status::aborted);
  CHECK(log.get() == std::vector<std::string>{"a"});
}

TEST_CASE("timeout stops the inner step and fails with timeout exceeded, so on_failure runs", "[plan][timeout]") {
  run_log log;
  std::stop_source stop;
  scripted slow{"slow", &log};
  slow.block = true;
  const auto start = std::chrono::steady_clock::now();
  auto p = plan::on_failure(plan::on_abort(plan::timeout(50ms, slow), scripted{"on_abort", &log}), scripted{"on_failure", &log});
  const auto o = run_plan(p, stop);
  CHECK(std::chrono::steady_clock::now() - start < 4s);
  CHECK(o.status == status::failed);
  CHECK(log.get() == std::vector<std::string>{"slow", "slow stopped", "on_failure"});

  auto direct = plan::timeout(50ms, slow);
  const auto d = run_plan(direct, stop);
  CHECK(d.status == status::failed);
  CHECK(d.message == "timeout exceeded");

  auto fast = plan::timeout(10s, scripted{"fast", &log});
  CHECK(run_plan(fast, stop).succeeded());
}

TEST_CASE("a stop from outside a timeout aborts it rather than failing it", "[plan][timeout][abort]") {
  run_log log;
  std::stop_source stop;
  scripted slow{"slow", &log};
  slow.block = true;
  auto p = plan::timeout(10s, slow);
  std::jthread stopper([&] {
    std::this_thread::sleep_for(30ms);
    stop.request_stop();
  });
  CHECK(run_plan(p, stop).status == status::aborted);
}

TEST_CASE("callables and load_var are plan steps through the factories", "[plan][concepts]") {
  int calls = 0;
  auto p = plan::do_([&] { ++calls; return plan::succeeded(); },
                     [&](auto&, auto&, std::stop_token) { ++calls; return plan::failed(); }, [&] { ++calls; return plan::succeeded(); });
  std::stop_source stop;
  CHECK(run_plan(p, stop).status == status::failed);
  CHECK(calls == 2);
  static_assert(plan::step<decltype(p)>);
  static_assert(plan::step<plan::load_var>);
  static_assert(!plan::step<int>);
  static_assert(!plan::step<step::null_delegate>);
}
