// Step machinery with trivial policies: in-memory config (`static_source`), no image (`host_resolver`),
// `first_fit` placement and a worker that returns exit 0 at once (`null_worker`), `null_delegate`.
//
//   basic_task_step      the library: four compile-time policies.
//   hand_same_calls      the step's algorithm hand-written in one function with the concrete types,
//                        making the very same calls and copies (the zero-overhead limit of the
//                        *composition*: what the templates alone may cost).
//   hand_direct          what a person would write for the same observable result with these types:
//                        no worker_info copies, no redacted copy of the config when there are no
//                        secrets, no stop_source when there is no timeout (the limit of the *algorithm*).
//   virtual_twin         the same algorithm as a runtime design: abstract base classes for the config
//                        source, image resolver, placement strategy and worker set (plus artifacts,
//                        delegate and process io), chosen at run time from a registry by name.
//
// Run: build/benchmarks/step_bench [--benchmark_repetitions=9 --benchmark_enable_random_interleaving=true]
#include "bench_support.hpp"  // first: see the note on first_fit there

#include <benchmark/benchmark.h>

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "taskstep/config/static_source.hpp"
#include "taskstep/image/concourse_resolver.hpp"
#include "taskstep/placement/placement.hpp"
#include "taskstep/step/delegate.hpp"
#include "taskstep/step/task_step.hpp"
#include "taskstep/worker/worker_client.hpp"
#include "taskstep/yaml/decode.hpp"

using namespace taskstep;

namespace {

const char* const step_yaml = R"(platform: linux
inputs:
- name: source
- name: ci
  path: ci-scripts
- name: version
  optional: true
outputs:
- name: built
params:
  GOFLAGS: -mod=readonly
  CGO_ENABLED: "0"
  CHANNEL: stable
  RETRIES: "3"
run:
  path: ci-scripts/build.sh
  args: [--output, ../built]
  dir: source
)";

task_plan make_plan() {
  task_plan p;
  p.name = "build";
  auto c = yaml::parse_task_config(step_yaml);
  if (!c) std::abort();
  p.config = std::move(*c);
  return p;
}

bench::memory_artifacts make_artifacts() {
  bench::memory_artifacts a;
  a.add("source", "/tmp/artifacts/source");
  a.add("ci", "/tmp/artifacts/ci");
  a.add("version", "/tmp/artifacts/version");
  return a;
}

step::step_options make_options() {
  step::step_options o;
  o.seed = 42;
  return o;
}

// ---------------------------------------------------------------------------------------------
// 1. The library.
using static_step = step::basic_task_step<config::static_source, image::host_resolver, placement::first_fit,
                                          step::single_worker<worker::null_worker>>;

void basic_task_step(benchmark::State& state) {
  worker::null_worker w;
  step::single_worker<worker::null_worker> set(w);
  task_plan plan = make_plan();
  static_step s(plan, config::static_source(plan.config), image::host_resolver{}, placement::first_fit{}, set,
                make_options());
  auto artifacts = make_artifacts();
  step::null_delegate d;
  for (auto _ : state) {
    auto r = s.run(artifacts, d);
    if (!r || r->exit_status != 0) state.SkipWithError("step failed");
    benchmark::DoNotOptimize(r);
  }
}

// ---------------------------------------------------------------------------------------------
// 2. The same sequence of calls, hand-written with the concrete types.
result<container_spec> hand_container_for(const task_plan& plan, const task_config& config,
                                          const bench::memory_artifacts& artifacts) {
  container_spec spec;
  spec.platform = config.platform;
  spec.tags = plan.tags;
  spec.team = plan.team;
  spec.step_name = plan.name;
  spec.job = plan.job;
  spec.image = no_image{};
  spec.working_dir = working_directory(plan.name);
  spec.cpu = config.container_limits ? config.container_limits->cpu : std::nullopt;
  spec.memory = config.container_limits ? config.container_limits->memory : std::nullopt;
  for (const auto& e : environment(config.params)) spec.env.push_back(e);
  spec.user = config.run.user;
  std::vector<std::string> missing;
  for (const auto& in : config.inputs) {
    auto it = plan.input_mapping.find(in.name);
    const std::string artifact = it == plan.input_mapping.end() ? in.name : it->second;
    const std::filesystem::path* dir = artifacts.find(artifact);
    if (dir == nullptr) {
      if (!in.optional) missing.push_back(artifact);
      continue;
    }
    spec.inputs.push_back(input_mount{in.name, artifact, *dir, clean_path(in.path.empty() ? in.name : in.path)});
  }
  if (!missing.empty()) {
    std::string msg = "missing inputs: ";
    for (std::size_t i = 0; i < missing.size(); ++i) msg += (i ? ", " : "") + missing[i];
    return fail(errc::missing_inputs, msg);
  }
  for (const auto& c : config.caches) spec.caches.push_back(cache_mount{clean_path(c.path)});
  for (const auto& o : config.outputs) spec.outputs.push_back(output_mount{o.name, clean_path(o.path.empty() ? o.name : o.path)});
  return spec;
}

