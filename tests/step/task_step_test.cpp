#include <catch2/catch.hpp>

#include "common/temp_dir.hpp"
#include "step/step_support.hpp"
#include "taskstep/config/config.hpp"
#include "taskstep/image/concourse_resolver.hpp"
#include "taskstep/placement/placement.hpp"
#include "taskstep/step/task_step.hpp"
#include "taskstep/worker/pool.hpp"
#include "taskstep/yaml/decode.hpp"

using namespace taskstep;
using step_test::memory_artifacts;
using step_test::scripted_worker;

namespace {

task_config config_from(const std::string& yaml_text) {
  auto c = yaml::parse_task_config(yaml_text);
  REQUIRE(c);
  return *c;
}

using static_step = step::basic_task_step<config::validating_source<config::static_source>, image::concourse_resolver,
                                          placement::first_fit, step::single_worker<scripted_worker>>;

static_step make_step(task_plan plan, scripted_worker& worker, step::single_worker<scripted_worker>& set,
                      step::step_options options = {}) {
  (void)worker;
  auto source = config::static_source(plan.config) | config::validating();
  return static_step(std::move(plan), std::move(source), image::concourse_resolver{}, placement::first_fit{}, set,
                     std::move(options));
}

task_plan plan_with(const std::string& yaml_text) {
  task_plan p;
  p.config = config_from(yaml_text);
  return p;
}

}  // namespace

TEST_CASE("a successful step emits initializing, selected worker, starting, finished in order", "[step]") {
  scripted_worker w;
  w.say = "hello\n";
  step::single_worker set(w);
  auto s = make_step(plan_with("platform: linux\nrun: {path: echo, args: [hi]}\n"), w, set);
  memory_artifacts a;
  step::recording_delegate d;
  auto r = s.run(a, d);
  REQUIRE(r);
  CHECK(r->succeeded());
  CHECK(d.events == std::vector<std::string>{"initializing", "selected w1", "starting", "finished 0"});
  CHECK(d.stdout_text == "hello\n");
  CHECK(w.last_process.path == "echo");
  CHECK(w.last_process.args == std::vector<std::string>{"hi"});
  CHECK(w.last_spec.working_dir == "/tmp/build/e55deab7");
}

TEST_CASE("a non-zero exit is a failure, not an error", "[step]") {
  scripted_worker w;
  w.status = 3;
  step::single_worker set(w);
  auto s = make_step(plan_with("platform: linux\nrun: {path: false}\n"), w, set);
  memory_artifacts a;
  step::recording_delegate d;
  auto r = s.run(a, d);
  REQUIRE(r);
  CHECK_FALSE(r->succeeded());
  CHECK(r->exit_status == 3);
  CHECK(d.events.back() == "finished 3");
}

TEST_CASE("an invalid config errors before initializing", "[step]") {
  scripted_worker w;
  step::single_worker set(w);
  task_plan p;  // no config at all
  auto s = make_step(p, w, set);
  memory_artifacts a;
  step::recording_delegate d;
  auto r = s.run(a, d);
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == errc::invalid_config);
  CHECK(d.events ==
        std::vector<std::string>{"errored invalid task configuration:\nmissing 'platform'\nmissing path to executable to run"});
  CHECK(w.runs == 0);
}

TEST_CASE("missing required inputs are reported by their mapped names in config order", "[step][inputs]") {
  scripted_worker w;
  step::single_worker set(w);
  auto p = plan_with(
      "platform: linux\nrun: {path: x}\n"
      "inputs: [{name: a}, {name: opt, optional: true}, {name: b}, {name: present}]\n");
  p.input_mapping = {{"a", "mapped-a"}};
  auto s = make_step(p, w, set);
  memory_artifacts a;
  a.add("present", "/artifacts/present");
  step::recording_delegate d;
  auto r = s.run(a, d);
  REQUIRE_FALSE(r);
  CHECK(r.error().message() == "missing inputs: mapped-a, b");
  CHECK(d.events == std::vector<std::string>{"initializing", "errored missing inputs: mapped-a, b"});
}

