// `taskstep execute`: builds a one-off plan from flags (fly execute's), stages inputs, runs the task
// step on the chosen worker, prints events (human or --json), copies outputs out, maps the exit code.

#include "execute.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <stop_token>
#include <thread>

#include <nlohmann/json.hpp>

#include "host.hpp"
#include "taskstep/artifact/directory_repository.hpp"
#include "taskstep/core/duration.hpp"
#include "taskstep/image/concourse_resolver.hpp"
#include "taskstep/placement/placement.hpp"
#include "taskstep/step/task_step.hpp"
#include "taskstep/image/registry.hpp"
#include "taskstep/worker/local_process.hpp"
#include "taskstep/worker/oci_runc.hpp"
#include "taskstep/worker/pool.hpp"
#include "taskstep/worker/slurm.hpp"
#include "taskstep/worker/with_images.hpp"

namespace taskstep_cli {

namespace fs = std::filesystem;
using namespace taskstep;

constexpr int exit_errored = 2;
constexpr int exit_aborted = 3;

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
  cmd.add_option("--worker", a.worker, "worker type: local (host processes), oci (runc containers) or slurm (srun job steps)")
      ->check(CLI::IsMember({"local", "oci", "slurm"}));
  cmd.add_option("--slurm-partition", a.slurm_partition, "slurm: the partition to run in (default: the cluster's default)");
  cmd.add_option("--slurm-shared-root", a.slurm_shared_root, "slurm: DIR on a filesystem the nodes share, for run directories");
  cmd.add_flag("--slurm-copy-rootfs", a.slurm_copy_rootfs, "slurm: copy images into the bundle (nodes other than this host)");
  cmd.add_option("--image-store", a.image_store, "DIR: where pulled images live (default: <cache dir>/images)");
  cmd.add_option("--insecure-registry", a.insecure_registries, "HOST:PORT: a registry reached over plain http")->take_all();
  cmd.add_flag("--no-user-namespace", a.no_user_namespace, "oci: run unprivileged containers without a user namespace");
  cmd.add_option("--runc-root", a.runc_root, "oci: DIR for runc's container state (default /run/taskstep-runc)");
  cmd.add_flag("--json", a.json, "print one JSON event per line instead of human output");
  cmd.add_option("ARGS", a.args, "arguments appended to run.args (after --)");
}

namespace {

struct fatal {
  std::string message;
};

std::pair<std::string, std::string> split_pair(const std::string& s, const std::string& what) {
  const auto eq = s.find('=');
  if (eq == std::string::npos || eq == 0) throw fatal{"invalid " + what + " pair '" + s + "' (must be name=path)"};
  return {s.substr(0, eq), s.substr(eq + 1)};
}

std::string now_seconds() {
  using namespace std::chrono;
  return std::to_string(duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count() / 1000.0);
}

// Human output: bold `initializing` / `running ...`, the task's output as is, a coloured status.
// JSON output: one event per line.
class cli_delegate {
 public:
  explicit cli_delegate(bool json) : json_(json), tty_(isatty(1) != 0) {}

  void initializing(const task_config& c) {
    if (json_) return event({{"event", "initialize"}, {"config", shadow_config(c)}});
    line(bold("initializing"));
  }
  void selected_worker(std::string_view name) {
    if (json_) return event({{"event", "selected-worker"}, {"worker", std::string(name)}});
    line(bold("selected worker:") + " " + std::string(name));
  }
  void starting(const task_config& c) {
    if (json_) return event({{"event", "start"}, {"config", shadow_config(c)}});
    std::string text = "running " + c.run.path;
    for (const auto& a : c.run.args) text += " " + a;
    line(bold(text));
  }
  void finished(int status) {
    if (json_) event({{"event", "finish"}, {"exit_status", status}});
  }
  void errored(std::string_view message) {
    if (json_) return event({{"event", "error"}, {"message", std::string(message)}});
    std::fflush(stdout);
    std::cerr << colour("31", std::string(message)) << "\n";
  }
  void out(std::string_view s) { log("stdout", s); }
  void err(std::string_view s) { log("stderr", s); }
  void status(const std::string& word) {
    if (json_) return event({{"event", "status"}, {"status", word}});
    const char* code = word == "succeeded" ? "32" : word == "aborted" ? "33" : "31";
    line(colour(code, word));
  }
  void note(const std::string& text) {
    if (json_) return event({{"event", "log"}, {"stream", "stderr"}, {"payload", text + "\n"}});
    std::fflush(stdout);
    std::cerr << text << "\n";
  }

