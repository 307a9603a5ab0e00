// `taskstep execute`: flags (fly execute's) → one call into the one-off build layer
// (taskstep/build/one_off.hpp) on the chosen worker → exit code. This file reads the task file, vars
// and secrets and picks the worker; execute_<worker>.cpp instantiate the build for one worker type each.

#include "execute.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <stop_token>

#include "cli_common.hpp"
#include "delegate.hpp"
#include "execute_call.hpp"
#include "taskstep/build/interrupts.hpp"
#include "taskstep/build/paths.hpp"
#include "taskstep/build/request.hpp"
#include "taskstep/config/config.hpp"
#include "taskstep/core/duration.hpp"

namespace taskstep_cli {

namespace fs = std::filesystem;
using namespace taskstep;

constexpr int exit_aborted = build::exit_aborted;

void add_execute_flags(CLI::App& cmd, execute_args& a) {
  cmd.add_option("-c,--config", a.config, "task file to run")->required();
  cmd.add_option("-i,--input", a.inputs, "NAME=DIR: a local directory for a task input")->take_all();
  cmd.add_option("-m,--input-mapping", a.mappings, "NAME=ARTIFACT: map a task input to another artifact name")->take_all();
  cmd.add_option("-o,--output", a.outputs, "NAME=DIR: copy a task output into a local directory after the run")->take_all();
  add_var_flags(cmd, a.vars);
  cmd.add_option("--image", a.image, "DIR: an image artifact (rootfs/ + metadata.json)");
  cmd.add_flag("-p,--privileged", a.privileged, "run the task privileged");
  cmd.add_option("--tag", a.tags, "worker tag the task needs")->take_all();
  cmd.add_flag("--include-ignored", a.include_ignored, "stage git-ignored files of inputs too");
  cmd.add_option("--secret", a.secrets, "NAME=VALUE: a credential var (interpolated and redacted)")->take_all();
  cmd.add_option("--secrets-file", a.secret_files, "FILE: a YAML file of credential vars")->take_all();
  cmd.add_option("--job", a.job, "NAME: run as a build of this job (enables caches)");
  cmd.add_option("--cache-dir", a.cache_dir, "DIR: where job caches live (default: ~/.cache/taskstep)");
  cmd.add_option("--timeout", a.timeout, "DURATION: abort the task after this long (Go syntax: 90s, 1h30m)");
  cmd.add_option("--grace", a.grace, "DURATION: SIGTERM → SIGKILL delay on abort (default 10s)");
  cmd.add_option("--worker", a.worker,
                 "worker type: auto (default: oci for a task with an image when containers can run here, else local), "
                 "local (host processes), oci (runc containers) or slurm (srun job steps)")
      ->check(CLI::IsMember({"auto", "local", "oci", "slurm"}));
  cmd.add_option("--slurm-partition", a.slurm_partition, "slurm: the partition to run in (default: the cluster's default)");
  cmd.add_option("--slurm-shared-root", a.slurm_shared_root, "slurm: DIR on a filesystem the nodes share, for run directories");
  cmd.add_flag("--slurm-copy-rootfs", a.slurm_copy_rootfs, "slurm: copy images into the bundle (nodes other than this host)");
  cmd.add_option("--image-store", a.image_store, "DIR: where pulled images live (default: <cache dir>/images)");
  cmd.add_option("--insecure-registry", a.insecure_registries, "HOST:PORT: a registry reached over plain http")->take_all();
  cmd.add_flag("--no-user-namespace", a.no_user_namespace, "oci: run unprivileged containers without a user namespace");
  cmd.add_option("--runc-root", a.runc_root, "oci: DIR for runc's container state (default /run/taskstep-runc)");
  cmd.add_flag("--json", a.json, "print one JSON event per line instead of human output");
  cmd.add_option("--color", a.color,
                 "auto (default: colour a stream only when it is a terminal, NO_COLOR is unset and TERM is not dumb), "
                 "always (even on pipes and with NO_COLOR set) or never; --json is never coloured")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  add_concourse_flag(cmd, a.concourse);
  cmd.add_option("ARGS", a.args, "arguments appended to run.args (after --)");
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

// The delegate the worker-specific files see: forwards to cli_delegate, compiled here only.
class forwarding_events final : public events {
 public:
  explicit forwarding_events(cli_delegate& d) : d_(d) {}
  void initializing(const task_config& c) override { d_.initializing(c); }
  void selected_worker(std::string_view name) override { d_.selected_worker(name); }
  void starting(const task_config& c) override { d_.starting(c); }
  void finished(int status) override { d_.finished(status); }
  void errored(std::string_view message) override { d_.errored(message); }
  void out(std::string_view s) override { d_.out(s); }
  void err(std::string_view s) override { d_.err(s); }

 private:
  cli_delegate& d_;
};

// Hides the config chain's type from the worker-specific files.
template <class Source>
task_source erase(Source source) {
  auto shared = std::make_shared<Source>(std::move(source));
  return {[shared] { return shared->fetch(); }, [shared] { return std::vector<std::string>(shared->warnings()); }};
}

build::worker_choice worker_choice_of(const std::string& flag) {
  if (flag == "local") return build::worker_choice::local;
  if (flag == "oci") return build::worker_choice::oci;
  if (flag == "slurm") return build::worker_choice::slurm;
  return build::worker_choice::automatic;
}

}  // namespace

int run_execute(const CLI::App& cmd, execute_args& a) {
  build::ignore_sigpipe();  // EPIPE on stdout is an abort (cli_delegate::emit), not a silent death
  cli_delegate delegate(a.json, colour_when_of(a.color));
  try {
    // The config as fly reads it: decoded and validated, args appended, env overriding params.
    std::string text, err;
    if (!read_file(a.config, text, err)) throw fatal{"could not read file: " + err};
    task_config config = value_or_fatal(parse_task_file(a.concourse, text));
    // 8.0 made run.path optional: Concourse then runs the image's ENTRYPOINT/CMD. taskstep does not
    // read them yet (docs/compatibility.md), so it stops here with Concourse's words for "neither".
    // Interpolation cannot fill an absent path, so the parsed file decides.
    if (config.run.path.empty())
      throw fatal{"No executable defined for task. Specify an executable to run in either the task config "
                  "(run.path) or as an ENTRYPOINT/CMD in the container image."};
    for (const auto& arg : a.args) config.run.args.push_back(arg);
    task_env env_overrides;
    for (const auto& [key, value] : config.params)
      if (const char* v = std::getenv(key.c_str())) env_overrides[key] = v;

    vars::static_vars_list variables;
    task_env params;
    try {
      variables = collect_vars(cmd, a.vars);
      params = collect_params(a.vars);
    } catch (const usage_error& e) {
      throw fatal{e.message};
    }
    auto tracker = std::make_shared<vars::credential_tracker>();
    vars::static_vars secrets;
    for (const auto& file : a.secret_files) {
      std::string body;
      if (!read_file(file, body, err)) throw fatal{"could not read secrets file (" + file + "): " + err};
      auto loaded = config::load_vars_file(body);
      if (!loaded) throw fatal{"could not unmarshal secrets file (" + file + "): " + loaded.error().message()};
      for (const auto& [k, v] : loaded->values()) secrets.set(k, v);
    }
    for (const auto& s : a.secrets) {
      auto pair = value_or_fatal(config::parse_var_pair(s));
      secrets.set(pair.name, pair.val);
    }

    // The request: -m, -i, -o pairs, the image, the current directory.
    build::one_off_request request;
    request.input_mapping = value_or_fatal(build::parse_mappings(a.mappings));
    request.inputs = value_or_fatal(build::parse_pairs(a.inputs, "input"));
    request.outputs = value_or_fatal(build::parse_pairs(a.outputs, "output"));
    request.image = a.image;
    request.cwd = fs::current_path();
    request.include_ignored = a.include_ignored;
    request.privileged = a.privileged;
    request.tags = a.tags;
    request.job = a.job;
    if (!a.runc_root.empty()) request.runc_state_root = fs::absolute(a.runc_root);

    step::step_options options;
    options.credentials = tracker;
    if (!a.timeout.empty()) {
      auto d = parse_duration(a.timeout);
      if (!d) throw fatal{"invalid --timeout: " + d.error().message()};
      options.timeout = clamp_wait(*d);  // a Go duration may exceed what now() + d can hold
    }
    auto grace = parse_duration(a.grace);
    if (!grace) throw fatal{"invalid --grace: " + grace.error().message()};

    const build::worker_kind kind = value_or_fatal(build::choose_worker(
        worker_choice_of(a.worker), build::names_image(config, request),
        a.worker == "auto" && build::names_image(config, request) ? oci_unavailable(a) : std::string()));

    task_source source;
    with_dialect(a.concourse, [&]<class D>(D) {
      source = erase(config::static_source(config) | config::override_params(std::move(env_overrides)) |
                     config::override_params(std::move(params)) |
                     config::interpolate<D>(vars::multi_vars(
                         std::move(variables), vars::tracked_vars<vars::static_vars>(std::move(secrets), tracker))) |
                     config::validating<D>());
    });

    // Ctrl-C / SIGTERM (or EPIPE on stdout): a graceful abort of staging, the task and all (outputs
    // are still copied out); a second one stops the task now (build/interrupts.hpp).
    std::stop_source stop, stop_now;
    forwarding_events events(delegate);
    execute_call call{a,
                      std::move(request),
                      std::move(config),
                      std::move(options),
                      clamp_wait(*grace),
                      a.cache_dir.empty() ? build::default_cache_dir() : fs::path(a.cache_dir),
                      events,
                      stop.get_token(),
                      stop_now.get_token()};
    auto outcome = [&] {
      build::interrupt_options on;
      on.on_signal = [&delegate](int n) { delegate.note(n == 1 ? "\naborting..." : "stopping the task now"); };
      on.give_up = [] { std::_Exit(exit_aborted); };  // the run's watchdog cleans up what it started
      build::interrupts guard(stop, stop_now, std::move(on));
      delegate.abort_on_broken_stdout(stop);
      switch (kind) {
        case build::worker_kind::oci: return execute_oci(call, std::move(source));
        case build::worker_kind::slurm: return execute_slurm(call, std::move(source));
        case build::worker_kind::local: break;
      }
      return execute_local(call, std::move(source));
    }();
    if (outcome.started()) delegate.status(outcome.status);
    return outcome.exit_code;
  } catch (const fatal& f) {
    delegate.errored(f.message);
    return build::exit_errored;
  }
}

}  // namespace taskstep_cli