TEST_CASE("inputs are mounted at path or name, mapped and optional ones skipped when absent", "[step][inputs]") {
  scripted_worker w;
  step::single_worker set(w);
  auto p = plan_with(
      "platform: linux\nrun: {path: x}\n"
      "inputs: [{name: src, path: code/../src2}, {name: opt, optional: true}, {name: cfg}]\n");
  p.input_mapping = {{"cfg", "config-repo"}};
  auto s = make_step(p, w, set);
  memory_artifacts a;
  a.add("src", "/a/src");
  a.add("config-repo", "/a/cfg");
  step::recording_delegate d;
  REQUIRE(s.run(a, d));
  REQUIRE(w.last_spec.inputs.size() == 2);
  CHECK(w.last_spec.inputs[0].path == "src2");
  CHECK(w.last_spec.inputs[0].source == "/a/src");
  CHECK(w.last_spec.inputs[1].artifact == "config-repo");
  CHECK(w.last_spec.inputs[1].path == "cfg");
}

TEST_CASE("a missing image artifact errors after initializing with Concourse's hint", "[step][image]") {
  scripted_worker w;
  step::single_worker set(w);
  auto p = plan_with("platform: linux\nrun: {path: x}\ninputs: [{name: missing}]\n");
  p.image = "my-image";
  auto s = make_step(p, w, set);
  memory_artifacts a;
  step::recording_delegate d;
  auto r = s.run(a, d);
  REQUIRE_FALSE(r);
  CHECK(r.error().message() ==
        "missing image artifact source: my-image\n\nmake sure there's a corresponding 'get' step, or a task that "
        "produces it as an output");
  CHECK(d.events.front() == "initializing");
}

TEST_CASE("image precedence: artifact over image_resource over rootfs_uri", "[step][image]") {
  const std::string yaml_text =
      "platform: linux\nrun: {path: x}\nrootfs_uri: raw:///r\n"
      "image_resource: {type: registry-image, source: {repository: busybox}}\n";
  image::concourse_resolver resolver;
  memory_artifacts a;
  a.add("img", "/nonexistent/img");
  task_plan p = plan_with(yaml_text);
  p.image = "img";
  auto r1 = resolver.resolve(p, *p.config, a);
  REQUIRE(r1);
  CHECK(std::holds_alternative<image_artifact>(*r1));
  p.image.clear();
  auto r2 = resolver.resolve(p, *p.config, a);
  REQUIRE(std::holds_alternative<image_resource_spec>(*r2));
  CHECK(std::get<image_resource_spec>(*r2).resource.type == "registry-image");
  p.config->image_resource.reset();
  auto r3 = resolver.resolve(p, *p.config, a);
  REQUIRE(std::holds_alternative<rootfs_uri_spec>(*r3));
  CHECK(std::get<rootfs_uri_spec>(*r3).uri == "raw:///r");
  p.config->rootfs_uri.clear();
  CHECK(std::holds_alternative<no_image>(*resolver.resolve(p, *p.config, a)));
}

TEST_CASE("no worker for the platform gives Concourse's no workers satisfying error", "[step][placement]") {
  scripted_worker w;
  step::single_worker set(w);
  auto p = plan_with("platform: windows\nrun: {path: x}\n");
  p.tags = {"gpu"};
  auto s = make_step(p, w, set);
  memory_artifacts a;
  step::recording_delegate d;
  auto r = s.run(a, d);
  REQUIRE_FALSE(r);
  CHECK(r.error().message() == "no workers satisfying: platform 'windows', tag 'gpu'");
  CHECK(w.runs == 0);
}

TEST_CASE("default limits fill only absent keys, an explicit 0 is kept", "[step][limits]") {
  scripted_worker w;
  step::single_worker set(w);
  step::step_options o;
  o.default_cpu = 512;
  o.default_memory = 1024;
  auto s = make_step(plan_with("platform: linux\nrun: {path: x}\ncontainer_limits: {memory: 0}\n"), w, set, o);
  memory_artifacts a;
  step::recording_delegate d;
  REQUIRE(s.run(a, d));
  CHECK(w.last_spec.cpu == 512u);
  CHECK(w.last_spec.memory == 0u);
}

TEST_CASE("env holds params as NAME=value, run.user wins over the image's", "[step]") {
  scripted_worker w;
  step::single_worker set(w);
  auto s = make_step(plan_with("platform: linux\nrun: {path: x, user: me}\nparams: {B: 2, A: yes}\n"), w, set);
  memory_artifacts a;
  step::recording_delegate d;
  REQUIRE(s.run(a, d));
  CHECK(w.last_spec.env == std::vector<std::string>{"A=true", "B=2"});
  CHECK(w.last_process.user == "me");
}

