#pragma once
//! \file
//! `basic_task_step<ConfigSource, ImageResolver, PlacementStrategy, Workers>`: Concourse's task step
//! (atc/exec/task_step.go) as a composition of compile-time policies. No virtual calls, no RTTI.
//!
//! Order, as in Concourse 6.7: fetch the config (warnings printed as `[WARNING] ...` on stderr) → fill
//! default cpu/memory limits → `initializing` → image (a missing image artifact fails here) → container
//! spec (inputs with input_mapping; `missing inputs: a, b`) → choose a worker (`no workers`,
//! `no workers satisfying: ...`, or wait while all are busy) → `selected_worker` → `starting` → output
//! streamed (credentials redacted) → `finished(status)` → outputs registered (output_mapping) → caches
//! committed for job builds. A stopped run still registers its outputs and reports `interrupted` or,
//! when the step's own timeout fired, `timeout exceeded`. A non-zero exit is a failure, not an error.
//!
//! The step owns no I/O: the image resolver reads an image artifact's `metadata.json`, the step
//! merges it with `apply_image_metadata`, and the `Timer` policy (step/timer.hpp) makes the timeout fire.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <fmt/format.h>
#include <range/v3/algorithm/copy.hpp>
#include <range/v3/iterator/insert_iterators.hpp>
#include <range/v3/view/filter.hpp>
#include <range/v3/view/transform.hpp>

#include "taskstep/config/concepts.hpp"
#include "taskstep/core/artifact.hpp"
#include "taskstep/core/container_spec.hpp"
#include "taskstep/core/duration.hpp"
#include "taskstep/core/task_plan.hpp"
#include "taskstep/core/working_dir.hpp"
#include "taskstep/image/concepts.hpp"
#include "taskstep/placement/placement.hpp"
#include "taskstep/step/delegate.hpp"
#include "taskstep/step/timer.hpp"
#include "taskstep/vars/redact.hpp"
#include "taskstep/vars/variables.hpp"
#include "taskstep/worker/pool.hpp"

namespace taskstep::step {

//! A set of workers the step can place on: `infos()` and `run(index, container, process, io, stop)`
//! with any `process_io` (checked against a private archetype).
template <class S>
concept worker_set = requires(S& s, const S& cs, const container_spec& c, const process_spec& p,
                              taskstep::detail::archetype_process_io& io, std::stop_token stop) {
  { cs.infos() } -> std::same_as<std::vector<worker_info>>;
  { s.run(std::size_t{0}, c, p, io, stop) } -> std::same_as<result<run_result>>;
};

//! The sentence `basic_task_step` asserts for its `Workers` (`static_assert` takes a literal only).
#define TASKSTEP_WORKER_SET_MESSAGE                                                                       \
  "taskstep: Workers is not a worker_set: it needs infos() const -> std::vector<worker_info> and "        \
  "run(std::size_t index, const container_spec&, const process_spec&, IO&, std::stop_token) -> "          \
  "result<run_result> for any process_io IO (put one worker client in step::single_worker, several in " \
  "worker::worker_pool)"

//! Optional: commits the caches of a finished run on worker `index` (job builds only).
template <class S>
concept commits_caches_at = requires(S& s, std::size_t index, const container_spec& c, const run_result& r) {
  { s.commit_caches(index, c, r) } -> std::same_as<result<void>>;
};

//! Makes a single worker client a worker set of one; models `commits_caches_at` whatever `W` has
//! (a worker without caches commits nothing).
template <class W>
class single_worker {
  static_assert(worker::worker_client<W>, TASKSTEP_WORKER_CLIENT_MESSAGE);

 public:
  explicit single_worker(W& w) : worker_(&w) {}
  [[nodiscard]] std::vector<worker_info> infos() const { return {worker_->info()}; }
  template <class IO>
  result<run_result> run(std::size_t, const container_spec& c, const process_spec& p, IO& io, std::stop_token stop) {
    static_assert(process_io<IO>, TASKSTEP_PROCESS_IO_MESSAGE);
    return worker_->run(c, p, io, stop);
  }
  //! Forwards to the worker's `commit_caches(container_spec, run_result)` when it models `commits_caches`.
  result<void> commit_caches(std::size_t, const container_spec& c, const run_result& r) {
    if constexpr (worker::commits_caches<W>) return worker_->commit_caches(c, r);
    else return {};
  }
  W& get() { return *worker_; }

