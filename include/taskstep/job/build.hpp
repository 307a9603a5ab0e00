#pragma once
//! \file
//! `job::run_job`: a pipeline job's build on this machine (what `taskstep run` runs). The job's plan
//! (job/pipeline.hpp) is evaluated by the plan layer with Concourse 6.7's semantics; its leaves run
//! here, against one build state (one artifact repository, the build's local vars):
//!
//! - `get:` registers an artifact named after the step: the directory `-i NAME=DIR` gave (git trees
//!   staged as fly uploads them); for a `git` resource whose `uri` is a remote of the current
//!   directory's repository, that repository; for `registry-image` / `docker-image`, the image pulled
//!   by `request.fetch_image` (rootfs/ + metadata.json, so `image: NAME` works); without a fetcher
//!   (the local worker ignores images) an empty directory; for `time`, an empty directory. Any other
//!   type without `-i` refuses the build before it starts, naming the flag. `version`, `passed`, `trigger`, `params` and `tags` of a get do not apply: one note says so.
//! - `task:` is `basic_task_step` on the build's worker, with 6.7's config chain: `file:` from an
//!   artifact (then the step's `vars:`, unknown vars left) or `config:`, the step's `params:`, then
//!   `((vars))` from the credentials and the build's local vars (`((.:name))` set by `load_var` or
//!   `across`), validated. Outputs (with output_mapping) are registered for later steps; caches are
//!   keyed by the job's name.
//! - `load_var:` is `plan::load_var`; `put:` and `set_pipeline:` do not run: one line says which
//!   artifacts they would have used.
//!
//! Every leaf gets `step_started` and `step_finished` events (with its id and label); its task events
//! and output carry the same `step_info`. Calls into the delegate are serialised (parallel steps).

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "taskstep/artifact/directory_repository.hpp"
#include "taskstep/artifact/staging.hpp"
#include "taskstep/build/detail/capture.hpp"
#include "taskstep/build/inputs.hpp"
#include "taskstep/build/outcome.hpp"
#include "taskstep/build/outputs.hpp"
#include "taskstep/build/paths.hpp"
#include "taskstep/build/request.hpp"
#include "taskstep/config/config.hpp"
#include "taskstep/image/concourse_resolver.hpp"
#include "taskstep/job/pipeline.hpp"
#include "taskstep/placement/placement.hpp"
#include "taskstep/plan/plan.hpp"
#include "taskstep/step/task_step.hpp"
#include "taskstep/vars/variables.hpp"