TEST_CASE("an image artifact's metadata is read by the resolver and merged once with params and run.user", "[step][image]") {
  test::temp_dir img;
  img.write("metadata.json", R"({"env": ["PATH=/img/bin", "FROM_IMAGE=1"], "user": "image-user"})");
  memory_artifacts a;
  a.add("img", img.path());
  for (const std::string user : {"", "me"}) {
    scripted_worker w;
    step::single_worker set(w);
    auto p = plan_with("platform: linux\nrun: {path: x" + (user.empty() ? std::string() : ", user: " + user) +
                       "}\nparams: {A: yes}\n");
    p.image = "img";
    auto s = make_step(p, w, set);
    step::recording_delegate d;
    REQUIRE(s.run(a, d));
    CHECK(w.last_spec.env == std::vector<std::string>{"PATH=/img/bin", "FROM_IMAGE=1", "A=true"});
    CHECK(w.last_spec.user == (user.empty() ? "image-user" : user));
    CHECK(w.last_process.user == w.last_spec.user);
    REQUIRE(std::holds_alternative<image_artifact>(w.last_spec.image));
    CHECK(std::get<image_artifact>(w.last_spec.image).metadata.env.size() == 2);
  }
}

TEST_CASE("malformed metadata of the step's image artifact errors before the run", "[step][image]") {
  test::temp_dir img;
  img.write("metadata.json", R"({"user": 7})");
  memory_artifacts a;
  a.add("img", img.path());
  scripted_worker w;
  step::single_worker set(w);
  auto p = plan_with("platform: linux\nrun: {path: x}\n");
  p.image = "img";
  auto s = make_step(p, w, set);
  step::recording_delegate d;
  auto r = s.run(a, d);
  REQUIRE_FALSE(r);
  CHECK(r.error().message() == "malformed image metadata: " + (img.path() / "metadata.json").string() +
                                   ": field \"user\": expected a string, got number");
  CHECK(w.runs == 0);
}

TEST_CASE("outputs are registered under output_mapping names, also for failed runs", "[step][outputs]") {
  scripted_worker w;
  w.status = 1;
  w.outputs = {{"out", "/runs/1/out"}, {"sub/dir", "/runs/1/sub"}};
  step::single_worker set(w);
  auto p = plan_with("platform: linux\nrun: {path: x}\noutputs: [{name: out}, {name: other, path: sub/dir/}]\n");
  p.output_mapping = {{"other", "renamed"}};
  auto s = make_step(p, w, set);
  memory_artifacts a;
  step::recording_delegate d;
  REQUIRE(s.run(a, d));
  CHECK(a.dirs.at("out") == "/runs/1/out");
  CHECK(a.dirs.at("renamed") == "/runs/1/sub");
  CHECK(a.dirs.count("other") == 0);
}

TEST_CASE("caches are committed only for builds of a job", "[step][caches]") {
  scripted_worker w;
  step::single_worker set(w);
  memory_artifacts a;
  step::recording_delegate d;
  auto p = plan_with("platform: linux\nrun: {path: x}\ncaches: [{path: c}]\n");
  REQUIRE(make_step(p, w, set).run(a, d));
  CHECK(w.commits == 0);
  p.job = "unit";
  REQUIRE(make_step(p, w, set).run(a, d));
  CHECK(w.commits == 1);
}

TEST_CASE("a stopped run reports interrupted and still registers outputs", "[step][cancel]") {
  scripted_worker w;
  w.wait_for_stop = true;
  w.outputs = {{"out", "/runs/2/out"}};
  step::single_worker set(w);
  auto s = make_step(plan_with("platform: linux\nrun: {path: x}\noutputs: [{name: out}]\n"), w, set);
  memory_artifacts a;
  step::recording_delegate d;
  std::stop_source stop;
  std::jthread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    stop.request_stop();
  });
  auto r = s.run(a, d, stop.get_token());
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == errc::cancelled);
  CHECK(r.error().message() == "interrupted");
  CHECK(d.events.back() == "errored interrupted");
  CHECK(a.dirs.at("out") == "/runs/2/out");
}