result<step::step_outcome> hand_same_calls_run(const task_plan& plan, const std::optional<task_config>& embedded,
                                               worker::null_worker& worker, bench::memory_artifacts& artifacts,
                                               step::null_delegate& delegate, const step::step_options& options) {
  auto fail_with = [&](const error& e) -> result<step::step_outcome> {
    delegate.errored(e.message());
    return fail(e);
  };
  task_config config = embedded ? *embedded : task_config{};
  for (const auto& w : std::vector<std::string>{}) delegate.err("[WARNING] " + w + "\n");
  if (!config.container_limits) config.container_limits.emplace();
  if (!config.container_limits->cpu) config.container_limits->cpu = options.default_cpu;
  if (!config.container_limits->memory) config.container_limits->memory = options.default_memory;
  std::vector<std::string> secrets;
  if (options.credentials) secrets = vars::redaction_pieces(options.credentials->values());
  const task_config shown = step::detail::redacted_config(config, secrets);
  delegate.initializing(shown);

  auto spec = hand_container_for(plan, config, artifacts);
  if (!spec) return fail_with(spec.error());

  std::stop_source stopper;
  std::stop_callback forward(std::stop_token{}, [&] { stopper.request_stop(); });
  std::mutex m;
  std::condition_variable_any cv;
  std::jthread timer;

  const std::vector<worker_info> infos_for_placement{worker.info()};
  auto candidates = placement::satisfying_workers(infos_for_placement, *spec);
  if (!candidates) return fail_with(candidates.error());
  std::mt19937_64 rng(options.seed);
  const std::vector<worker_info> now{worker.info()};
  auto index = placement::choose_worker(placement::first_fit{}, std::span<const worker_info>(now), *candidates, *spec, rng);
  if (!index) return fail_with(error(errc::no_workers, "no workers"));
  const std::vector<worker_info> infos{worker.info()};
  (void)infos[*index].name;  // the null delegate has no selected_worker

  process_spec process{config.run.path, config.run.args, config.run.dir, spec->user};
  step::detail::redacting_io<step::null_delegate> io(delegate, shown, secrets);
  auto ran = worker.run(*spec, process, io, stopper.get_token());
  io.flush();
  if (!ran) return fail_with(ran.error());
  delegate.finished(ran->exit_status);
  for (const auto& [name, path] : step::detail::output_names(plan, config)) {
    auto it = ran->outputs.find(path);
    if (it != ran->outputs.end()) artifacts.add(name, it->second);
  }
  return step::step_outcome{ran->exit_status};
}

void hand_same_calls(benchmark::State& state) {
  worker::null_worker w;
  const task_plan plan = make_plan();
  const std::optional<task_config> embedded = plan.config;
  const auto options = make_options();
  auto artifacts = make_artifacts();
  step::null_delegate d;
  for (auto _ : state) {
    auto r = hand_same_calls_run(plan, embedded, w, artifacts, d, options);
    if (!r || r->exit_status != 0) state.SkipWithError("step failed");
    benchmark::DoNotOptimize(r);
  }
}