namespace taskstep::job {

//! Which step an event is about. The build's own lines (e.g. across's warnings) have an empty id.
struct step_info {
  std::string id;     //!< stable: the step's path in the job (`plan.do[0].get(src)`)
  std::string label;  //!< `get src`, `task unit`
  std::string kind;   //!< get, put, task, set_pipeline, load_var
  std::string name;
  bool parallel = false;  //!< runs beside other steps (in_parallel, aggregate, across)
};

//! The events of a job build: a step's start and end, a line about a step, and the task events
//! (`step::task_delegate`'s, each with the step it is about).
template <class D>
concept job_delegate = requires(D& d, const step_info& s, const plan::outcome& o, const task_config& c,
                                std::string_view text, int status) {
  d.step_started(s);
  d.step_finished(s, o);
  d.note(s, text);
  d.initializing(s, c);
  d.selected_worker(s, text);
  d.starting(s, c);
  d.finished(s, status);
  d.errored(s, text);
  d.out(s, text);
  d.err(s, text);
};

#define TASKSTEP_JOB_DELEGATE_MESSAGE                                                                        \
  "taskstep: a job delegate needs step_started(step_info), step_finished(step_info, plan::outcome), "        \
  "note(step_info, text), and the task events initializing/selected_worker/starting/finished/errored/out/err " \
  "each taking the step_info first"

//! Pulls an image resource into a directory (rootfs/ + metadata.json); progress lines go to the callable.
using image_fetcher =
    std::function<result<std::filesystem::path>(const image_resource&, const std::function<void(const std::string&)>&)>;

//! What a job build is asked to do besides the plan.
struct job_request {
  std::map<std::string, std::filesystem::path> inputs;  //!< `-i NAME=DIR`: the artifact of get step NAME
  std::vector<build::named_path> outputs;               //!< `-o NAME=DIR`: any artifact, copied out at the end
  std::filesystem::path cwd;                            //!< where `git` resources may come from; empty = nowhere
  bool include_ignored = false;                         //!< stage git-ignored files too
  std::string job;                                      //!< cache key (the job's name)
  std::optional<std::chrono::nanoseconds> timeout;      //!< the whole build's (`--timeout`); a failure, as a step's
  vars::static_vars secrets;                            //!< `--secret`, `--secrets-file`
  std::shared_ptr<vars::credential_tracker> credentials = std::make_shared<vars::credential_tracker>();
  image_fetcher fetch_image;                            //!< empty: images are not pulled
  step::step_options options;                           //!< for every task step (credentials are set here)
  std::filesystem::path runc_state_root = "/run/taskstep-runc";  //!< for the start-up reaper
  // TODO(keep): a `keep` option (keep a failed step's run) goes here when `--keep` lands.
};

//! How a job build ended: 0 succeeded, 1 failed, 2 errored, 3 aborted.
inline build::build_outcome outcome_of(const plan::outcome& o) {
  switch (o.status) {
    case plan::status::succeeded: return {build::exit_succeeded, "succeeded"};
    case plan::status::failed: return {1, "failed"};
    case plan::status::aborted: return {build::exit_aborted, "aborted"};
    case plan::status::errored: break;
  }
  return {build::exit_errored, "errored"};
}

namespace detail {

// `scheme://user@host:port/path.git`, `user@host:path.git`, `/local/path` → comparable `host/path`.
inline std::string normal_git_url(std::string u) {
  while (!u.empty() && (u.back() == '/' || u.back() == ' ' || u.back() == '\n')) u.pop_back();
  if (u.size() > 4 && u.ends_with(".git")) u.resize(u.size() - 4);
  std::string host, path;
  if (auto scheme = u.find("://"); scheme != std::string::npos) {
    std::string rest = u.substr(scheme + 3);
    auto slash = rest.find('/');
    host = rest.substr(0, slash);
    path = slash == std::string::npos ? "" : rest.substr(slash + 1);
    if (auto at = host.rfind('@'); at != std::string::npos) host = host.substr(at + 1);
    if (auto colon = host.find(':'); colon != std::string::npos) host = host.substr(0, colon);
  } else if (auto colon = u.find(':'); colon != std::string::npos && u.find('/') > colon) {
    host = u.substr(0, colon);
    path = u.substr(colon + 1);
    if (auto at = host.rfind('@'); at != std::string::npos) host = host.substr(at + 1);
  } else {
    return u;  // a local path
  }
  for (auto& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  while (!path.empty() && path.front() == '/') path.erase(0, 1);
  return host + "/" + path;
}

// The top of the git working tree at `cwd` when one of its remotes is `uri`; empty otherwise.
inline std::filesystem::path git_checkout_of(const std::filesystem::path& cwd, const std::string& uri) {
  if (cwd.empty() || uri.empty()) return {};
  auto remotes = taskstep::build::detail::capture({"git", "-C", cwd.string(), "config", "--get-regexp", "^remote\\..*\\.url$"});
  if (!remotes) return {};
  const std::string want = normal_git_url(uri);
  std::size_t start = 0;
  bool found = false;
  while (start < remotes->size()) {
    auto end = remotes->find('\n', start);
    if (end == std::string::npos) end = remotes->size();
    std::string line = remotes->substr(start, end - start);
    if (auto sp = line.find(' '); sp != std::string::npos && normal_git_url(line.substr(sp + 1)) == want) found = true;
    start = end + 1;
  }
  if (!found) return {};
  auto top = taskstep::build::detail::capture({"git", "-C", cwd.string(), "rev-parse", "--show-toplevel"});
  if (!top) return {};
  while (!top->empty() && top->back() == '\n') top->pop_back();
  return *top;
}

// A config source behind std::function, so one basic_task_step type serves file: and config: tasks.
struct any_source {
  std::function<result<task_config>()> fetch_config;
  std::function<std::vector<std::string>()> current_warnings;
  result<task_config> fetch() { return fetch_config(); }
  [[nodiscard]] std::vector<std::string> warnings() const { return current_warnings(); }
};
template <class S>
any_source erase_source(S s) {
  auto shared = std::make_shared<S>(std::move(s));
  return {[shared] { return shared->fetch(); }, [shared] { return std::vector<std::string>(shared->warnings()); }};
}

// The delegate one step's task sees: adds the step_info, serialises the calls.
template <class D>
class step_events {
 public:
  step_events(D& d, std::mutex& m, const step_info& info) : d_(d), m_(m), info_(info) {}
  void initializing(const task_config& c) { std::lock_guard l(m_); d_.initializing(info_, c); }
  void selected_worker(std::string_view n) { std::lock_guard l(m_); d_.selected_worker(info_, n); }
  void starting(const task_config& c) { std::lock_guard l(m_); d_.starting(info_, c); }
  void finished(int s) { std::lock_guard l(m_); d_.finished(info_, s); }
  void errored(std::string_view t) { std::lock_guard l(m_); d_.errored(info_, t); }
  void out(std::string_view t) { std::lock_guard l(m_); d_.out(info_, t); }
  void err(std::string_view t) { std::lock_guard l(m_); d_.err(info_, t); }

 private:
  D& d_;
  std::mutex& m_;
  const step_info& info_;
};

}  // namespace detail

//! Runs the leaves of one job build on `Worker` (a `worker::worker_client`), reporting to `D`.
template <class Worker, class D>
class leaf_runner {
  static_assert(job_delegate<D>, TASKSTEP_JOB_DELEGATE_MESSAGE);

