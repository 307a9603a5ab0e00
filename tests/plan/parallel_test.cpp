// in_parallel and across: real threads, limits (observed with atomics), fail_fast, and cancellation
// reaching running, queued and nested work while Concourse's hooks still run.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "plan_support.hpp"

using namespace plan_test;
using namespace std::chrono_literals;

namespace {

// Counts how many copies run at once: each waits until `want` are running (or 2 s pass), so the
// maximum is exact when the limit lets them all in, then holds for a moment.
struct concurrent {
  std::atomic<int>* active;
  std::atomic<int>* peak;
  std::atomic<int>* runs;
  int want;
  template <class State, class D>
  plan::outcome run(State&, D&, std::stop_token) const {
    const int now = ++*active;
    int seen = peak->load();
    while (now > seen && !peak->compare_exchange_weak(seen, now)) {
    }
    ++*runs;
    const auto until = std::chrono::steady_clock::now() + 2s;
    while (peak->load() < want && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(1ms);
    std::this_thread::sleep_for(10ms);
    --*active;
    return plan::succeeded();
  }
};

}  // namespace

TEST_CASE("in_parallel runs at most limit steps at once, and all of them without a limit", "[plan][in_parallel]") {
  for (std::size_t limit : {std::size_t{1}, std::size_t{2}, std::size_t{0}}) {
    INFO("limit " << limit);
    std::atomic<int> active{0}, peak{0}, runs{0};
    const int want = limit == 0 ? 5 : static_cast<int>(limit);
    concurrent c{&active, &peak, &runs, want};
    auto p = plan::in_parallel(c, c, c, c, c).limit(limit);
    std::stop_source stop;
    CHECK(run_plan(p, stop).succeeded());
    CHECK(runs == 5);
    CHECK(peak == want);
  }
}

TEST_CASE("in_parallel's outcome: any error errors it, else any failure fails it", "[plan][in_parallel]") {
  run_log log;
  std::stop_source stop;
  auto p = plan::in_parallel(scripted{"a", &log, status::failed}, scripted{"b", &log, status::errored}, scripted{"c", &log});
  const auto o = run_plan(p, stop);
  CHECK(o.status == status::errored);
  CHECK(o.message == "b broke");
  CHECK(log.get().size() == 3);  // without fail_fast every step runs
  auto q = plan::in_parallel(scripted{"a", &log, status::failed}, scripted{"c", &log});
  CHECK(run_plan(q, stop).status == status::failed);
}

TEST_CASE("fail_fast stops the running siblings and starts no queued step", "[plan][in_parallel][fail_fast]") {
  run_log log;
  std::stop_source stop;
  scripted slow{"slow", &log};
  slow.block = true;
  scripted failing{"failing", &log, status::failed};
  // slow starts first; failing (second slot) stops it; queued (limit 2) never starts.
  auto p = plan::in_parallel(slow, failing, scripted{"queued", &log}).limit(2).fail_fast();
  const auto start = std::chrono::steady_clock::now();
  const auto o = run_plan(p, stop);
  CHECK(std::chrono::steady_clock::now() - start < 4s);
  CHECK(o.status == status::failed);  // the siblings' aborts are not errors of in_parallel
  CHECK(log.has("slow stopped"));
  CHECK_FALSE(log.has("queued"));

  run_log log2;
  scripted slow2{"slow", &log2};
  slow2.block = true;
  slow2.cap = 100ms;
  auto q = plan::in_parallel(slow2, scripted{"failing", &log2, status::failed}, scripted{"queued", &log2}).limit(2);
  CHECK(run_plan(q, stop).status == status::failed);
  CHECK_FALSE(log2.has("slow stopped"));  // without fail_fast the sibling runs to its end
  CHECK(log2.has("queued"));
}

TEST_CASE("an abort reaches running, queued and nested steps, and ensure and on_abort hooks still run", "[plan][abort]") {
  run_log log;
  std::stop_source stop;
  scripted a{"a", &log};
  a.block = true;
  scripted b{"b", &log};
  b.block = true;
  // limit 2: a and the nested do (b) run, c waits for a slot and must never start.
  auto p = plan::ensure(plan::on_abort(plan::do_(plan::in_parallel(a, plan::do_(b, scripted{"after b", &log}), scripted{"c", &log}).limit(2),
                                                 scripted{"after parallel", &log}),
                                       scripted{"on_abort", &log}),
                        scripted{"ensure", &log});
  std::jthread stopper([&] {
    while (!(log.has("a") && log.has("b"))) std::this_thread::sleep_for(1ms);
    stop.request_stop();
  });
  const auto start = std::chrono::steady_clock::now();
  const auto o = run_plan(p, stop);
  CHECK(std::chrono::steady_clock::now() - start < 4s);
  CHECK(o.status == status::aborted);
  CHECK(log.has("a stopped"));
  CHECK(log.has("b stopped"));
  CHECK_FALSE(log.has("c"));
  CHECK_FALSE(log.has("after b"));
  CHECK_FALSE(log.has("after parallel"));
  const auto lines = log.get();
  REQUIRE(lines.size() >= 2);
  CHECK(lines[lines.size() - 2] == "on_abort");
  CHECK(lines.back() == "ensure");
}

TEST_CASE("ensure's hook runs with a token that does not stop after an abort", "[plan][abort][ensure]") {
  run_log log;
  std::stop_source stop;
  scripted hook{"hook", &log};
  hook.block = true;
  hook.cap = 50ms;  // a stopped token would stop it at once
  auto p = plan::ensure(scripted{"a", &log, status::aborted, &stop}, hook);
  CHECK(run_plan(p, stop).status == status::aborted);
  CHECK(log.get() == std::vector<std::string>{"a", "hook"});
}

namespace {
// Records the ((.:x)) and ((.:y)) it sees.
struct reads_vars {
  run_log* log;
  status end = status::succeeded;
  template <class State, class D>
  plan::outcome run(State& state, D&, std::stop_token) const {
    auto x = state.locals().get(vars::var_reference{".:x", ".", "x", {}});
    auto y = state.locals().get(vars::var_reference{".:y", ".", "y", {}});
    std::string line = "x=" + (x && *x ? (*x)->as_string() : std::string("?"));
    line += " y=" + (y && *y ? (*y)->as_string() : std::string("?"));
    log->add(line);
    return end == status::failed ? plan::failed() : plan::succeeded();
  }
};
}  // namespace

TEST_CASE("across runs its step once per combination of values, each in its own scope of local vars", "[plan][across]") {
  run_log log;
  std::stop_source stop;
  std::vector<plan::across_var> vars = {{"x", {value("1"), value("2")}, 0}, {"y", {value("a"), value("b"), value("c")}, 2}};
  auto p = plan::across(vars, false, reads_vars{&log});
  repo artifacts;
  state_t state(artifacts);
  step::recording_delegate rd;
  plan::locked_delegate<step::recording_delegate> d(rd);
  CHECK(p.run(state, d, stop.get_token()).succeeded());
  auto lines = log.get();
  CHECK(std::set<std::string>(lines.begin(), lines.end()) ==
        std::set<std::string>{"x=1 y=a", "x=1 y=b", "x=1 y=c", "x=2 y=a", "x=2 y=b", "x=2 y=c"});
  CHECK(lines.size() == 6);
  CHECK_FALSE(state.locals().find("x"));  // the values live in the combinations' scopes only
  CHECK(rd.stderr_text.find("the across step is experimental") != std::string::npos);

  // the tree gives the same
  run_log log2;
  auto n = plan::across_node(vars, false, plan::basic_node<reads_vars>{reads_vars{&log2}});
  CHECK(plan::evaluate(n, state, d, stop.get_token()).succeeded());
  auto lines2 = log2.get();
  CHECK(std::set<std::string>(lines2.begin(), lines2.end()) == std::set<std::string>(lines.begin(), lines.end()));
}

TEST_CASE("across honours max_in_flight (default 1) and fail_fast", "[plan][across]") {
  std::atomic<int> active{0}, peak{0}, runs{0};
  std::stop_source stop;
  concurrent c{&active, &peak, &runs, 1};
  auto p = plan::across({{"x", {value("1"), value("2"), value("3")}}}, false, c);
  CHECK(run_plan(p, stop).succeeded());
  CHECK(runs == 3);
  CHECK(peak == 1);

  std::atomic<int> active2{0}, peak2{0}, runs2{0};
  concurrent c3{&active2, &peak2, &runs2, 3};
  auto q = plan::across({{"x", {value("1"), value("2"), value("3")}, 3}}, false, c3);
  CHECK(run_plan(q, stop).succeeded());
  CHECK(peak2 == 3);

  run_log log;
  auto f = plan::across({{"x", {value("1"), value("2"), value("3")}}}, true, reads_vars{&log, status::failed});
  CHECK(run_plan(f, stop).status == status::failed);
  CHECK(log.get().size() == 1);  // one at a time: the first failure stops the rest
}