// ---------------------------------------------------------------------------------------------
// 3. Direct: the same observable result for this case (no secrets, no timeout, one worker).
result<step::step_outcome> hand_direct_run(const task_plan& plan, const std::optional<task_config>& embedded,
                                           worker::null_worker& worker, bench::memory_artifacts& artifacts,
                                           step::null_delegate& delegate, const step::step_options& options) {
  task_config config = embedded ? *embedded : task_config{};
  if (!config.container_limits) config.container_limits.emplace();
  if (!config.container_limits->cpu) config.container_limits->cpu = options.default_cpu;
  if (!config.container_limits->memory) config.container_limits->memory = options.default_memory;
  delegate.initializing(config);
  auto spec = hand_container_for(plan, config, artifacts);
  if (!spec) {
    delegate.errored(spec.error().message());
    return fail(spec.error());
  }
  const worker_info& info = worker.info();
  if (!placement::satisfies(info, *spec)) {
    delegate.errored("no workers satisfying: " + placement::describe_requirements(*spec));
    return fail(errc::no_workers, "no workers satisfying: " + placement::describe_requirements(*spec));
  }
  process_spec process{config.run.path, config.run.args, config.run.dir, spec->user};
  step::detail::redacting_io<step::null_delegate> io(delegate, config, {});
  auto ran = worker.run(*spec, process, io, std::stop_token{});
  io.flush();
  if (!ran) {
    delegate.errored(ran.error().message());
    return fail(ran.error());
  }
  delegate.finished(ran->exit_status);
  for (const auto& o : config.outputs) {
    auto it = plan.output_mapping.find(o.name);
    const std::string& name = it == plan.output_mapping.end() ? o.name : it->second;
    auto out = ran->outputs.find(clean_path(o.path.empty() ? o.name : o.path));
    if (out != ran->outputs.end()) artifacts.add(name, out->second);
  }
  return step::step_outcome{ran->exit_status};
}

void hand_direct(benchmark::State& state) {
  worker::null_worker w;
  const task_plan plan = make_plan();
  const std::optional<task_config> embedded = plan.config;
  const auto options = make_options();
  auto artifacts = make_artifacts();
  step::null_delegate d;
  for (auto _ : state) {
    auto r = hand_direct_run(plan, embedded, w, artifacts, d, options);
    if (!r || r->exit_status != 0) state.SkipWithError("step failed");
    benchmark::DoNotOptimize(r);
  }
}