 public:
  using state_type = plan::basic_state<artifact::directory_repository>;

  leaf_runner(Worker& worker, D& d, const job_request& request) : worker_(worker), d_(d), request_(request) {}

  //! Runs one leaf with its events.
  plan::outcome run(const leaf& l, state_type& state, std::stop_token stop) {
    step_info info{l.id, l.label, std::string(kind_name(l.step)), {}, l.parallel};
    std::visit([&](const auto& s) { info.name = name_of(s); }, l.step);
    {
      std::lock_guard lock(mutex_);
      d_.step_started(info);
    }
    plan::outcome o = std::visit([&](const auto& s) { return run_step(s, info, state, stop); }, l.step);
    std::lock_guard lock(mutex_);
    d_.step_finished(info, o);
    return o;
  }

  //! The delegate the build's own lines go to (across's warnings): a step_info with no id.
  detail::step_events<D> build_events() { return detail::step_events<D>(d_, mutex_, build_info_); }

 private:
  static std::string name_of(const get_step& s) { return s.name; }
  static std::string name_of(const put_step& s) { return s.name; }
  static std::string name_of(const task_step& s) { return s.name; }
  static std::string name_of(const set_pipeline_step& s) { return s.name; }
  static std::string name_of(const load_var_step& s) { return s.spec.name; }

  void note(const step_info& info, const std::string& text) {
    std::lock_guard lock(mutex_);
    d_.note(info, text);
  }
  plan::outcome error(const step_info& info, const std::string& text) {
    {
      std::lock_guard lock(mutex_);
      d_.errored(info, text);
    }
    return plan::errored(text);
  }

  plan::outcome stage(const step_info& info, const std::string& name, const std::filesystem::path& dir,
                      state_type& state, const std::stop_token& stop) {
    build::input_dirs one{{name, dir}};
    auto staged = build::stage_inputs(one, request_.include_ignored, stop);
    if (!staged) {
      if (staged.error().code() == errc::cancelled) return plan::aborted();
      return error(info, staged.error().message());
    }
    state.artifacts().add(name, staged->dirs.at(name));
    std::lock_guard lock(mutex_);
    staged_.push_back(std::make_unique<build::staged_inputs>(std::move(*staged)));
    return plan::succeeded();
  }

