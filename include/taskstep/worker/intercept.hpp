#pragma once
//! \file
//! Entering a kept run (worker/kept_run.hpp), as `fly intercept` enters a build's container:
//! `enter_kept_run(run_dir, options)` starts a shell (or `options.command`) with the task's
//! environment, working directory and user, and returns its exit status.
//!
//! - **local** runs: the process starts on the host in the kept working directory. The input
//!   overlays the task saw are mounted again (same lower, the kept upper/work) in a private mount
//!   namespace of the new process (`unshare(CLONE_NEWNS)`, propagation made slave), so they vanish
//!   with it and nothing is ever mounted on the host. The user the task ran as (`run.user`) is taken
//!   again (initgroups, setgid, setuid). The shell is `/bin/bash` when the host has it, else `/bin/sh`.
//! - **oci** runs: a new container on the same bundle — `runc run` with a new id
//!   (`taskstep-intercept-<run>-<pid>`), a copy of the kept `config.json` whose process args are the
//!   shell (behind the same init) and whose `terminal` is true when stdin is a terminal (runc then
//!   proxies a pty; otherwise stdio are passed straight through). The rootfs overlay (and the
//!   user-namespaced inputs' overlays) are mounted again in runc's private mount namespace: the same
//!   image, the task's writes to it, the same working directory, mounts, limits and user. The shell
//!   is `/bin/bash` when the image has it, else `/bin/sh` (decided inside the container). The
//!   container's `/tmp` is a fresh tmpfs again: what the task wrote there (outside the working
//!   directory) is gone.
//! - Every mount target is opened one component at a time without following links
//!   (`open_inside`), and mounted through `/proc/self/fd`: a link the task left in its working
//!   directory cannot redirect a mount.
//! - One session at a time: `kept.json` is `flock`ed while a run is entered or removed; a second
//!   intercept (or `--rm`) of the same run is refused, naming it.
//! - The process gets SIGHUP when the intercepting process dies. The caller must be single-threaded
//!   (it forks and then prepares the child, as a shell does).
//!
//! Reading the record uses nlohmann-json, so this header needs `taskstep::containers`.

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "taskstep/artifact/staging.hpp"
#include "taskstep/core/result.hpp"
#include "taskstep/worker/detail/command.hpp"
#include "taskstep/worker/detail/process.hpp"
#include "taskstep/worker/detail/run_paths.hpp"
#include "taskstep/worker/kept_run.hpp"
#include "taskstep/worker/reaper.hpp"