// ---------------------------------------------------------------------------------------------
// 4. The virtual twin: the same algorithm over abstract base classes (a runtime design).
namespace twin {

struct config_source {
  virtual ~config_source() = default;
  virtual result<task_config> fetch() = 0;
  [[nodiscard]] virtual std::vector<std::string> warnings() const = 0;
};
struct artifacts {
  virtual ~artifacts() = default;
  virtual const std::filesystem::path* find(const std::string& name) const = 0;
  virtual void add(const std::string& name, std::filesystem::path dir) = 0;
};
struct image_resolver {
  virtual ~image_resolver() = default;
  virtual result<image_spec> resolve(const task_plan&, const task_config&, const artifacts&) const = 0;
};
struct placement_strategy {
  virtual ~placement_strategy() = default;
  virtual void narrow_in_place(std::span<const worker_info>, std::vector<std::size_t>&, const container_spec&) const = 0;
  [[nodiscard]] virtual bool modifies_active_tasks() const { return false; }
};
struct process_io {
  virtual ~process_io() = default;
  virtual void starting() = 0;
  virtual void out(std::string_view) = 0;
  virtual void err(std::string_view) = 0;
};
struct worker_set {
  virtual ~worker_set() = default;
  [[nodiscard]] virtual std::vector<worker_info> infos() const = 0;
  virtual result<run_result> run(std::size_t, const container_spec&, const process_spec&, process_io&, std::stop_token) = 0;
};
struct delegate {
  virtual ~delegate() = default;
  virtual void initializing(const task_config&) = 0;
  virtual void starting(const task_config&) = 0;
  virtual void finished(int) = 0;
  virtual void errored(std::string_view) = 0;
  virtual void selected_worker(std::string_view) = 0;
  virtual void out(std::string_view) = 0;
  virtual void err(std::string_view) = 0;
};

// Implementations (two per kind, so a registry has something to choose from).
struct static_config final : config_source {
  std::optional<task_config> config;
  explicit static_config(std::optional<task_config> c) : config(std::move(c)) {}
  result<task_config> fetch() override { return config ? *config : task_config{}; }
  [[nodiscard]] std::vector<std::string> warnings() const override { return {}; }
};
struct failing_config final : config_source {
  result<task_config> fetch() override { return fail(errc::invalid_config, "no config"); }
  [[nodiscard]] std::vector<std::string> warnings() const override { return {}; }
};
struct memory_artifacts final : artifacts {
  bench::memory_artifacts inner;
  const std::filesystem::path* find(const std::string& name) const override { return inner.find(name); }
  void add(const std::string& name, std::filesystem::path dir) override { inner.add(name, std::move(dir)); }
};
struct host_resolver final : image_resolver {
  result<image_spec> resolve(const task_plan&, const task_config&, const artifacts&) const override {
    return image_spec(no_image{});
  }
};
struct concourse_resolver final : image_resolver {
  result<image_spec> resolve(const task_plan& p, const task_config& c, const artifacts& a) const override {
    if (!p.image.empty()) {
      const auto* dir = a.find(p.image);
      if (dir == nullptr) return fail(image::missing_image_error(p.image));
      return image_spec(image_artifact{p.image, *dir, {}});
    }
    if (c.image_resource) return image_spec(image_resource_spec{*c.image_resource});
    return image_spec(no_image{});
  }
};
struct first_fit final : placement_strategy {
  void narrow_in_place(std::span<const worker_info>, std::vector<std::size_t>& c, const container_spec&) const override {
    if (c.size() > 1) c.erase(c.begin() + 1, c.end());
  }
};
struct random_placement final : placement_strategy {
  void narrow_in_place(std::span<const worker_info>, std::vector<std::size_t>&, const container_spec&) const override {}
};
struct null_worker_set final : worker_set {
  worker::null_worker w;
  [[nodiscard]] std::vector<worker_info> infos() const override { return {w.info()}; }
  result<run_result> run(std::size_t, const container_spec&, const process_spec&, process_io& io, std::stop_token) override {
    io.starting();
    run_result r;
    r.exit_status = w.status;
    return r;
  }
};
struct failing_worker_set final : worker_set {
  [[nodiscard]] std::vector<worker_info> infos() const override { return {}; }
  result<run_result> run(std::size_t, const container_spec&, const process_spec&, process_io&, std::stop_token) override {
    return fail(errc::worker, "no");
  }
};
struct null_delegate final : delegate {
  void initializing(const task_config&) override {}
  void starting(const task_config&) override {}
  void finished(int) override {}
  void errored(std::string_view) override {}
  void selected_worker(std::string_view) override {}
  void out(std::string_view) override {}
  void err(std::string_view) override {}
};

class redacting_io final : public process_io {
 public:
  redacting_io(delegate& d, const task_config& config, const std::vector<std::string>& secrets)
      : delegate_(d), config_(config), out_(secrets), err_(secrets) {}
  void starting() override { delegate_.starting(config_); }
  void out(std::string_view s) override { emit(out_.write(s), true); }
  void err(std::string_view s) override { emit(err_.write(s), false); }
  void flush() {
    emit(out_.flush(), true);
    emit(err_.flush(), false);
  }

 private:
  void emit(const std::string& s, bool is_out) {
    if (s.empty()) return;
    if (is_out) delegate_.out(s);
    else delegate_.err(s);
  }
  delegate& delegate_;
  const task_config& config_;
  vars::redactor out_, err_;
};

std::optional<std::size_t> choose_worker(const placement_strategy& strategy, std::span<const worker_info> workers,
                                         std::span<const std::size_t> candidates, const container_spec& spec,
                                         std::mt19937_64& rng) {
  std::vector<std::size_t> best(candidates.begin(), candidates.end());
  strategy.narrow_in_place(workers, best, spec);
  if (best.empty()) return std::nullopt;
  if (best.size() == 1) return best.front();
  std::uniform_int_distribution<std::size_t> pick(0, best.size() - 1);
  return best[pick(rng)];
}

// basic_task_step's algorithm, line for line, over the interfaces.
class task_step {
 public:
  task_step(task_plan plan, std::unique_ptr<config_source> source, std::unique_ptr<image_resolver> resolver,
            std::unique_ptr<placement_strategy> strategy, worker_set& workers, step::step_options options)
      : plan_(std::move(plan)),
        source_(std::move(source)),
        resolver_(std::move(resolver)),
        strategy_(std::move(strategy)),
        workers_(workers),
        options_(std::move(options)) {}