  plan::outcome run_step(const get_step& s, const step_info& info, state_type& state, const std::stop_token& stop) {
    namespace fs = std::filesystem;
    if (auto it = request_.inputs.find(s.name); it != request_.inputs.end()) {
      note(info, "from " + it->second.string() + " (-i " + s.name + ")");
      return stage(info, s.name, it->second, state, stop);
    }
    if (s.type == "git") {
      const value* uri = s.source.is_mapping() ? s.source.find(value("uri")) : nullptr;
      const std::string u = uri != nullptr && uri->is_string() ? uri->as_string() : std::string();
      auto top = detail::git_checkout_of(request_.cwd, u);
      if (!top.empty()) {
        note(info, "from the current repository " + top.string() + " (a remote is " + u + ")");
        return stage(info, s.name, top, state, stop);
      }
    }
    if (s.type == "registry-image" || s.type == "docker-image") {
      if (!request_.fetch_image) {
        auto dir = scratch_dir(info);
        if (!dir) return error(info, dir.error().message());
        note(info, "image not pulled: the local worker runs tasks on this host and ignores images");
        state.artifacts().add(s.name, *dir);
        return plan::succeeded();
      }
      image_resource r;
      r.type = s.type;
      r.source.data = s.source;
      auto fetched = request_.fetch_image(r, [&](const std::string& line) { note(info, line); });
      if (!fetched) return error(info, fetched.error().message());
      state.artifacts().add(s.name, *fetched);
      return plan::succeeded();
    }
    if (s.type == "time") {
      auto dir = scratch_dir(info);
      if (!dir) return error(info, dir.error().message());
      note(info, "an empty directory: a time resource has no versions here");
      state.artifacts().add(s.name, *dir);
      return plan::succeeded();
    }
    return error(info, "the " + s.type + " resource '" + s.resource + "' cannot be fetched on this machine: pass -i " +
                           s.name + "=DIR to give the get step '" + s.name + "' a local directory");
  }

  result<std::filesystem::path> scratch_dir(const step_info& info) {
    std::lock_guard lock(mutex_);
    const auto path = run_root_ / ("taskstep-artifact-" + std::to_string(++scratch_count_));
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec) return fail(errc::io, info.label + ": could not create " + path.string() + ": " + ec.message());
    return path;
  }

  // The artifacts a put would have used: its `inputs:` list, those `detect` finds in its params, or all.
  std::vector<std::string> put_inputs(const put_step& s, state_type& state) {
    std::set<std::string> present;
    state.artifacts().visit([&](const artifact::directory_repository& r) {
      for (const auto& [name, dir] : r.artifacts()) present.insert(name);
    });
    std::vector<std::string> out;
    if (s.inputs.is_sequence()) {
      for (const auto& v : s.inputs.as_sequence())
        if (v.is_string()) out.push_back(v.as_string());
      return out;
    }
    if (s.inputs.is_string() && s.inputs.as_string() == "detect") {
      std::set<std::string> found;
      std::function<void(const value&)> walk = [&](const value& v) {
        if (v.is_string()) {
          const auto& t = v.as_string();
          const std::string first = t.substr(0, t.find('/'));
          if (present.count(first)) found.insert(first);
        } else if (v.is_sequence()) {
          for (const auto& e : v.as_sequence()) walk(e);
        } else if (v.is_mapping()) {
          for (const auto& e : v.as_mapping()) walk(e.val);
        }
      };
      walk(s.params);
      return {found.begin(), found.end()};
    }
    return {present.begin(), present.end()};
  }

  static std::string list_text(const std::vector<std::string>& names) {
    if (names.empty()) return "none";
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
    return out;
  }

  plan::outcome run_step(const put_step& s, const step_info& info, state_type& state, const std::stop_token&) {
    note(info, "skipped: puts do not run locally (resource " + s.resource + "); it would have used the artifacts: " +
                   list_text(put_inputs(s, state)));
    return plan::succeeded();
  }

  plan::outcome run_step(const set_pipeline_step& s, const step_info& info, state_type&, const std::stop_token&) {
    std::vector<std::string> used;
    auto artifact_of = [](const std::string& f) { return f.substr(0, f.find('/')); };
    used.push_back(artifact_of(s.file));
    for (const auto& f : s.var_files)
      if (std::find(used.begin(), used.end(), artifact_of(f)) == used.end()) used.push_back(artifact_of(f));
    note(info, "skipped: set_pipeline does not run locally; it would have used " + s.file + " (artifacts: " +
                   list_text(used) + ")");
    return plan::succeeded();
  }