 private:
  W* worker_;
};

//! Step settings that are not part of the plan (Concourse's ATC flags and the step's modifiers).
struct step_options {
  std::optional<std::uint64_t> default_cpu;     //!< `--default-task-cpu-limit`
  std::optional<std::uint64_t> default_memory;  //!< `--default-task-memory-limit`
  std::optional<std::chrono::milliseconds> timeout;  //!< the step's `timeout:`
  std::shared_ptr<vars::credential_tracker> credentials;  //!< values to redact from output
  std::chrono::milliseconds poll_interval{5000};    //!< limit-active-tasks: how often to retry
  std::chrono::milliseconds status_interval{60000};  //!< limit-active-tasks: how often to say "busy"
  std::uint64_t seed = std::random_device{}();        //!< placement randomness
};

//! How a step ended when it did not error.
struct step_outcome {
  int exit_status = 0;
  [[nodiscard]] bool succeeded() const noexcept { return exit_status == 0; }
};

namespace detail {

// The length of the longest prefix of `s` that does not end inside a UTF-8 sequence: an incomplete
// (but so far valid) trailing sequence of up to 3 bytes is left out. Invalid bytes count as whole.
inline std::size_t complete_utf8_prefix(std::string_view s) noexcept {
  const std::size_t n = s.size();
  for (std::size_t back = 1; back <= 3 && back <= n; ++back) {
    const auto lead = static_cast<unsigned char>(s[n - back]);
    if ((lead & 0xC0) == 0x80) continue;  // a continuation byte: its lead is further back
    const std::size_t need = lead >= 0xC2 && lead <= 0xDF   ? 2
                             : lead >= 0xE0 && lead <= 0xEF ? 3
                             : lead >= 0xF0 && lead <= 0xF4 ? 4
                                                            : 1;
    if (need <= back) return n;
    if (back >= 2) {  // the second byte's range depends on the lead (no overlongs, surrogates, > U+10FFFF)
      const auto second = static_cast<unsigned char>(s[n - back + 1]);
      const bool ok = lead == 0xE0 ? second >= 0xA0 : lead == 0xED ? second <= 0x9F
                    : lead == 0xF0 ? second >= 0x90 : lead == 0xF4 ? second <= 0x8F : true;
      if (!ok) return n;
    }
    return n - back;
  }
  return n;
}

// Wraps the delegate as the worker's process_io, redacting credentials from both streams and handing
// the delegate whole UTF-8 characters only (a character split across two writes is held back until the
// next write or the final flush; invalid bytes pass through as they are).
template <task_delegate D>
class redacting_io {
 public:
  redacting_io(D& d, const task_config& config, const std::vector<std::string>& secrets)
      : delegate_(d), config_(config), out_{vars::redactor(secrets), {}}, err_{vars::redactor(secrets), {}} {}
  void starting() { delegate_.starting(config_); }
  void out(std::string_view s) { emit(out_, out_.redact.write(s), true); }
  void err(std::string_view s) { emit(err_, err_.redact.write(s), false); }
  //! The end of both streams: what the redactors and the UTF-8 check held back.
  void flush() {
    for (stream* st : {&out_, &err_}) {
      const bool is_out = st == &out_;
      emit(*st, st->redact.flush(), is_out);
      deliver(std::exchange(st->partial, {}), is_out);
    }
  }