 private:
  void log(const char* stream, std::string_view s) {
    if (json_) return event({{"event", "log"}, {"stream", stream}, {"payload", std::string(s)}});
    FILE* f = std::string_view(stream) == "stdout" ? stdout : stderr;
    std::fwrite(s.data(), 1, s.size(), f);
    std::fflush(f);
    if (!s.empty()) mid_line_ = s.back() != '\n';
  }
  // What Concourse's initialize-task / start-task events carry (no params: they may hold secrets).
  static nlohmann::ordered_json shadow_config(const task_config& c) {
    nlohmann::ordered_json inputs = nlohmann::ordered_json::array();
    for (const auto& in : c.inputs) inputs.push_back({{"name", in.name}, {"path", in.path}});
    return {{"platform", c.platform},
            {"image", c.rootfs_uri},
            {"run", {{"path", c.run.path}, {"args", c.run.args}, {"dir", c.run.dir}}},
            {"inputs", inputs}};
  }
  void event(nlohmann::ordered_json e) {
    e["time"] = nlohmann::ordered_json::parse(now_seconds());
    const std::string text = e.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  }
  void line(const std::string& s) {
    if (mid_line_) std::fputc('\n', stdout);  // task output without a final newline
    mid_line_ = false;
    std::fwrite((s + "\n").data(), 1, s.size() + 1, stdout);
    std::fflush(stdout);
  }
  std::string bold(const std::string& s) const { return tty_ ? "\x1b[1m" + s + "\x1b[0m" : s; }
  std::string colour(const char* code, const std::string& s) const {
    return tty_ ? std::string("\x1b[") + code + "m" + s + "\x1b[0m" : s;
  }
  bool json_;
  bool tty_;
  bool mid_line_ = false;
};

fs::path default_cache_dir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return fs::path(xdg) / "taskstep";
  if (const char* home = std::getenv("HOME"); home && *home) return fs::path(home) / ".cache" / "taskstep";
  return fs::temp_directory_path() / "taskstep-cache";
}

// Blocks SIGINT/SIGTERM for the whole process and turns them into a stop request (first) or an
// immediate exit (second). Children get a clean signal mask from the worker.
class signal_guard {
 public:
  explicit signal_guard(std::stop_source stop, cli_delegate& d) {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
    thread_ = std::jthread([this, stop, &d](std::stop_token done) mutable {
      int seen = 0;
      while (!done.stop_requested()) {
        timespec ts{0, 100'000'000};
        if (sigtimedwait(&set_, nullptr, &ts) < 0) continue;
        if (++seen == 1) {
          d.note("\naborting...");
          stop.request_stop();
        } else {
          d.note("exiting immediately");
          std::_Exit(exit_aborted);
        }
      }
    });
  }

 private:
  sigset_t set_;
  std::jthread thread_;
};

}  // namespace