  plan::outcome run_step(const load_var_step& s, const step_info& info, state_type& state, const std::stop_token& stop) {
    detail::step_events<D> events(d_, mutex_, info);
    plan::load_var step(s.spec);
    return step.run(state, events, stop);
  }

  plan::outcome run_step(const task_step& s, const step_info& info, state_type& state, const std::stop_token& stop) {
    task_plan p;
    p.name = s.name;
    p.privileged = s.privileged;
    // One worker runs every step here: worker tags cannot select anything, so they are dropped.
    if (!s.tags.empty()) note(info, "tags do not apply locally (one worker runs every step): " + list_text(s.tags));
    p.config = s.config;
    p.config_path = s.file;
    p.input_mapping = s.input_mapping;
    p.output_mapping = s.output_mapping;
    p.image = s.image;
    p.job = request_.job;
    // 6.7's chain (atc/exec/task_step.go): the source, the step's vars (unknown ones left), the step's
    // params, then the build's variables (credentials and local vars), validated.
    auto build_vars = vars::multi_vars(state.locals_ref(),
                                       vars::tracked_vars<vars::static_vars>(request_.secrets, request_.credentials));
    detail::any_source source;
    if (!s.file.empty()) {
      auto file = config::file_source(s.file, state.artifacts());
      if (s.vars.is_mapping()) {
        vars::static_vars plan_vars;
        for (const auto& e : s.vars.as_mapping()) plan_vars.set(detail::key_text(e.key), e.val);
        source = detail::erase_source(std::move(file) | config::interpolate(std::move(plan_vars), false) |
                                      config::override_params(s.params) | config::interpolate(build_vars) |
                                      config::validating());
      } else {
        source = detail::erase_source(std::move(file) | config::override_params(s.params) |
                                      config::interpolate(build_vars) | config::validating());
      }
    } else {
      source = detail::erase_source(config::static_source(s.config) | config::override_params(s.params) |
                                    config::interpolate(build_vars) | config::validating());
    }
    step::step_options options = request_.options;
    options.credentials = request_.credentials;
    step::single_worker workers(worker_);
    step::basic_task_step task(std::move(p), std::move(source), image::concourse_resolver{}, placement::volume_locality{},
                               workers, std::move(options));
    detail::step_events<D> events(d_, mutex_, info);
    return plan::task<decltype(task)>(std::move(task)).run(state, events, stop);
  }

  Worker& worker_;
  D& d_;
  const job_request& request_;
  std::mutex mutex_;
  step_info build_info_;
  std::vector<std::unique_ptr<build::staged_inputs>> staged_;
  std::size_t scratch_count_ = 0;

 public:
  //! Where placeholder artifacts go (the build's run root).
  void set_run_root(std::filesystem::path dir) { run_root_ = std::move(dir); }

 private:
  std::filesystem::path run_root_;
};

namespace detail {

// A job leaf bound to its runner: what the plan tree evaluates.
template <class R>
struct bound_leaf {
  const leaf* step;
  R* runner;
  template <class State, class DD>
  plan::outcome run(State& state, DD&, std::stop_token stop) const {
    return runner->run(*step, state, stop);
  }
};

template <class R>
plan::basic_node<bound_leaf<R>> bind(const plan::basic_node<leaf>& n, R& r) {
  using out = plan::basic_node<bound_leaf<R>>;
  using k = typename out::kinds;
  using in = plan::basic_node<leaf>::kinds;
  auto all = [&](const std::vector<plan::basic_node<leaf>>& v) {
    std::vector<out> o;
    o.reserve(v.size());
    for (const auto& c : v) o.push_back(bind(c, r));
    return o;
  };
  return std::visit(
      [&](const auto& x) -> out {
        using X = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<X, leaf>) return {bound_leaf<R>{&x, &r}};
        else if constexpr (std::is_same_v<X, in::do_node>) return {typename k::do_node{all(x.steps)}};
        else if constexpr (std::is_same_v<X, in::in_parallel_node>)
          return {typename k::in_parallel_node{all(x.steps), x.limit, x.fail_fast}};
        else if constexpr (std::is_same_v<X, in::try_node>) return {typename k::try_node{all(x.step)}};
        else if constexpr (std::is_same_v<X, in::hook_node>) return {typename k::hook_node{x.kind, all(x.step)}};
        else if constexpr (std::is_same_v<X, in::attempts_node>) return {typename k::attempts_node{x.count, all(x.step)}};
        else if constexpr (std::is_same_v<X, in::timeout_node>) return {typename k::timeout_node{x.duration, all(x.step)}};
        else if constexpr (std::is_same_v<X, in::across_node>) return {typename k::across_node{x.vars, x.fail_fast, all(x.step)}};
        else return {typename k::load_var_node{x.spec}};
      },
      n.kind);
}

// The worker a factory made: held by value or by a unique_ptr.
template <class W>
W& worker_of(W& w) {
  return w;
}
template <class W>
W& worker_of(std::unique_ptr<W>& w) {
  return *w;
}

// Removes the run root at scope exit.
struct run_root_remover {
  std::filesystem::path dir;
  bool keep = false;
  ~run_root_remover() {
    if (dir.empty()) return;
    if (keep) build::unclaim_private_dir(dir);
    else (void)artifact::remove_tree(dir);
  }
};

}  // namespace detail