 private:
  struct stream {
    vars::redactor redact;
    std::string partial;  // the start of a UTF-8 character whose other bytes have not arrived
  };
  void emit(stream& st, std::string s, bool is_out) {
    if (!st.partial.empty()) s.insert(0, std::exchange(st.partial, {}));
    const std::size_t whole = complete_utf8_prefix(s);
    st.partial.assign(s, whole, std::string::npos);
    s.resize(whole);
    deliver(s, is_out);
  }
  void deliver(const std::string& s, bool is_out) {
    if (s.empty()) return;
    if (is_out) delegate_.out(s);
    else delegate_.err(s);
  }
  D& delegate_;
  const task_config& config_;
  stream out_, err_;
};

// Redacts every string leaf of a JSON-flavoured value (image_resource source/params).
inline void redact_value(value& v, const std::vector<std::string>& secrets) {
  if (v.is_string()) {
    v.as_string() = vars::redact(v.as_string(), secrets);
  } else if (v.is_sequence()) {
    for (auto& e : v.as_sequence()) redact_value(e, secrets);
  } else if (v.is_mapping()) {
    for (auto& e : v.as_mapping()) redact_value(e.val, secrets);
  }
}

// The config as events show it: credential values redacted from every string field.
inline task_config redacted_config(task_config c, const std::vector<std::string>& secrets) {
  if (secrets.empty()) return c;
  auto redact = [&](std::string& s) { s = vars::redact(s, secrets); };
  redact(c.platform);
  redact(c.rootfs_uri);
  if (c.image_resource) {
    redact(c.image_resource->type);
    redact_value(c.image_resource->source.data, secrets);
    redact_value(c.image_resource->params.data, secrets);
    for (auto& [k, v] : c.image_resource->version) redact(v);
  }
  for (auto& [k, v] : c.params) redact(v);
  redact(c.run.path);
  for (auto& a : c.run.args) redact(a);
  redact(c.run.dir);
  redact(c.run.user);
  for (auto& in : c.inputs) {
    redact(in.name);
    redact(in.path);
  }
  for (auto& out : c.outputs) {
    redact(out.name);
    redact(out.path);
  }
  for (auto& cache : c.caches) redact(cache.path);
  return c;
}

// Names of `config.outputs` mapped through output_mapping, with their cleaned paths.
inline std::vector<std::pair<std::string, std::string>> output_names(const task_plan& plan, const task_config& config) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& o : config.outputs) {
    auto it = plan.output_mapping.find(o.name);
    const std::string name = it == plan.output_mapping.end() ? o.name : it->second;
    out.emplace_back(name, clean_path(o.path.empty() ? o.name : o.path));
  }
  return out;
}

}  // namespace detail

//! Concourse's task step over four policies (see the file comment for the algorithm).
//! - `ConfigSource` models `config::config_source` (e.g. `file_source | override_params | interpolate | validating`);
//! - `ImageResolver` models `image::image_resolver` (e.g. `image::concourse_resolver`);
//! - `PlacementStrategy` models `placement::placement_strategy` (e.g. `placement::volume_locality`);
//! - `Workers` models `worker_set` (e.g. `worker::worker_pool<local_process>`, or `single_worker<W>`);
//! - `Timer` models `step_timer` (default `thread_timer`): it fires `step_options::timeout`.
template <class ConfigSource, class ImageResolver, class PlacementStrategy, class Workers, class Timer = thread_timer>
class basic_task_step {
  static_assert(config::config_source<ConfigSource>, TASKSTEP_CONFIG_SOURCE_MESSAGE);
  static_assert(image::image_resolver<ImageResolver>, TASKSTEP_IMAGE_RESOLVER_MESSAGE);
  static_assert(placement::placement_strategy<PlacementStrategy>, TASKSTEP_PLACEMENT_STRATEGY_MESSAGE);
  static_assert(worker_set<Workers>, TASKSTEP_WORKER_SET_MESSAGE);
  static_assert(step_timer<Timer>, TASKSTEP_STEP_TIMER_MESSAGE);

 public:
  basic_task_step(task_plan plan, ConfigSource source, ImageResolver resolver, PlacementStrategy strategy,
                  Workers& workers, step_options options = {}, Timer timer = {})
      : plan_(std::move(plan)),
        source_(std::move(source)),
        resolver_(std::move(resolver)),
        strategy_(std::move(strategy)),
        workers_(workers),
        options_(std::move(options)),
        timer_(std::move(timer)) {}

