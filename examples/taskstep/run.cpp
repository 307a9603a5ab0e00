// `taskstep run -c PIPELINE.yml -j JOB`: flags → one call into the job build layer
// (taskstep/job/build.hpp) on the chosen worker → exit code (0 succeeded, 1 failed, 2 errored,
// 3 aborted). Without -j, lists the pipeline's jobs and what each needs. run_<worker>.cpp
// instantiate the build for one worker type each.

#include "run.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <stop_token>

#include "cli_common.hpp"
#include "run_call.hpp"
#include "run_delegate.hpp"
#include "taskstep/build/interrupts.hpp"
#include "taskstep/build/paths.hpp"
#include "taskstep/build/request.hpp"
#include "taskstep/config/config.hpp"
#include "taskstep/core/duration.hpp"
#include "taskstep/job/pipeline.hpp"

namespace taskstep_cli {

namespace fs = std::filesystem;
using namespace taskstep;

void add_run_flags(CLI::App& cmd, run_args& a) {
  cmd.add_option("-c,--config", a.config, "pipeline file (resources, resource_types, jobs)")->required();
  cmd.add_option("-j,--job", a.job, "JOB: the job to run (without it: list the jobs and what each needs)");
  cmd.add_option("-i,--input", a.inputs, "NAME=DIR: a local directory for the get step NAME")->take_all();
  cmd.add_option("-o,--output", a.outputs, "NAME=DIR: copy the build's artifact NAME into a local directory at the end")
      ->take_all();
  cmd.add_option("-v,--var", a.vars.strings, "NAME=STRING: a pipeline variable for ((NAME)), as fly set-pipeline -v")
      ->take_all();
  cmd.add_option("-y,--yaml-var", a.vars.yamls, "NAME=YAML: a YAML-typed pipeline variable")->take_all();
  cmd.add_option("-l,--load-vars-from", a.vars.files, "FILE: a YAML file of pipeline variables (later files win)")
      ->take_all();
  cmd.add_option("--secret", a.secrets, "NAME=VALUE: a credential var (interpolated when a step runs, and redacted)")
      ->take_all();
  cmd.add_option("--secrets-file", a.secret_files, "FILE: a YAML file of credential vars")->take_all();
  cmd.add_flag("--include-ignored", a.include_ignored, "stage git-ignored files of inputs too");
  cmd.add_option("--cache-dir", a.cache_dir, "DIR: where job caches live (default: ~/.cache/taskstep), keyed by the job");
  cmd.add_option("--timeout", a.timeout, "DURATION: fail the build after this long (Go syntax: 90s, 1h30m)");
  cmd.add_option("--grace", a.grace, "DURATION: SIGTERM → SIGKILL delay on abort (default 10s)");
  cmd.add_option("--worker", a.worker,
                 "worker type: auto (default: oci when a task names an image and containers can run here, else local), "
                 "local (host processes) or oci (runc containers)")
      ->check(CLI::IsMember({"auto", "local", "oci"}));
  cmd.add_option("--image-store", a.image_store, "DIR: where pulled images live (default: <cache dir>/images)");
  cmd.add_option("--insecure-registry", a.insecure_registries, "HOST:PORT: a registry reached over plain http")->take_all();
  cmd.add_flag("--no-user-namespace", a.no_user_namespace, "oci: run unprivileged containers without a user namespace");
  cmd.add_option("--runc-root", a.runc_root, "oci: DIR for runc's container state (default /run/taskstep-runc)");
  // TODO(keep): `--keep` (keep the failed step's run for `taskstep intercept`) is added here.
  cmd.add_flag("--json", a.json, "print one JSON event per line instead of human output");
  cmd.add_option("--color", a.color, "auto (default), always or never; --json is never coloured")
      ->check(CLI::IsMember({"auto", "always", "never"}));
}

namespace {

struct fatal {
  std::string message;
};

template <class T>
T value_or_fatal(result<T> r) {
  if (!r) throw fatal{r.error().message()};
  return std::move(*r);
}

// The delegate the worker-specific files see: forwards to run_delegate, compiled here only.
class forwarding_events final : public run_events {
 public:
  explicit forwarding_events(run_delegate& d) : d_(d) {}
  void step_started(const job::step_info& s) override { d_.step_started(s); }
  void step_finished(const job::step_info& s, const plan::outcome& o) override { d_.step_finished(s, o); }
  void note(const job::step_info& s, std::string_view t) override { d_.note(s, t); }
  void initializing(const job::step_info& s, const task_config& c) override { d_.initializing(s, c); }
  void selected_worker(const job::step_info& s, std::string_view n) override { d_.selected_worker(s, n); }
  void starting(const job::step_info& s, const task_config& c) override { d_.starting(s, c); }
  void finished(const job::step_info& s, int status) override { d_.finished(s, status); }
  void errored(const job::step_info& s, std::string_view m) override { d_.errored(s, m); }
  void out(const job::step_info& s, std::string_view t) override { d_.out(s, t); }
  void err(const job::step_info& s, std::string_view t) override { d_.err(s, t); }