//! Where a get step of a job would take its artifact from on this machine.
struct get_need {
  std::string name;      //!< the step's name: the artifact, and the `-i` name
  std::string resource;
  std::string type;
  enum class from { input, current_repository, image, empty } source = from::input;
  std::filesystem::path repository;  //!< for `current_repository`
};

//! What each get of `job` needs (what `taskstep run -c P` lists): `-i NAME=DIR`, unless it is a git
//! resource of the repository at `cwd`, an image, or a `time` resource (an empty directory).
inline std::vector<get_need> needs_of(const decoded_job& job, const std::filesystem::path& cwd) {
  std::vector<get_need> out;
  for (const leaf* l : leaves_of(job.root)) {
    const auto* g = std::get_if<get_step>(&l->step);
    if (g == nullptr) continue;
    get_need n{g->name, g->resource, g->type, get_need::from::input, {}};
    if (g->type == "registry-image" || g->type == "docker-image") {
      n.source = get_need::from::image;
    } else if (g->type == "time") {
      n.source = get_need::from::empty;
    } else if (g->type == "git") {
      const value* uri = g->source.is_mapping() ? g->source.find(value("uri")) : nullptr;
      n.repository = detail::git_checkout_of(cwd, uri != nullptr && uri->is_string() ? uri->as_string() : std::string());
      if (!n.repository.empty()) n.source = get_need::from::current_repository;
    }
    out.push_back(std::move(n));
  }
  return out;
}

//! True when a task of `job` names an image (`image:`, or `image_resource` / `rootfs_uri` in `config:`);
//! a `file:` task's config is only known when it runs.
inline bool uses_images(const decoded_job& job) {
  for (const leaf* l : leaves_of(job.root)) {
    const auto* t = std::get_if<task_step>(&l->step);
    if (t == nullptr) continue;
    if (!t->image.empty()) return true;
    if (t->config && (t->config->image_resource || !t->config->rootfs_uri.empty())) return true;
  }
  return false;
}

//! The one note about what gets say that does not apply locally (`get src: passed, trigger`), or empty.
inline std::string ignored_get_fields(const decoded_job& job) {
  std::string parts;
  for (const leaf* l : leaves_of(job.root)) {
    const auto* g = std::get_if<get_step>(&l->step);
    if (g == nullptr || g->ignored.empty()) continue;
    std::string fields;
    for (const auto& f : g->ignored) fields += (fields.empty() ? "" : ", ") + f;
    parts += (parts.empty() ? "" : "; ") + ("get " + g->name + ": " + fields);
  }
  if (parts.empty()) return {};
  return "version, passed, trigger, params and tags of get steps do not apply locally (" + parts + ")";
}