  result<step::step_outcome> run(artifacts& a, delegate& d, std::stop_token stop = {}) {
    auto out = run_steps(a, d, stop);
    if (!out) d.errored(out.error().message());
    return out;
  }

 private:
  result<step::step_outcome> run_steps(artifacts& arts, delegate& delegate, std::stop_token outer) {
    auto fetched = source_->fetch();
    for (const auto& w : source_->warnings()) delegate.err("[WARNING] " + w + "\n");
    if (!fetched) return fail(fetched.error());
    task_config config = std::move(*fetched);
    if (!config.container_limits) config.container_limits.emplace();
    if (!config.container_limits->cpu) config.container_limits->cpu = options_.default_cpu;
    if (!config.container_limits->memory) config.container_limits->memory = options_.default_memory;
    std::vector<std::string> secrets;
    if (options_.credentials) secrets = vars::redaction_pieces(options_.credentials->values());
    const task_config shown = step::detail::redacted_config(config, secrets);
    delegate.initializing(shown);

    auto image = resolver_->resolve(plan_, config, arts);
    if (!image) return fail(image.error());
    auto spec = container_for(config, *image, arts);
    if (!spec) return fail(spec.error());

    std::stop_source stopper;
    std::stop_callback forward(outer, [&] { stopper.request_stop(); });
    bool timed_out = false;
    std::mutex m;
    std::condition_variable_any cv;
    std::jthread timer;
    if (options_.timeout) {
      timer = std::jthread([&, deadline = *options_.timeout](std::stop_token st) {
        std::unique_lock lock(m);
        if (!cv.wait_for(lock, st, deadline, [] { return false; }) && !st.stop_requested()) {
          timed_out = true;
          stopper.request_stop();
        }
      });
    }
    auto stop_reason = [&]() -> error {
      std::lock_guard lock(m);
      return timed_out ? error(errc::timeout, "timeout exceeded") : error(errc::cancelled, "interrupted");
    };

    auto index = place(*spec);
    if (!index) return fail(index.error());
    const auto infos = workers_.infos();
    delegate.selected_worker(infos[*index].name);

    process_spec process{config.run.path, config.run.args, config.run.dir, spec->user};
    redacting_io io(delegate, shown, secrets);
    auto ran = workers_.run(*index, *spec, process, io, stopper.get_token());
    io.flush();
    if (timer.joinable()) {
      timer.request_stop();
      timer.join();
    }
    if (!ran) return fail(ran.error());
    if (ran->stopped) return fail(stop_reason());
    delegate.finished(ran->exit_status);
    for (const auto& [name, path] : step::detail::output_names(plan_, config)) {
      auto it = ran->outputs.find(path);
      if (it != ran->outputs.end()) arts.add(name, it->second);
    }
    return step::step_outcome{ran->exit_status};
  }