 private:
  run_delegate& d_;
};

// `taskstep run -c P`: each job and what its gets need.
int list_jobs(const job::pipeline& p, const std::string& file) {
  if (p.jobs.empty()) {
    std::cout << file << " has no jobs\n";
    return exit_ok;
  }
  const fs::path cwd = fs::current_path();
  for (const auto& j : p.jobs) {
    std::cout << j.name << "\n";
    auto decoded = job::decode_job(p, j.name);
    if (!decoded) {
      std::cout << "  cannot run: " << decoded.error().message() << "\n";
      continue;
    }
    auto needs = job::needs_of(*decoded, cwd);
    if (needs.empty()) std::cout << "  needs no inputs\n";
    for (const auto& n : needs) {
      std::cout << "  get " << n.name << " (" << n.type << " resource " << n.resource << "): ";
      switch (n.source) {
        case job::get_need::from::image: std::cout << "pulled into the image store (--worker oci)\n"; break;
        case job::get_need::from::current_repository:
          std::cout << "from the current repository " << n.repository.string() << " (or -i " << n.name << "=DIR)\n";
          break;
        case job::get_need::from::empty: std::cout << "an empty directory (or -i " << n.name << "=DIR)\n"; break;
        case job::get_need::from::input: std::cout << "needs -i " << n.name << "=DIR\n"; break;
      }
    }
  }
  std::cout << "run one with: taskstep run -c " << file << " -j JOB\n";
  return exit_ok;
}

}  // namespace

int run_run(const CLI::App& cmd, run_args& a) {
  build::ignore_sigpipe();
  run_delegate delegate(a.json, colour_when_of(a.color));
  const job::step_info none;
  try {
    std::string text, err;
    if (!read_file(a.config, text, err)) throw fatal{"could not read file: " + err};
    vars::static_vars_list variables;
    try {
      variables = collect_vars(cmd, a.vars);
    } catch (const usage_error& e) {
      throw fatal{e.message};
    }
    auto pipeline = job::load_pipeline(text, variables);
    if (!pipeline) throw fatal{"invalid pipeline " + a.config + ":\n" + pipeline.error().message()};
    if (a.job.empty()) return list_jobs(*pipeline, a.config);
    const job::decoded_job decoded = value_or_fatal(job::decode_job(*pipeline, a.job));
    for (const auto& w : decoded.warnings) delegate.build_note("WARNING: " + w);
    if (auto note = job::ignored_get_fields(decoded); !note.empty()) delegate.build_note("note: " + note);

    job::job_request request;
    for (const auto& file : a.secret_files) {
      std::string body;
      if (!read_file(file, body, err)) throw fatal{"could not read secrets file (" + file + "): " + err};
      auto loaded = config::load_vars_file(body);
      if (!loaded) throw fatal{"could not unmarshal secrets file (" + file + "): " + loaded.error().message()};
      for (const auto& [k, v] : loaded->values()) request.secrets.set(k, v);
    }
    for (const auto& s : a.secrets) {
      auto pair = value_or_fatal(config::parse_var_pair(s));
      request.secrets.set(pair.name, pair.val);
    }
    for (auto& in : value_or_fatal(build::parse_pairs(a.inputs, "input"))) {
      std::error_code ec;
      request.inputs[in.name] = fs::absolute(in.path, ec).lexically_normal();
    }
    request.outputs = value_or_fatal(build::parse_pairs(a.outputs, "output"));
    request.cwd = fs::current_path();
    request.include_ignored = a.include_ignored;
    request.job = decoded.name;  // caches are keyed by the job's name
    if (!a.runc_root.empty()) request.runc_state_root = fs::absolute(a.runc_root);
    if (!a.timeout.empty()) {
      auto d = parse_duration(a.timeout);
      if (!d) throw fatal{"invalid --timeout: " + d.error().message()};
      request.timeout = *d;
    }
    auto grace = parse_duration(a.grace);
    if (!grace) throw fatal{"invalid --grace: " + grace.error().message()};

    bool oci = a.worker == "oci";
    if (a.worker == "auto" && job::uses_images(decoded)) {
      const std::string why = run_oci_unavailable(a);
      if (!why.empty())
        throw fatal{"a task of job " + decoded.name + " names an image, but containers cannot run here: " + why +
                    "\nto run it on this host without its image (as this user, with the host's files), pass --worker local"};
      oci = true;
    }

    // Concourse's base resource types, the pipeline's own, and those the job's inline configs name.
    std::vector<std::string> types = {"registry-image", "docker-image", "git", "s3", "time", "semver", "pool",
                                      "github-release", "hg", "cf", "bosh-io-release", "bosh-io-stemcell", "tracker",
                                      "mock"};
    for (const auto& t : pipeline->resource_types) types.push_back(t.name);
    for (const job::leaf* l : job::leaves_of(decoded.root))
      if (const auto* t = std::get_if<job::task_step>(&l->step); t != nullptr && t->config && t->config->image_resource)
        types.push_back(t->config->image_resource->type);

    std::stop_source stop, stop_now;
    forwarding_events events(delegate);
    run_call call{a,
                  decoded,
                  std::move(request),
                  a.cache_dir.empty() ? build::default_cache_dir() : fs::path(a.cache_dir),
                  std::chrono::duration_cast<std::chrono::milliseconds>(*grace),
                  events,
                  std::move(types),
                  stop.get_token(),
                  stop_now.get_token()};
    auto outcome = [&] {
      build::interrupt_options on;
      on.on_signal = [&delegate](int n) { delegate.build_note(n == 1 ? "\naborting..." : "stopping the tasks now"); };
      on.give_up = [] { std::_Exit(build::exit_aborted); };
      build::interrupts guard(stop, stop_now, std::move(on));
      delegate.abort_on_broken_stdout(stop);
      return oci ? run_oci(call) : run_local(call);
    }();
    if (outcome.started()) delegate.status(outcome.status);
    return outcome.exit_code;
  } catch (const fatal& f) {
    delegate.errored(none, f.message);
    return build::exit_errored;
  }
}

}  // namespace taskstep_cli