//! Checks, before anything runs, that every get that needs `-i` has one, and `-i` names against the
//! job's gets and each path (exists, a directory).
inline result<void> check_job_inputs(const decoded_job& job, const job_request& request) {
  std::string missing;
  for (const auto& n : needs_of(job, request.cwd))
    if (n.source == get_need::from::input && !request.inputs.count(n.name))
      missing += (missing.empty() ? "" : ", ") + ("-i " + n.name + "=DIR (" + n.type + " resource " + n.resource + ")");
  if (!missing.empty())
    return fail(errc::usage, "job " + job.name + " gets artifacts this machine cannot fetch: pass " + missing);
  std::set<std::string> gets;
  for (const leaf* l : leaves_of(job.root))
    if (const auto* g = std::get_if<get_step>(&l->step)) gets.insert(g->name);
  for (const auto& [name, dir] : request.inputs) {
    if (!gets.count(name)) {
      std::string names;
      for (const auto& g : gets) names += (names.empty() ? "" : ", ") + g;
      return fail(errc::usage, "unknown input `" + name + "`: job " + job.name + " has no get step of that name (its gets: " +
                                   (names.empty() ? "none" : names) + ")");
    }
    std::error_code ec;
    const auto st = std::filesystem::status(dir, ec);
    if (!std::filesystem::exists(st)) return fail(errc::usage, "path '" + dir.string() + "' does not exist");
    if (!std::filesystem::is_directory(st)) return fail(errc::usage, dir.string() + " not a folder");
  }
  return {};
}

//! Runs the build of `job` (see the file comment). `make_worker(run_root) -> result<W>` (or
//! `result<std::unique_ptr<W>>`) makes the one worker every task runs on; `d` models `job_delegate`.
//! Returns the outcome (exit code and status word; no word when the build was refused).
template <class MakeWorker, class D>
build::build_outcome run_job(const decoded_job& job, const job_request& request, MakeWorker&& make_worker, D& d,
                             std::stop_token stop = {}) {
  static_assert(job_delegate<D>, TASKSTEP_JOB_DELEGATE_MESSAGE);
  const step_info build_info;
  if (auto ok = check_job_inputs(job, request); !ok) {
    d.errored(build_info, ok.error().message());
    return build::refused(build::exit_errored);
  }
  std::vector<std::pair<std::string, std::filesystem::path>> targets;
  for (const auto& o : request.outputs) targets.emplace_back(o.name, build::detail::comparable(o.path));
  worker::reap_options reap;
  reap.runc_state_root = request.runc_state_root;
  (void)build::reap_stale_private_dirs(build::temp_root(), reap);
  detail::run_root_remover root;
  auto run_root = build::make_run_root();
  if (!run_root) {
    d.errored(build_info, run_root.error().message());
    return build::refused(build::exit_errored);
  }
  root.dir = *run_root;
  auto made = make_worker(root.dir);
  if (!made) {
    d.errored(build_info, made.error().message());
    return build::refused(build::exit_errored);
  }
  auto& worker = detail::worker_of(*made);
  using worker_type = std::remove_reference_t<decltype(worker)>;

  artifact::directory_repository artifacts;
  plan::basic_state<artifact::directory_repository> state(artifacts, request.credentials);
  leaf_runner<worker_type, D> runner(worker, d, request);
  runner.set_run_root(root.dir);
  auto tree = detail::bind(job.root, runner);
  auto events = runner.build_events();
  auto evaluate = [&](const std::stop_token& st) { return plan::evaluate(tree, state, events, st); };
  plan::outcome o = request.timeout ? plan::detail::run_timeout(*request.timeout, evaluate, stop) : evaluate(stop);
  build::build_outcome out = outcome_of(o);

  // -o: any artifact of the build, copied out whatever happened (as execute's outputs).
  for (const auto& [name, target] : targets) {
    const std::filesystem::path* dir = artifacts.find(name);
    if (dir == nullptr) {
      std::string names;
      for (const auto& [n, p] : artifacts.artifacts()) names += (names.empty() ? "" : ", ") + n;
      d.errored(build_info, "output `" + name + "`: the build has no artifact of that name (artifacts: " +
                                (names.empty() ? "none" : names) + ")");
      if (out.exit_code != build::exit_aborted) out = {build::exit_errored, "errored"};
      continue;
    }
    auto copied = artifact::copy_tree_into(*dir, target);
    if (!copied) {
      d.errored(build_info, "downloading output `" + name + "` to " + target.string() + " failed: " +
                                copied.error().message() + "; the output is kept in " + dir->string());
      root.keep = true;
      if (out.exit_code != build::exit_aborted) out = {build::exit_errored, "errored"};
    }
  }
  return out;
}

}  // namespace taskstep::job
