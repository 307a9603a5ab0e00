#include <catch2/catch.hpp>

#include <string>
#include <variant>

#include "taskstep/job/pipeline.hpp"

using namespace taskstep;

namespace {

result<job::pipeline> load(const std::string& text, vars::static_vars v = {}) { return job::load_pipeline(text, v); }

// The tree's shape as text: do(get src,in_parallel(task a,task b)), hooks as ensure(x,y)...
std::string shape(const plan::basic_node<job::leaf>& n) {
  using k = plan::basic_node<job::leaf>::kinds;
  auto list = [](const std::vector<plan::basic_node<job::leaf>>& v) {
    std::string out;
    for (const auto& c : v) out += (out.empty() ? "" : ",") + shape(c);
    return out;
  };
  return std::visit(
      [&](const auto& x) -> std::string {
        using X = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<X, job::leaf>) return x.label;
        else if constexpr (std::is_same_v<X, k::do_node>) return "do(" + list(x.steps) + ")";
        else if constexpr (std::is_same_v<X, k::in_parallel_node>)
          return "in_parallel" + (x.limit ? "/" + std::to_string(x.limit) : std::string()) + (x.fail_fast ? "!" : "") + "(" + list(x.steps) + ")";
        else if constexpr (std::is_same_v<X, k::try_node>) return "try(" + list(x.step) + ")";
        else if constexpr (std::is_same_v<X, k::hook_node>) {
          const char* names[] = {"ensure", "on_success", "on_failure", "on_abort", "on_error"};
          return std::string(names[static_cast<int>(x.kind)]) + "(" + list(x.step) + ")";
        } else if constexpr (std::is_same_v<X, k::attempts_node>) return "attempts" + std::to_string(x.count) + "(" + list(x.step) + ")";
        else if constexpr (std::is_same_v<X, k::timeout_node>) return "timeout(" + list(x.step) + ")";
        else if constexpr (std::is_same_v<X, k::across_node>) return "across(" + list(x.step) + ")";
        else return "load_var_node";
      },
      n.kind);
}

const std::string resources = R"(
resources:
- name: src
  type: git
  source: {uri: https://example.com/x.git}
- name: img
  type: registry-image
  source: {repository: busybox}
)";

}  // namespace

TEST_CASE("a job's plan decodes into the tree with every step kind", "[job]") {
  auto p = load(resources + R"(
jobs:
- name: unit
  plan:
  - get: src
    trigger: true
  - in_parallel:
      limit: 2
      fail_fast: true
      steps:
      - task: a
        file: src/a.yml
      - task: b
        config: {platform: linux, run: {path: echo}}
  - in_parallel: [{get: img}]
  - do: [{load_var: v, file: src/v.txt}]
  - try: {put: src, params: {repository: src}}
  - set_pipeline: self
    file: src/pipeline.yml
  - aggregate: [{task: c, file: src/c.yml}]
)");
  REQUIRE(p);
  auto j = job::decode_job(*p, "unit");
  REQUIRE(j);
  CHECK(shape(j->root) ==
        "do(get src,in_parallel/2!(task a,task b),in_parallel(get img),do(load_var v),try(put src),set_pipeline self,in_parallel(task c))");
  auto leaves = job::leaves_of(j->root);
  REQUIRE(leaves.size() == 8);
  CHECK(leaves[0]->id == "plan.do[0].get(src)");
  CHECK(leaves[1]->id == "plan.do[1].in_parallel.steps[0].task(a)");
  CHECK(leaves[1]->parallel);
  CHECK_FALSE(leaves[0]->parallel);
  CHECK(std::get<job::get_step>(leaves[0]->step).ignored == std::vector<std::string>{"trigger"});
  CHECK(std::get<job::get_step>(leaves[0]->step).type == "git");
  REQUIRE(j->warnings.size() == 1);
  CHECK(j->warnings[0].find("aggregate step is deprecated") != std::string::npos);
}

TEST_CASE("modifiers and hooks on one step nest as 6.7's StepPrecedence, the job's hooks outside", "[job]") {
  auto p = load(resources + R"(
jobs:
- name: j
  on_failure: {task: jf, file: src/f.yml}
  ensure: {task: je, file: src/e.yml}
  on_success: {task: js, file: src/s.yml}
  plan:
  - task: t
    file: src/t.yml
    timeout: 1m
    attempts: 3
    on_success: {task: s, file: src/s.yml}
    on_failure: {task: f, file: src/f.yml}
    on_abort: {task: a, file: src/a.yml}
    on_error: {task: e, file: src/e.yml}
    ensure: {task: nn, file: src/n.yml}
    across: [{var: x, values: [1, 2], max_in_flight: all}]
    fail_fast: true
)");
  REQUIRE(p);
  auto j = job::decode_job(*p, "j");
  REQUIRE(j);
  CHECK(shape(j->root) ==
        "ensure(on_failure(on_success(do(ensure(on_error(on_abort(on_failure(on_success(across(attempts3(timeout(task t))),"
        "task s),task f),task a),task e),task nn)),task js),task jf),task je)");
  const auto& across = std::get<plan::basic_node<job::leaf>::kinds::across_node>(
      std::get<plan::basic_node<job::leaf>::kinds::hook_node>(
          std::get<plan::basic_node<job::leaf>::kinds::hook_node>(
              std::get<plan::basic_node<job::leaf>::kinds::hook_node>(
                  std::get<plan::basic_node<job::leaf>::kinds::hook_node>(
                      std::get<plan::basic_node<job::leaf>::kinds::hook_node>(
                          std::get<plan::basic_node<job::leaf>::kinds::do_node>(
                              std::get<plan::basic_node<job::leaf>::kinds::hook_node>(
                                  std::get<plan::basic_node<job::leaf>::kinds::hook_node>(
                                      std::get<plan::basic_node<job::leaf>::kinds::hook_node>(j->root.kind).step[0].kind)
                                      .step[0].kind)
                                  .step[0].kind)
                              .steps[0].kind)
                          .step[0].kind)
                      .step[0].kind)
                  .step[0].kind)
              .step[0].kind)
          .step[0].kind);
  CHECK(across.fail_fast);
  REQUIRE(across.vars.size() == 1);
  CHECK(across.vars[0].max_in_flight == 0);
  CHECK(across.vars[0].values.size() == 2);
  // the across child runs beside its siblings
  CHECK(job::leaves_of(j->root)[0]->parallel);
}