  //! Runs the step. `Artifacts` is the build's `artifact_repository` (inputs and the image are found
  //! in it, outputs added to it; e.g. `artifact::directory_repository`). Errors are returned and also
  //! reported through `delegate.errored`.
  template <class Artifacts, class Delegate>
  result<step_outcome> run(Artifacts& artifacts, Delegate& delegate, std::stop_token stop = {}) {
    static_assert(artifact_repository<Artifacts>, TASKSTEP_ARTIFACT_REPOSITORY_MESSAGE);
    static_assert(task_delegate<Delegate>, TASKSTEP_TASK_DELEGATE_MESSAGE);
    static_assert(image::image_resolver<ImageResolver, Artifacts>, TASKSTEP_IMAGE_RESOLVER_MESSAGE);
    auto out = run_steps(artifacts, delegate, stop);
    if (!out) {
      // A message may quote a path, user or value built from a credential (e.g. a worker's
      // "executable not found"): the delegate and the caller get it redacted.
      error shown(out.error().code(), vars::redact(out.error().message(), secret_pieces()));
      delegate.errored(shown.message());
      return fail(std::move(shown));
    }
    return out;
  }

  [[nodiscard]] const task_plan& plan() const noexcept { return plan_; }

 private:
  template <class Artifacts, class Delegate>
  result<step_outcome> run_steps(Artifacts& artifacts, Delegate& delegate, std::stop_token outer) {
    auto fetched = source_.fetch();
    // Every credential interpolation used is known once the config is fetched.
    const std::vector<std::string> secrets = secret_pieces();
    for (const auto& w : source_.warnings()) delegate.err(vars::redact(fmt::format("[WARNING] {}\n", w), secrets));
    if (!fetched) return fail(fetched.error());
    task_config config = std::move(*fetched);

    if (!config.container_limits) config.container_limits.emplace();
    if (!config.container_limits->cpu) config.container_limits->cpu = options_.default_cpu;
    if (!config.container_limits->memory) config.container_limits->memory = options_.default_memory;

    const task_config shown = detail::redacted_config(config, secrets);
    delegate.initializing(shown);

    auto image = resolver_.resolve(plan_, config, std::as_const(artifacts));
    if (!image) return fail(image.error());
    auto spec = container_for(config, *image, artifacts);
    if (!spec) return fail(spec.error());

    // A stop source that fires on the caller's stop or on the step's own timeout (the Timer's).
    std::stop_source stopper;
    std::stop_callback forward(outer, [&] { stopper.request_stop(); });
    using armed_timer = decltype(timer_.start(std::chrono::milliseconds{}, stopper));
    std::optional<armed_timer> timer;
    if (options_.timeout) timer.emplace(timer_.start(clamp_wait(*options_.timeout), stopper));
    auto stop_reason = [&]() -> error {
      return timer && timer->fired() ? error(errc::timeout, "timeout exceeded") : error(errc::cancelled, "interrupted");
    };

    std::vector<worker_info> infos = workers_.infos();
    auto index = place(*spec, delegate, stopper.get_token(), infos, secrets);
    if (!index) {
      if (index.error().code() == errc::cancelled) return fail(stop_reason());
      return fail(index.error());
    }
    if constexpr (reports_selected_worker<Delegate>)
      delegate.selected_worker(vars::redact(infos[*index].name, secrets));

    process_spec process{config.run.path, config.run.args, config.run.dir, spec->user};
    detail::redacting_io<Delegate> io(delegate, shown, secrets);
    auto ran = workers_.run(*index, *spec, process, io, stopper.get_token());
    io.flush();
    const error stopped_by = stop_reason();  // a deadline that stopped the run fired before the stop
    timer.reset();
    if (!ran) return fail(ran.error());

    if (ran->stopped) {
      register_outputs(config, *ran, artifacts);
      return fail(stopped_by);
    }
    delegate.finished(ran->exit_status);
    register_outputs(config, *ran, artifacts);
    if (!plan_.job.empty()) {
      if constexpr (commits_caches_at<Workers>) {
        if (auto ok = workers_.commit_caches(*index, *spec, *ran); !ok) return fail(ok.error());
      }
    }
    return step_outcome{ran->exit_status};
  }