namespace taskstep::worker {

namespace detail {

inline std::string slurp_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string json_string(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

template <class T>
T json_number(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<T>() : T{};
}

inline bool json_bool(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

// The kept run's lock: `kept.json` flocked for one session (enter or remove).
inline result<unique_fd> lock_kept_run(const std::filesystem::path& run_dir) {
  const auto path = run_dir / kept_record_name;
  unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid())
    return fail(errc::usage, run_dir.string() + " is not a kept run: " + path.string() + ": " + std::strerror(errno));
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0)
    return fail(errc::usage, "the kept run " + run_dir.string() + " is in use by another intercept");
  return fd;
}

}  // namespace detail

//! Reads `<run_dir>/kept.json`; an error names the file when it is missing or not a record.
inline result<kept_run> read_kept_run(const std::filesystem::path& run_dir) {
  using detail::json_string;
  const auto path = run_dir / kept_record_name;
  if (!is_kept_run(run_dir)) return fail(errc::usage, run_dir.string() + " is not a kept run (no " + path.string() + ")");
  const auto j = nlohmann::json::parse(detail::slurp_file(path), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(errc::io, path.string() + " is not a kept-run record (invalid JSON)");
  kept_run r;
  r.worker = json_string(j, "worker");
  if (r.worker != "local" && r.worker != "oci")
    return fail(errc::io, path.string() + ": unknown worker '" + r.worker + "' (taskstep keeps local and oci runs)");
  r.task = json_string(j, "task");
  r.job = json_string(j, "job");
  r.created = detail::json_number<std::int64_t>(j, "created");
  r.exit_status = detail::json_number<int>(j, "exit_status");
  r.stopped = detail::json_bool(j, "stopped");
  if (const auto env = j.find("env"); env != j.end() && env->is_array())
    for (const auto& e : *env)
      if (e.is_string()) r.env.push_back(e.get<std::string>());
  r.dir = json_string(j, "dir");
  r.user = json_string(j, "user");
  r.uid = detail::json_number<std::uint32_t>(j, "uid");
  r.gid = detail::json_number<std::uint32_t>(j, "gid");
  if (const auto mounts = j.find("mounts"); mounts != j.end() && mounts->is_array())
    for (const auto& m : *mounts)
      if (m.is_object())
        r.mounts.push_back({json_string(m, "target"), json_string(m, "lower"), json_string(m, "upper"),
                            json_string(m, "work"), detail::json_bool(m, "metacopy")});
  r.bundle = json_string(j, "bundle");
  r.runc_state_root = json_string(j, "runc_state_root");
  r.runc = json_string(j, "runc");
  return r;
}

//! How to enter a kept run.
struct enter_options {
  std::vector<std::string> command;  //!< argv to run; empty = an interactive shell (bash, else sh)
  bool tty = ::isatty(0) != 0;       //!< oci: give the process a terminal (stdin is one)
};

namespace detail {

// In the child: mounts the kept overlays (a private mount namespace), or returns why not.
inline std::string mount_kept_overlays(const std::filesystem::path& run_dir, const kept_run& r) {
  if (r.mounts.empty()) return {};
  if (::unshare(CLONE_NEWNS) != 0) return std::string("unshare(CLONE_NEWNS): ") + std::strerror(errno);
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0)
    return std::string("could not make the mount namespace private: ") + std::strerror(errno);
  for (const auto& m : r.mounts) {
    auto rel = inside_working_dir(m.target);
    if (!rel || *rel == ".") return "kept mount target '" + m.target + "' is outside the run directory";
    auto target = open_inside(run_dir, *rel, false, "kept mount target");
    if (!target) return target.error().message();
    const std::string at = "/proc/self/fd/" + std::to_string(target->get());
    for (const auto* p : {&m.lower, &m.upper, &m.work})
      if (!artifact::overlay_safe_path(*p)) return "cannot mount overlay: path " + p->string() + " contains ',', ':' or '\\'";
    const std::string options = "lowerdir=" + m.lower.string() + ",upperdir=" + m.upper.string() + ",workdir=" + m.work.string();
    if ((!m.metacopy || ::mount("overlay", at.c_str(), "overlay", 0, (options + ",metacopy=on").c_str()) != 0) &&
        ::mount("overlay", at.c_str(), "overlay", 0, options.c_str()) != 0)
      return "could not mount overlay at " + (run_dir / *rel).string() + ": " + std::strerror(errno);
  }
  return {};
}

// Forks; the child runs `prepare` (which returns an error text, or empty to go on) and then execs
// `program` with `argv` and `env`. Returns the child's exit status (128 + N for signal N), or the
// error the child reported before it could exec.
template <class Prepare>
result<int> run_prepared(const std::filesystem::path& program, const std::vector<std::string>& argv,
                         const std::vector<std::string>& env, Prepare&& prepare) {
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return fail(errc::worker, std::string("pipe: ") + std::strerror(errno));
  std::vector<char*> cargv, cenv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (const auto& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(report[0]);
    ::close(report[1]);
    return fail(errc::worker, std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    ::close(report[0]);
    auto die = [&](const std::string& why) {
      (void)!::write(report[1], why.data(), why.size());
      ::_exit(127);
    };
    (void)::prctl(PR_SET_PDEATHSIG, SIGHUP);
    if (::getppid() != parent) ::_exit(129);
    for (int sig : {SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGPIPE, SIGTSTP, SIGTTIN, SIGTTOU}) ::signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (std::string why = prepare(); !why.empty()) die(why);
    ::execve(program.c_str(), cargv.data(), cenv.data());
    die("exec " + program.string() + ": " + std::strerror(errno));
  }
  ::close(report[1]);
  // As system(3): the terminal's ^C and ^\ are for the process inside, not for us.
  struct sigaction ignore {}, old_int {}, old_quit {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  ::sigaction(SIGINT, &ignore, &old_int);
  ::sigaction(SIGQUIT, &ignore, &old_quit);
  std::string why;
  char buf[512];
  for (;;) {
    const auto n = ::read(report[0], buf, sizeof buf);
    if (n > 0) why.append(buf, static_cast<std::size_t>(n));
    else if (n == 0 || errno != EINTR) break;
  }
  ::close(report[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGQUIT, &old_quit, nullptr);
  if (!why.empty()) return fail(errc::worker, why);
  return exit_status(status);
}

inline result<int> enter_local(const std::filesystem::path& run_dir, const kept_run& r, const enter_options& o) {
  auto dir_rel = inside_working_dir(r.dir);
  if (!dir_rel) return fail(errc::worker, "kept run " + run_dir.string() + ": dir '" + r.dir + "' is outside the run directory");
  const std::filesystem::path cwd = under(run_dir, *dir_rel);
  std::vector<std::string> argv = o.command;
  std::filesystem::path program;
  if (argv.empty()) {
    program = executable_file("/bin/bash") ? "/bin/bash" : "/bin/sh";
    argv = {program.string()};
  } else {
    std::string path_value(default_path);
    if (const std::string* p = env_value(r.env, "PATH")) path_value = p->substr(5);
    auto found = find_program(argv[0], path_value, cwd);
    if (!found) return fail(found.error());
    program = *found;
  }
  return run_prepared(program, argv, r.env, [&]() -> std::string {
    if (std::string why = mount_kept_overlays(run_dir, r); !why.empty()) return why;
    auto fd = open_inside(run_dir, *dir_rel, false, "run.dir");
    if (!fd) return fd.error().message();
    if (::fchdir(fd->get()) != 0) return "chdir " + cwd.string() + ": " + std::strerror(errno);
    if (!r.user.empty() && (r.uid != ::geteuid() || r.gid != ::getegid())) {
      if (::initgroups(r.user.c_str(), r.gid) != 0 && ::setgroups(0, nullptr) != 0)
        return "initgroups " + r.user + ": " + std::strerror(errno);
      if (::setgid(r.gid) != 0 || ::setuid(r.uid) != 0) return "could not become " + r.user + ": " + std::strerror(errno);
    }
    return {};
  });
}

inline result<int> enter_oci(const std::filesystem::path& run_dir, const kept_run& r, const enter_options& o) {
  namespace fs = std::filesystem;
  const auto bundle_rel = inside_working_dir(r.bundle.empty() ? std::string("bundle") : r.bundle);
  if (!bundle_rel || *bundle_rel == ".")
    return fail(errc::worker, "kept run " + run_dir.string() + ": bad bundle '" + r.bundle + "'");
  const fs::path config_path = run_dir / *bundle_rel / "config.json";
  auto config = nlohmann::json::parse(slurp_file(config_path), nullptr, false);
  if (config.is_discarded() || !config.is_object() || !config.contains("process") || !config["process"].is_object())
    return fail(errc::worker, "could not read " + config_path.string() + " (the kept run's bundle)");
  auto runc = find_program(r.runc.empty() ? std::string("runc") : r.runc, default_path, "/");
  if (!runc) return fail(runc.error());

  std::vector<std::string> args;
  auto& process = config["process"];
  if (process.contains("args") && process["args"].is_array() && !process["args"].empty() && process["args"][0] == "/dev/init")
    args = {"/dev/init", "-s", "--"};  // the task's init again: signals and zombies as the task had them
  if (o.command.empty()) args.insert(args.end(), {"/bin/sh", "-c", "[ -x /bin/bash ] && exec /bin/bash; exec /bin/sh"});
  else args.insert(args.end(), o.command.begin(), o.command.end());
  process["args"] = args;
  process["terminal"] = o.tty;
  process.erase("consoleSize");
  const std::string id = "taskstep-intercept-" + run_dir.filename().string().substr(4) + "-" + std::to_string(::getpid());
  if (config.contains("linux") && config["linux"].is_object()) config["linux"]["cgroupsPath"] = "/taskstep/" + id;

  // A bundle of its own (the rootfs path in config.json is absolute): sessions never share one.
  const fs::path session = run_dir / ("intercept-" + std::to_string(::getpid()));
  std::error_code ec;
  fs::remove_all(session, ec);
  if (::mkdir(session.c_str(), 0700) != 0)
    return fail(errc::worker, "could not create " + session.string() + ": " + std::strerror(errno));
  struct session_guard {
    fs::path dir, runc, state_root;
    std::string id;
    ~session_guard() {
      std::error_code e;
      if (fs::exists(state_root / id, e))
        (void)run_command({runc.string(), "--root", state_root.string(), "delete", "--force", id}, std::chrono::seconds(10));
      (void)artifact::remove_tree(dir);
    }
  } guard{session, *runc, r.runc_state_root, id};
  {
    const int fd = ::open((session / "config.json").c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return fail(errc::worker, "could not write " + (session / "config.json").string() + ": " + std::strerror(errno));
    const std::string text = config.dump();
    const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    if (::close(fd) != 0 || !ok) return fail(errc::worker, "could not write " + (session / "config.json").string());
  }
  fs::create_directories(r.runc_state_root, ec);
  const std::vector<std::string> argv{r.runc.empty() ? std::string("runc") : r.runc, "--root", r.runc_state_root.string(),
                                      "run", "--bundle", session.string(), id};
  return run_prepared(*runc, argv, {"PATH=" + std::string(default_path)}, [&]() -> std::string {
    if (std::string why = mount_kept_overlays(run_dir, r); !why.empty()) return why;
    if (::chdir(session.c_str()) != 0) return "chdir " + session.string() + ": " + std::strerror(errno);
    return {};
  });
}

}  // namespace detail

//! Enters the kept run in `run_dir` (see the file comment) and returns the exit status of what ran
//! there (128 + N when signal N killed it). Errors: not a kept run, in use by another intercept, a
//! lower directory (the image's rootfs, an input) that is gone, a command not found, a mount refused.
inline result<int> enter_kept_run(const std::filesystem::path& run_dir, const enter_options& options = {}) {
  auto lock = detail::lock_kept_run(run_dir);
  if (!lock) return fail(lock.error());
  auto record = read_kept_run(run_dir);
  if (!record) return fail(record.error());
  for (const auto& m : record->mounts) {
    std::error_code ec;
    if (!std::filesystem::is_directory(m.lower, ec))
      return fail(errc::worker, "the kept run " + run_dir.string() + " cannot be entered: " + m.lower.string() +
                                    " (the lower layer of its " + m.target + ") is gone");
  }
  if (record->worker == "local") return detail::enter_local(run_dir, *record, options);
  if (::geteuid() != 0)
    return fail(errc::worker, "entering an oci run needs root to run runc (running as uid " + std::to_string(::geteuid()) + ")");
  return detail::enter_oci(run_dir, *record, options);
}

//! Removes the kept run in `run_dir`: every mount below it is detached first (intercept mounts
//! nothing on the host, but a crash of something else might have), then the directory with its
//! record. Refused while the run is entered.
inline result<void> remove_kept_run(const std::filesystem::path& run_dir) {
  auto lock = detail::lock_kept_run(run_dir);
  if (!lock) return fail(lock.error());
  for (const auto& m : detail::mounts_under(run_dir)) (void)::umount2(m.c_str(), MNT_DETACH);
  if (auto removed = artifact::remove_tree(run_dir); !removed) return fail(removed.error());
  return {};
}

}  // namespace taskstep::worker