int run_execute(const CLI::App& cmd, execute_args& a) {
  const bool json = a.json;
  cli_delegate delegate(json);
  std::vector<fs::path> staging_dirs;
  auto cleanup = [&] {
    std::error_code ec;
    for (const auto& d : staging_dirs) fs::remove_all(d, ec);
  };
  try {
    // 1. The config, as fly reads it: decoded and validated, args appended, env overriding params.
    std::string text, err;
    if (!read_file(a.config, text, err)) throw fatal{"could not read file: " + err};
    auto parsed = yaml::parse_task_config(text);
    if (!parsed) throw fatal{parsed.error().message()};
    task_config config = std::move(*parsed);
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
      auto pair = config::parse_var_pair(s);
      if (!pair) throw fatal{pair.error().message()};
      secrets.set(pair->name, pair->val);
    }

    // 2. The plan and the build's artifacts.
    task_plan plan;
    plan.name = "one-off";
    plan.privileged = a.privileged;
    plan.tags = a.tags;
    plan.job = a.job;
    std::set<std::string> input_names, output_names;
    for (const auto& in : config.inputs) input_names.insert(in.name);
    for (const auto& out : config.outputs) output_names.insert(out.name);
    for (const auto& m : a.mappings) {
      auto [name, artifact] = split_pair(m, "input mapping");
      plan.input_mapping[name] = artifact;
    }
    artifact::directory_repository artifacts;
    std::map<std::string, fs::path> provided;
    for (const auto& i : a.inputs) {
      auto [name, dir] = split_pair(i, "input");
      std::error_code ec;
      if (!fs::exists(dir, ec)) throw fatal{"path '" + dir + "' does not exist"};
      if (!fs::is_directory(dir, ec)) throw fatal{dir + " not a folder"};
      if (!input_names.count(name)) throw fatal{"unknown input `" + name + "`"};
      provided[name] = fs::absolute(dir);
    }
    const fs::path cwd = fs::current_path();
    if (input_names.count(cwd.filename().string()) && !provided.count(cwd.filename().string()))
      provided[cwd.filename().string()] = cwd;
    for (const auto& in : config.inputs) {
      if (provided.count(in.name) || in.optional) continue;
      throw fatal{"missing required input `" + in.name + "`"};
    }
    for (const auto& [name, dir] : provided) {
      fs::path source = dir;
      if (auto files = git_files(dir, a.include_ignored)) {
        source = fs::temp_directory_path() / ("taskstep-input-" + std::to_string(getpid()) + "-" + name);
        fs::remove_all(source);
        fs::create_directories(source);
        staging_dirs.push_back(source);
        copy_listed(dir, *files, source);
      }
      auto it = plan.input_mapping.find(name);
      artifacts.add(it == plan.input_mapping.end() ? name : it->second, source);
    }
    std::map<std::string, fs::path> output_targets;
    for (const auto& o : a.outputs) {
      auto [name, dir] = split_pair(o, "output");
      if (!output_names.count(name)) throw fatal{"unknown output '" + name + "'"};
      output_targets[name] = fs::absolute(dir);
    }
    if (!a.image.empty()) {
      if (!fs::is_directory(a.image)) throw fatal{"image " + a.image + " is not a directory"};
      plan.image = "taskstep-image";
      artifacts.add(plan.image, fs::absolute(a.image));
    }

    // 3. Step options and the worker.
    step::step_options options;
    options.credentials = tracker;
    if (!a.timeout.empty()) {
      auto d = parse_duration(a.timeout);
      if (!d) throw fatal{"invalid --timeout: " + d.error().message()};
      options.timeout = clamp_wait(*d);  // a Go duration may exceed what now() + d can hold
    }
    auto grace = parse_duration(a.grace);
    if (!grace) throw fatal{"invalid --grace: " + grace.error().message()};
    const fs::path cache_root = a.cache_dir.empty() ? default_cache_dir() : fs::path(a.cache_dir);
    worker::local_process_options wopts;
    // Each invocation gets its own run root, removed at the end (after outputs are copied out).
    char run_root_template[] = "/tmp/taskstep-runs-XXXXXX";
    if (mkdtemp(run_root_template) == nullptr) throw fatal{"could not create a run directory under /tmp"};
    wopts.work_root = run_root_template;
    fs::permissions(wopts.work_root, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);  // see oci_runc
    staging_dirs.push_back(wopts.work_root);
    wopts.cache_root = cache_root;
    wopts.grace = clamp_wait(*grace);
    // The local worker runs on the host and ignores images (with a warning), so it accepts the image
    // resource types Concourse ships.
    wopts.info.resource_types = {"registry-image", "docker-image"};
    // One pool type for every worker kind keeps the step compiled once; it holds the chosen worker.
    using oci_worker = worker::oci_runc<image::registry_store>;
    using slurm_worker = worker::with_images<worker::slurm, image::registry_store>;
    worker::worker_pool<worker::local_process, oci_worker, slurm_worker> workers;
    image::registry_options ropts;
    ropts.store_root = a.image_store.empty() ? cache_root / "images" : fs::path(a.image_store);
    ropts.insecure_registries = a.insecure_registries;
    if (a.worker == "slurm") {
      worker::slurm_options sopts;
      sopts.partition = a.slurm_partition;
      sopts.shared_root = a.slurm_shared_root.empty() ? wopts.work_root : fs::path(a.slurm_shared_root);
      sopts.cache_root = cache_root;
      sopts.grace = wopts.grace;
      sopts.copy_rootfs = a.slurm_copy_rootfs;
      // The cluster was chosen explicitly: untagged tasks run there; --tag picks node features.
      sopts.advertise_features = !a.tags.empty();
      worker::slurm cluster(sopts);
      if (auto state = cluster.refresh(); !state) throw fatal{state.error().message()};
      workers.add(slurm_worker(std::move(cluster), image::registry_store(ropts)));
    } else if (a.worker == "oci") {
      worker::oci_runc_options oopts;
      oopts.work_root = wopts.work_root;
      oopts.cache_root = cache_root;
      oopts.grace = wopts.grace;
      oopts.user_namespace = !a.no_user_namespace;
      if (!a.runc_root.empty()) oopts.state_root = fs::absolute(a.runc_root);
      oci_worker oci(oopts, image::registry_store(ropts));
      if (auto why = oci.unavailable_reason(); !why.empty()) throw fatal{why};
      workers.add(std::move(oci));
    } else {
      workers.add(worker::local_process(wopts));
    }

    auto source = config::static_source(std::move(config)) | config::override_params(std::move(env_overrides)) |
                  config::override_params(std::move(params)) |
                  config::interpolate(vars::multi_vars(std::move(variables),
                                                       vars::tracked_vars<vars::static_vars>(std::move(secrets), tracker))) |
                  config::validating();
    step::basic_task_step task(std::move(plan), std::move(source), image::concourse_resolver{},
                               placement::volume_locality{}, workers, options);

    // 4. Run, with Ctrl-C / SIGTERM as a graceful abort.
    std::stop_source stop;
    auto outcome = [&] {
      signal_guard guard(stop, delegate);
      return task.run(artifacts, delegate, stop.get_token());
    }();

    // 5. Outputs are copied out whatever happened to the task.
    for (const auto& [name, target] : output_targets) {
      const fs::path* dir = artifacts.find(name);
      if (dir == nullptr) continue;
      std::error_code ec;
      fs::create_directories(target, ec);
      fs::copy(*dir, target, fs::copy_options::recursive | fs::copy_options::overwrite_existing | fs::copy_options::copy_symlinks, ec);
      if (ec) delegate.errored("downloading failed: " + ec.message());
    }
    cleanup();

    if (!outcome) {
      const bool aborted = outcome.error().code() == errc::cancelled;
      const bool timed_out = outcome.error().code() == errc::timeout;
      delegate.status(aborted ? "aborted" : timed_out ? "failed" : "errored");
      return aborted ? exit_aborted : timed_out ? 1 : exit_errored;
    }
    delegate.status(outcome->succeeded() ? "succeeded" : "failed");
    return outcome->exit_status;
  } catch (const fatal& f) {
    cleanup();
    delegate.errored(f.message);
    if (!json) std::cerr.flush();
    return exit_errored;
  }
}

}  // namespace taskstep_cli