  template <class Artifacts>
  result<container_spec> container_for(const task_config& config, const image_spec& image, const Artifacts& artifacts) {
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

    spec.env = environment(config.params);
    spec.user = config.run.user;
    if (const auto* artifact = std::get_if<image_artifact>(&image)) {
      apply_image_metadata(spec, artifact->metadata);  // read by the resolver
      spec.privileged = plan_.privileged;
    } else if (const auto* resource = std::get_if<image_resource_spec>(&image)) {
      spec.resource_type = resource->resource.type;
      spec.privileged = plan_.privileged;
    }

    // Concourse's artifact names of the inputs (after input_mapping); the required ones not in the build are missing.
    auto artifact_of = [this](const task_input_config& in) {
      auto it = plan_.input_mapping.find(in.name);
      return it == plan_.input_mapping.end() ? in.name : it->second;
    };
    auto absent = [&](const task_input_config& in) { return !in.optional && artifacts.find(artifact_of(in)) == nullptr; };
    std::vector<std::string> missing;  // copied, not `to<vector>`: that walks a filtered range twice
    ranges::copy(config.inputs | ranges::views::filter(absent) | ranges::views::transform(artifact_of),
                 ranges::back_inserter(missing));
    if (!missing.empty()) return fail(errc::missing_inputs, fmt::format("missing inputs: {}", fmt::join(missing, ", ")));
    for (const auto& in : config.inputs) {
      const std::string artifact = artifact_of(in);
      if (const std::filesystem::path* dir = artifacts.find(artifact))
        spec.inputs.push_back(input_mount{in.name, artifact, *dir, clean_path(in.path.empty() ? in.name : in.path)});
    }
    for (const auto& c : config.caches) spec.caches.push_back(cache_mount{clean_path(c.path)});
    for (const auto& o : config.outputs) spec.outputs.push_back(output_mount{o.name, clean_path(o.path.empty() ? o.name : o.path)});
    return spec;
  }

  // Chooses a worker from `infos` (the workers' descriptions, taken once by the caller); while waiting
  // for capacity the descriptions are refreshed, so `infos` always matches the returned index.
  template <class Delegate>
  result<std::size_t> place(const container_spec& spec, Delegate& delegate, std::stop_token stop,
                            std::vector<worker_info>& infos, const std::vector<std::string>& secrets) {
    auto candidates = placement::satisfying_workers(infos, spec);
    if (!candidates) return fail(candidates.error());
    std::mt19937_64 rng(options_.seed);
    bool first_attempt = true;
    auto choose = [&]() -> std::optional<std::size_t> {
      if (!std::exchange(first_attempt, false)) infos = workers_.infos();
      return placement::choose_worker(strategy_, std::span<const worker_info>(infos), *candidates, spec, rng);
    };
    if (auto first = choose()) return *first;
    if constexpr (!placement::modifies_active_tasks_v<PlacementStrategy>) {
      return fail(errc::no_workers, "no workers");  // only limit-active-tasks waits for capacity
    }
    return placement::wait_for_worker(
        choose, stop, [&](std::string_view msg) { delegate.out(vars::redact(msg, secrets)); }, options_.poll_interval,
        options_.status_interval);
  }

  template <class Artifacts>
  void register_outputs(const task_config& config, const run_result& ran, Artifacts& artifacts) {
    for (const auto& [name, path] : detail::output_names(plan_, config)) {
      auto it = ran.outputs.find(path);
      if (it != ran.outputs.end()) artifacts.add(name, it->second);
    }
  }

  // The pieces of every credential value interpolated so far, as the redactor wants them.
  [[nodiscard]] std::vector<std::string> secret_pieces() const {
    if (!options_.credentials) return {};
    return vars::redaction_pieces(options_.credentials->values());
  }

  task_plan plan_;
  ConfigSource source_;
  ImageResolver resolver_;
  PlacementStrategy strategy_;
  Workers& workers_;
  step_options options_;
  Timer timer_;
};

}  // namespace taskstep::step
