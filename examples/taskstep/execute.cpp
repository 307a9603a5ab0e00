// `taskstep execute`: flags (fly execute's) → one call into the one-off build layer
// (taskstep/build/one_off.hpp) on the chosen worker → exit code. This file reads the task file, vars
// and secrets and picks the worker; execute_<worker>.cpp instantiate the build for one worker type each.

#include "execute.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <stop_token>

#include "cli_common.hpp"
#include "delegate.hpp"
#include "execute_call.hpp"
#include "intercept.hpp"
#include "watch.hpp"
#include "taskstep/build/inputs.hpp"
#include "taskstep/build/interrupts.hpp"
#include "taskstep/build/outputs.hpp"
#include "taskstep/build/paths.hpp"
#include "taskstep/build/request.hpp"
#include "taskstep/config/config.hpp"
#include "taskstep/core/duration.hpp"

namespace taskstep_cli {

namespace fs = std::filesystem;
using namespace taskstep;

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
  cmd.add_flag("--keep", a.keep,
               "keep the run of a task that fails (or is aborted) and print how to enter it "
               "(taskstep intercept; local and oci workers)");
  cmd.add_flag("--json", a.json, "print one JSON event per line instead of human output");
  cmd.add_option("--color", a.color,
                 "auto (default: colour a stream only when it is a terminal, NO_COLOR is unset and TERM is not dumb), "
                 "always (even on pipes and with NO_COLOR set) or never; --json is never coloured")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  cmd.add_flag("--watch", a.watch,
               "run again whenever a file of an input directory (or the task file) changes; Ctrl-C ends it");
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
  void progress(const build::progress_report& r) override { d_.progress(r); }

 private:
  cli_delegate& d_;
};

// Hides the config chain's type from the worker-specific files.
template <class Source>
task_source erase(Source source) {
  auto shared = std::make_shared<Source>(std::move(source));
  return {[shared] { return shared->fetch(); }, [shared] { return std::vector<std::string>(shared->warnings()); }};
}

// The image_resource types every worker of this command can fetch (image::registry_store pulls them;
// the local worker accepts them and ignores the image with a warning).
bool fetchable_image_type(const std::string& type) { return type == "registry-image" || type == "docker-image"; }

// Concourse would run any resource type's check/get to fetch an image; taskstep has no resource
// containers, so another type is refused before the build with what to do instead of placement's
// bare `no workers satisfying: resource type '...'`.
std::string unfetchable_image_message(const std::string& type, build::worker_kind kind) {
  std::string m = "image_resource type '" + type + "' is not supported by taskstep: it fetches images only from "
                  "registries (type registry-image or docker-image) and runs no resource type's get. ";
  if (kind == build::worker_kind::local)
    return m + "The local worker ignores images anyway: remove image_resource to run the task on this host, or use "
               "type: registry-image (ignored with a warning), or pass --image DIR";
  return m + "Use type: registry-image with the image's repository, or pass --image DIR (an image artifact: rootfs/ "
             "and metadata.json)";
}

build::worker_choice worker_choice_of(const std::string& flag) {
  if (flag == "local") return build::worker_choice::local;
  if (flag == "oci") return build::worker_choice::oci;
  if (flag == "slurm") return build::worker_choice::slurm;
  return build::worker_choice::automatic;
}

}  // namespace