TEST_CASE("the step's timeout stops the run and reports timeout exceeded", "[step][cancel]") {
  scripted_worker w;
  w.wait_for_stop = true;
  step::single_worker set(w);
  step::step_options o;
  o.timeout = std::chrono::milliseconds(30);
  auto s = make_step(plan_with("platform: linux\nrun: {path: x}\n"), w, set, o);
  memory_artifacts a;
  step::recording_delegate d;
  auto r = s.run(a, d);
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == errc::timeout);
  CHECK(d.events.back() == "errored timeout exceeded");
}

namespace {
// A Timer policy whose deadline has always passed: it requests the stop as it is armed.
struct expired_timer {
  struct armed {
    bool fired() const { return true; }
  };
  armed start(std::chrono::milliseconds, std::stop_source target) const {
    target.request_stop();
    return {};
  }
};
}  // namespace

TEST_CASE("the step's timeout comes from its Timer policy", "[step][cancel]") {
  scripted_worker w;
  w.wait_for_stop = true;
  step::single_worker set(w);
  step::step_options o;
  o.timeout = std::chrono::hours(1);
  auto p = plan_with("platform: linux\nrun: {path: x}\n");
  step::basic_task_step s(p, config::static_source(*p.config), image::concourse_resolver{}, placement::first_fit{}, set,
                          o, expired_timer{});
  memory_artifacts a;
  step::recording_delegate d;
  auto r = s.run(a, d);
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == errc::timeout);
  CHECK(d.events.back() == "errored timeout exceeded");

  step::step_options no_timeout;  // not armed without a timeout: the run is not stopped
  scripted_worker quick;
  step::single_worker quick_set(quick);
  step::basic_task_step t(p, config::static_source(*p.config), image::concourse_resolver{}, placement::first_fit{},
                          quick_set, no_timeout, expired_timer{});
  REQUIRE(t.run(a, d));
}

TEST_CASE("credential values are redacted from the task's output", "[step][redaction]") {
  scripted_worker w;
  w.say = "token=hunter22 done\n";
  step::single_worker set(w);
  step::step_options o;
  o.credentials = std::make_shared<vars::credential_tracker>();
  o.credentials->track("token", value("hunter22"));
  auto s = make_step(plan_with("platform: linux\nrun: {path: x}\n"), w, set, o);
  memory_artifacts a;
  step::recording_delegate d;
  REQUIRE(s.run(a, d));
  CHECK(d.stdout_text == "token=((redacted)) done\n");
}

TEST_CASE("config source warnings are printed on stderr before anything else", "[step]") {
  scripted_worker w;
  step::single_worker set(w);
  auto base = config_from("platform: linux\nrun: {path: x}\n");
  auto source = config::static_source(base) | config::override_params({{"NEW", "1"}}) | config::validating();
  step::basic_task_step s(task_plan{}, std::move(source), image::concourse_resolver{}, placement::first_fit{}, set);
  memory_artifacts a;
  step::recording_delegate d;
  REQUIRE(s.run(a, d));
  CHECK(d.stderr_text == "[WARNING] NEW was defined in pipeline but missing from task file\n");
  CHECK(w.last_spec.env == std::vector<std::string>{"NEW=1"});
}

TEST_CASE("a pool of workers of different types is placed on and run without virtual calls", "[step][pool]") {
  worker::worker_pool<scripted_worker, worker::null_worker> pool;
  scripted_worker windows;
  windows.description.name = "win";
  windows.description.platform = "windows";
  windows.status = 5;
  pool.add(windows);
  worker::null_worker linux_worker;
  linux_worker.description.name = "null-linux";
  linux_worker.status = 0;
  pool.add(linux_worker);
  REQUIRE(pool.infos().size() == 2);

  auto run_on = [&](const std::string& platform) {
    task_plan p = plan_with("platform: " + platform + "\nrun: {path: x}\n");
    auto source = config::static_source(p.config) | config::validating();
    step::basic_task_step s(p, std::move(source), image::concourse_resolver{}, placement::random_placement{}, pool);
    memory_artifacts a;
    step::recording_delegate d;
    auto r = s.run(a, d);
    REQUIRE(r);
    return std::make_pair(r->exit_status, d.events.at(1));
  };
  CHECK(run_on("windows") == std::make_pair(5, std::string("selected win")));
  CHECK(run_on("linux") == std::make_pair(0, std::string("selected null-linux")));
}