  result<container_spec> container_for(const task_config& config, const image_spec& image, const artifacts& arts) {
    container_spec spec;
    spec.platform = config.platform;
    spec.tags = plan_.tags;
    spec.team = plan_.team;
    spec.step_name = plan_.name;
    spec.job = plan_.job;
    spec.image = image;
    spec.working_dir = working_directory(plan_.name);
    spec.cpu = config.container_limits ? config.container_limits->cpu : std::nullopt;
    spec.memory = config.container_limits ? config.container_limits->memory : std::nullopt;
    if (const auto* resource = std::get_if<image_resource_spec>(&image)) {
      spec.resource_type = resource->resource.type;
      spec.privileged = plan_.privileged;
    }
    for (const auto& e : environment(config.params)) spec.env.push_back(e);
    spec.user = config.run.user;
    std::vector<std::string> missing;
    for (const auto& in : config.inputs) {
      auto it = plan_.input_mapping.find(in.name);
      const std::string artifact = it == plan_.input_mapping.end() ? in.name : it->second;
      const std::filesystem::path* dir = arts.find(artifact);
      if (dir == nullptr) {
        if (!in.optional) missing.push_back(artifact);
        continue;
      }
      spec.inputs.push_back(input_mount{in.name, artifact, *dir, clean_path(in.path.empty() ? in.name : in.path)});
    }
    if (!missing.empty()) {
      std::string msg = "missing inputs: ";
      for (std::size_t i = 0; i < missing.size(); ++i) msg += (i ? ", " : "") + missing[i];
      return fail(errc::missing_inputs, msg);
    }
    for (const auto& c : config.caches) spec.caches.push_back(cache_mount{clean_path(c.path)});
    for (const auto& o : config.outputs)
      spec.outputs.push_back(output_mount{o.name, clean_path(o.path.empty() ? o.name : o.path)});
    return spec;
  }

  result<std::size_t> place(const container_spec& spec) {
    const auto infos = workers_.infos();
    auto candidates = placement::satisfying_workers(infos, spec);
    if (!candidates) return fail(candidates.error());
    std::mt19937_64 rng(options_.seed);
    const auto now = workers_.infos();
    if (auto first = choose_worker(*strategy_, std::span<const worker_info>(now), *candidates, spec, rng)) return *first;
    return fail(errc::no_workers, "no workers");  // the twin never waits (first_fit does not)
  }

  task_plan plan_;
  std::unique_ptr<config_source> source_;
  std::unique_ptr<image_resolver> resolver_;
  std::unique_ptr<placement_strategy> strategy_;
  worker_set& workers_;
  step::step_options options_;
};

// The registry a runtime design configures itself from (names, as read from a config file).
struct registry {
  std::map<std::string, std::function<std::unique_ptr<config_source>(const task_plan&)>> sources{
      {"static", [](const task_plan& p) { return std::make_unique<static_config>(p.config); }},
      {"failing", [](const task_plan&) { return std::make_unique<failing_config>(); }}};
  std::map<std::string, std::function<std::unique_ptr<image_resolver>()>> resolvers{
      {"host", [] { return std::make_unique<host_resolver>(); }},
      {"concourse", [] { return std::make_unique<concourse_resolver>(); }}};
  std::map<std::string, std::function<std::unique_ptr<placement_strategy>()>> strategies{
      {"first-fit", [] { return std::make_unique<first_fit>(); }},
      {"random", [] { return std::make_unique<random_placement>(); }}};
};

}  // namespace twin

void virtual_twin(benchmark::State& state) {
  twin::registry reg;
  // The names come from "configuration"; DoNotOptimize keeps the compiler from knowing them.
  std::string source_name = "static", resolver_name = "host", strategy_name = "first-fit";
  benchmark::DoNotOptimize(source_name);
  benchmark::DoNotOptimize(resolver_name);
  benchmark::DoNotOptimize(strategy_name);
  std::unique_ptr<twin::worker_set> workers = std::make_unique<twin::null_worker_set>();
  std::unique_ptr<twin::delegate> d = std::make_unique<twin::null_delegate>();
  auto arts = std::make_unique<twin::memory_artifacts>();
  arts->inner = make_artifacts();
  std::unique_ptr<twin::artifacts> artifacts = std::move(arts);
  benchmark::DoNotOptimize(workers);
  benchmark::DoNotOptimize(d);
  benchmark::DoNotOptimize(artifacts);
  task_plan plan = make_plan();
  twin::task_step s(plan, reg.sources.at(source_name)(plan), reg.resolvers.at(resolver_name)(),
                    reg.strategies.at(strategy_name)(), *workers, make_options());
  for (auto _ : state) {
    auto r = s.run(*artifacts, *d);
    if (!r || r->exit_status != 0) state.SkipWithError("step failed");
    benchmark::DoNotOptimize(r);
  }
}

}  // namespace

BENCHMARK(basic_task_step);
BENCHMARK(hand_same_calls);
BENCHMARK(hand_direct);
BENCHMARK(virtual_twin);
BENCHMARK_MAIN();