TEST_CASE("pipeline vars are applied as fly set-pipeline does, unknown ones left for run time", "[job]") {
  vars::static_vars v;
  v.set("branch", value("main"));
  auto p = load(R"(
resources:
- name: src
  type: git
  source: {uri: https://example.com/x.git, branch: ((branch)), private_key: ((creds.key))}
jobs:
- name: j
  plan: [{get: src}]
)", v);
  REQUIRE(p);
  const value& src = p->resources[0].source;
  CHECK(src.find(value("branch"))->as_string() == "main");
  CHECK(src.find(value("private_key"))->as_string() == "((creds.key))");
}

TEST_CASE("old-style {{vars}} must be bound, as fly set-pipeline has them", "[job]") {
  vars::static_vars v;
  v.set("name", value("x"));
  auto p = load("resources: [{name: '{{name}}', type: s3, source: {a: '{{other}}'}}]\n", v);
  REQUIRE_FALSE(p);
  CHECK(p.error().message().find("unbound variable in template: 'other'") != std::string::npos);
}

TEST_CASE("bad steps are errors naming the job, the step and the field", "[job]") {
  auto decode = [](const std::string& plan) -> std::string {
    auto p = job::load_pipeline(resources + "jobs:\n- name: j\n  plan:\n" + plan, vars::static_vars{});
    if (!p) return "load: " + p.error().message();
    auto j = job::decode_job(*p, "j");
    return j ? std::string("ok") : j.error().message();
  };
  CHECK(decode("  - task: t\n") == "jobs.j.plan.do[0].task(t): must specify either `file:` or `config:`");
  CHECK(decode("  - task: t\n    file: src/t.yml\n    bogus: 1\n") == "jobs.j.plan.do[0]: unknown fields [\"bogus\"]");
  CHECK(decode("  - frobnicate: x\n") == "jobs.j.plan.do[0]: no step configured");
  CHECK(decode("  - timeout: 1m\n") == "jobs.j.plan.do[0]: no core step type declared (e.g. get, put, task, etc.)");
  CHECK(decode("  - get: nope\n") == "jobs.j.plan.do[0].get(nope): unknown resource 'nope'");
  CHECK(decode("  - get: src\n  - get: src\n") == "jobs.j.plan.do[1].get(src): repeated name");
  CHECK(decode("  - get: src\n    timeout: soon\n") == "jobs.j.plan.do[0].timeout: invalid duration 'soon'");
  CHECK(decode("  - get: src\n    attempts: 0\n") == "jobs.j.plan.do[0].attempts: must be greater than 0");
  CHECK(decode("  - get: src\n    attempts: three\n") == "jobs.j.plan.do[0]: field attempts must be int, not string");
  CHECK(decode("  - do:\n    - task: t\n      file: src/t.yml\n      privileged: maybe\n") ==
        "jobs.j.plan.do[0].do[0]: field privileged must be bool, not string");
  CHECK(decode("  - load_var: v\n") == "jobs.j.plan.do[0].load_var(v): no file specified");
  CHECK(decode("  - in_parallel: {steps: [{task: t}]}\n") ==
        "jobs.j.plan.do[0].in_parallel.steps[0].task(t): must specify either `file:` or `config:`");
  CHECK(decode("  - task: t\n    config: {platform: linux, run: {path: x}, bogus: 1}\n").find(
            "jobs.j.plan.do[0].task(t).config: ") == 0);
  CHECK(decode("  - across: [{var: x, values: [1], max_in_flight: 0}]\n    get: src\n") ==
        "jobs.j.plan.do[0].across[0].max_in_flight: must be greater than 0");
  // both problems are reported
  CHECK(decode("  - task: a\n  - task: b\n") ==
        "jobs.j.plan.do[0].task(a): must specify either `file:` or `config:`\n"
        "jobs.j.plan.do[1].task(b): must specify either `file:` or `config:`");
}

TEST_CASE("bad pipelines and unknown jobs are clear errors", "[job]") {
  CHECK(load("jobs:\n- name: j\n  plan: []\n  bogus: 1\n").error().message() == "jobs.j: unknown fields [\"bogus\"]");
  CHECK(load("resources:\n- name: r\n").error().message() == "resources.r has no type");
  CHECK(load("jobs:\n- name: j\n- name: j\n").error().message() == "jobs.j: duplicate job name");
  CHECK(load("jobs: {}\n").error().message() == "jobs: must be a list, not object");
  CHECK(load("a: 1\na: 2\n").error().message().find("already set in map") != std::string::npos);
  auto p = load("groups: [{name: g}]\nanything_else: 1\njobs:\n- name: j\n  plan: []\n");
  REQUIRE(p);  // 6.7 strips unknown top-level keys
  auto j = job::decode_job(*p, "k");
  REQUIRE_FALSE(j);
  CHECK(j.error().message() == "unknown job 'k' (jobs: j)");
}