namespace {

int run_once(const CLI::App& cmd, execute_args& a) {  // EPIPE on stdout is an abort (cli_delegate::emit), not a silent death
  cli_delegate delegate(a.json, colour_when_of(a.color));
  try {
    // fly checks its flags first: an -i path that does not exist is refused before the task file is read.
    build::one_off_request request;
    request.inputs = value_or_fatal(build::parse_pairs(a.inputs, "input"));
    if (auto found = build::check_input_paths(request.inputs); !found) throw fatal{found.error().message()};

    vars::static_vars_list variables;
    task_env params;
    try {
      variables = collect_vars(cmd, a.vars, flag_order::fly);
      params = collect_params(a.vars);
    } catch (const usage_error& e) {
      throw fatal{e.message};
    }
    // The config as fly makes it: decoded and validated, then its own pass of -v/-y/-l (vars it does
    // not know are left for the build's credentials), args appended, env overriding params.
    std::string text, err;
    if (!read_file(a.config, text, err)) throw fatal{"could not read file: " + err};
    task_config config;
    with_dialect(a.concourse, [&]<class D>(D) {
      config = value_or_fatal((config::static_source(value_or_fatal(yaml::parse_task_config<D>(text))) |
                               config::interpolate<D>(std::move(variables), /*expect_all_keys=*/false))
                                  .fetch());
    });
    // 8.0 made run.path optional: Concourse then runs the image's ENTRYPOINT/CMD. taskstep does not
    // read them yet (docs/compatibility.md), so it stops here with Concourse's words for "neither".
    // (Earlier dialects' validation already refused a task without one.)
    if (config.run.path.empty())
      throw fatal{"No executable defined for task. Specify an executable to run in either the task config "
                  "(run.path) or as an ENTRYPOINT/CMD in the container image."};
    for (const auto& arg : a.args) config.run.args.push_back(arg);
    task_env env_overrides;
    for (const auto& [key, value] : config.params)
      if (const char* v = std::getenv(key.c_str())) env_overrides[key] = v;
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

    // The request: -m, -o pairs, the image, the current directory.
    request.input_mapping = value_or_fatal(build::parse_mappings(a.mappings));
    request.outputs = value_or_fatal(build::parse_pairs(a.outputs, "output"));
    request.image = a.image;
    request.cwd = fs::current_path();
    request.include_ignored = a.include_ignored;
    request.privileged = a.privileged;
    request.tags = a.tags;
    request.job = a.job;
    request.keep = a.keep;
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

    // No worker can run it: the build errors (exit 2), as one no worker satisfies.
    const auto kind = build::choose_worker(
        worker_choice_of(a.worker), build::names_image(config, request),
        a.worker == "auto" && build::names_image(config, request) ? oci_unavailable(a) : std::string());
    if (!kind) {
      delegate.errored(kind.error().message());
      if (a.json) delegate.status("errored");
      return build::exit_errored;
    }
    if (auto supported = build::keep_supported(*kind); request.keep && !supported) throw fatal{supported.error().message()};

    // An image type no worker here can fetch: the build errors (exit 2), as one no worker satisfies.
    // (A type still holding a ((var)) is checked by placement once interpolated.)
    if (config.image_resource && request.image.empty() && !fetchable_image_type(config.image_resource->type) &&
        config.image_resource->type.find("((") == std::string::npos) {
      delegate.errored(unfetchable_image_message(config.image_resource->type, *kind));
      if (a.json) delegate.status("errored");
      return build::exit_errored;
    }

    // The step's chain (Concourse's task step) in the chosen dialect: --param is merged after fly's
    // pass, so the credentials pass is the only one a ((var)) in a param, or in a -v value, meets.
    task_source source;
    with_dialect(a.concourse, [&]<class D>(D) {
      source = erase(config::static_source(config) | config::override_params(std::move(env_overrides)) |
                     config::override_params(std::move(params)) |
                     config::interpolate<D>(vars::tracked_vars<vars::static_vars>(std::move(secrets), tracker)) |
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
    int signals = 0;
    auto outcome = [&] {
      build::interrupt_options on;
      on.on_signal = [&delegate](int n) { delegate.note(n == 1 ? "\naborting..." : "stopping the task now"); };
      on.give_up = [] { std::_Exit(build::exit_gave_up); };  // the run's watchdog cleans up what it started
      build::interrupts guard(stop, stop_now, std::move(on));
      delegate.abort_on_broken_stdout(stop);
      struct count_signals {
        build::interrupts& guard;
        int& count;
        ~count_signals() { count = guard.count(); }
      } counted{guard, signals};
      switch (*kind) {
        case build::worker_kind::oci: return execute_oci(call, std::move(source));
        case build::worker_kind::slurm: return execute_slurm(call, std::move(source));
        case build::worker_kind::local: break;
      }
      return execute_local(call, std::move(source));
    }();
    for (const auto& kept : outcome.kept) delegate.note(kept_hint(kept));
    if (!outcome.kept.empty())
      if (const auto all = build::find_kept_runs().size(); all > 10)  // nothing removes them but --rm
        delegate.note(std::to_string(all) + " kept runs hold disk space: taskstep intercept --list, --rm --all");
    // --json always ends with a `status` event, also for a build refused before `initialize`.
    if (outcome.started()) delegate.status(outcome.status);
    else if (a.json) delegate.status("errored");
    return signals >= 2 ? build::exit_gave_up : outcome.exit_code;  // fly exits 2 on a second Ctrl-C
  } catch (const fatal& f) {
    delegate.errored(f.message);  // fly's own checks: `error: ...`, exit 1
    if (a.json) delegate.status("errored");
    return build::exit_refused;
  }
}

// --watch: what to watch for this task file and these flags (best effort: a flag the build will
// refuse just watches less, and the build reports it).
watch_set watch_set_of(const execute_args& a) {
  watch_set set;
  set.files.push_back(fs::absolute(a.config));
  std::string text, err;
  auto pairs = build::parse_pairs(a.inputs, "input");
  if (pairs)
    for (const auto& p : *pairs) set.dirs.push_back(build::detail::comparable(p.path));
  if (auto outputs = build::parse_pairs(a.outputs, "output"))
    for (const auto& o : *outputs) set.ignored.push_back(build::detail::comparable(o.path));
  if (read_file(a.config, text, err)) {
    if (auto config = yaml::parse_task_config(text)) {
      build::one_off_request request;
      if (pairs) request.inputs = *pairs;
      request.cwd = fs::current_path();
      if (auto dirs = build::check_inputs(*config, request)) {
        set.dirs.clear();
        for (const auto& [name, dir] : *dirs) set.dirs.push_back(build::detail::comparable(dir));
      }
    }
  }
  return set;
}

// Runs the build, then again after every change, until Ctrl-C/SIGTERM. Both signals stay blocked
// for the whole watch: during a build build::interrupts reads them (an aborted build ends the
// watch, exit 3), between builds our signalfd does (the watch ends with the last build's code).
int run_watching(const CLI::App& cmd, execute_args& a) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigset_t previous;
  (void)::pthread_sigmask(SIG_BLOCK, &set, &previous);
  const int signal_fd = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  struct restore {
    int fd;
    sigset_t mask;
    ~restore() {
      if (fd >= 0) consume_signals(fd);  // one that arrived late must not kill us on unblock
      if (fd >= 0) ::close(fd);
      (void)::pthread_sigmask(SIG_SETMASK, &mask, nullptr);
    }
  } guard{signal_fd, previous};
  if (signal_fd < 0) {
    std::cerr << "--watch: signalfd: " << std::strerror(errno) << "\n";
    return build::exit_errored;
  }
  watcher w(signal_fd);
  int code = build::exit_errored;
  while (true) {
    std::size_t watched = 0;
    if (auto failed = w.arm(watch_set_of(a), watched)) {
      std::cerr << "--watch: " << *failed << "\n";
      return build::exit_errored;
    }
    code = run_once(cmd, a);
    if (code == build::exit_aborted) return code;  // Ctrl-C (or a closed stdout) during the build
    fs::path changed;
    if (w.pending(changed)) {
      // changed while the build ran: wait for quiet, then run again
      if (w.wait(std::chrono::milliseconds(200), changed) == watch_wake::signalled) return code;
    } else {
      std::cerr << "watching " << watched << (watched == 1 ? " directory" : " directories")
                << " for changes (Ctrl-C to stop)\n";
      const auto wake = w.wait(std::chrono::milliseconds(200), changed);
      if (wake == watch_wake::signalled) return code;
      if (wake == watch_wake::failed) {
        std::cerr << "--watch: poll: " << std::strerror(errno) << "\n";
        return code;
      }
    }
    std::cerr << "changed: " << changed.string() << ": running again\n";
  }
}

}  // namespace

int run_execute(const CLI::App& cmd, execute_args& a) {
  build::ignore_sigpipe();  // EPIPE on stdout is an abort (cli_delegate::emit), not a silent death
  return a.watch ? run_watching(cmd, a) : run_once(cmd, a);
}

}  // namespace taskstep_cli
