// `taskstep execute --color`: the real binary under a pseudo-terminal. Colour is decided per stream
// (isatty of that stream's fd), NO_COLOR and TERM=dumb turn it off, --color=always/never override,
// and --json is never coloured.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <spawn.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "cli/run_command.hpp"

namespace fs = std::filesystem;

namespace {

enum class tty_on { none, out, err };

//! Runs taskstep with stdout or stderr (or neither) on the slave side of a fresh pseudo-terminal (raw
//! mode, so bytes arrive as written) and the other stream(s) on a pipe. `env` entries (NAME=VALUE)
//! replace the caller's; NO_COLOR is removed and TERM is xterm unless `env` sets them.
command_result run_with_tty(tty_on tty, const std::vector<std::string>& args, std::vector<std::string> env = {}) {
  command_result r;
  termios raw{};
  cfmakeraw(&raw);
  int master = -1, slave = -1;
  REQUIRE(openpty(&master, &slave, nullptr, &raw, nullptr) == 0);
  REQUIRE(isatty(slave) == 1);
  fcntl(master, F_SETFD, FD_CLOEXEC);
  fcntl(slave, F_SETFD, FD_CLOEXEC);
  int out_pipe[2], err_pipe[2];
  REQUIRE(pipe2(out_pipe, O_CLOEXEC) == 0);
  REQUIRE(pipe2(err_pipe, O_CLOEXEC) == 0);

  auto names = [](const std::string& entry) { return entry.substr(0, entry.find('=')); };
  bool sets_term = false;
  for (const auto& e : env) sets_term = sets_term || names(e) == "TERM";
  if (!sets_term) env.push_back("TERM=xterm");
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const std::string name = names(entry);
    bool replaced = name == "NO_COLOR" || name == "TERM";
    for (const auto& mine : env) replaced = replaced || names(mine) == name;
    if (!replaced) env_strings.push_back(entry);
  }
  env_strings.insert(env_strings.end(), env.begin(), env.end());
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  std::vector<std::string> argv_strings{TASKSTEP_BINARY};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, tty == tty_on::out ? slave : out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, tty == tty_on::err ? slave : err_pipe[1], 2);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(slave);
  close(out_pipe[1]);
  close(err_pipe[1]);
  REQUIRE(spawned == 0);

  // Read the pty master and both pipes until each is at its end (a pty master reads EIO once every
  // slave descriptor is closed); the unused pipe simply reaches EOF at once.
  std::string from_tty, from_out, from_err;
  struct source {
    int fd;
    std::string* text;
  };
  std::vector<source> open_fds{{master, &from_tty}, {out_pipe[0], &from_out}, {err_pipe[0], &from_err}};
  while (!open_fds.empty()) {
    std::vector<pollfd> fds;
    for (const auto& s : open_fds) fds.push_back({s.fd, POLLIN, 0});
    const int ready = poll(fds.data(), fds.size(), 60'000);
    if (ready < 0 && errno == EINTR) continue;
    REQUIRE(ready > 0);  // a minute without output or end: the command hangs
    for (std::size_t i = fds.size(); i-- > 0;) {
      if (fds[i].revents == 0) continue;
      char buf[4096];
      const ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n > 0) {
        open_fds[i].text->append(buf, static_cast<std::size_t>(n));
      } else {
        close(fds[i].fd);
        open_fds.erase(open_fds.begin() + static_cast<std::ptrdiff_t>(i));
      }
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = tty == tty_on::out ? from_tty : from_out;
  r.err = tty == tty_on::err ? from_tty : from_err;
  return r;
}

bool has_escape(std::string_view s) { return s.find('\x1b') != std::string_view::npos; }

struct tasks {
  fs::path dir = test_dir();
  // Succeeds, writing one line to each stream (the task's own output is never coloured).
  std::string ok() const { return write("ok.yml", "platform: linux\nrun: {path: sh, args: [-c, 'echo out; echo err >&2']}\n"); }
  std::string write(const std::string& name, const std::string& text) const {
    write_file(dir / name, text);
    return (dir / name).string();
  }
  ~tasks() { fs::remove_all(dir); }
};

// `--tag` on the local worker errors after `initializing`: bold on stdout, a red message on stderr and
// a red `errored` status on stdout, so one run shows what each stream would be given.
const std::string bold_initializing = "\x1b[1minitializing\x1b[0m\n";
const std::string red_errored = "\x1b[31merrored\x1b[0m\n";
const std::string no_workers = "no workers satisfying: platform 'linux', tag 'x'";

// On a terminal the status line ends with the build's elapsed time (`errored (0.0s)`): removed, so
// the colour checks compare the rest exactly.
const std::regex elapsed_suffix(R"( \((\d+h)?(\d+m)?\d+(\.\d)?s\)\n)");
std::string untimed(const std::string& s) { return std::regex_replace(s, elapsed_suffix, "\n"); }

}  // namespace

TEST_CASE("execute colours stdout when it is a terminal and leaves a piped stderr plain", "[cli][execute][colour]") {
  tasks t;
  auto r = run_with_tty(tty_on::out, {"execute", "-c", t.ok(), "--tag", "x"});
  CHECK(r.exit_code == 2);
  CHECK(untimed(r.out) == bold_initializing + red_errored);
  CHECK(r.err == no_workers + "\n");

  r = run_with_tty(tty_on::out, {"execute", "-c", t.ok()});
  CHECK(r.exit_code == 0);
  CHECK(untimed(r.out) == bold_initializing + "\x1b[1mselected worker:\x1b[0m local\n" +
                     "\x1b[1mrunning sh -c echo out; echo err >&2\x1b[0m\nout\n\x1b[32msucceeded\x1b[0m\n");
  CHECK(r.err == "err\n");
}

TEST_CASE("execute colours stderr when it is a terminal and leaves a piped stdout plain", "[cli][execute][colour]") {
  tasks t;
  auto r = run_with_tty(tty_on::err, {"execute", "-c", t.ok(), "--tag", "x"});
  CHECK(r.exit_code == 2);
  CHECK(r.out == "initializing\nerrored\n");
  CHECK(r.err == "\x1b[31m" + no_workers + "\x1b[0m\n");

  r = run_with_tty(tty_on::err, {"execute", "-c", t.ok()});
  CHECK(r.exit_code == 0);
  CHECK_FALSE(has_escape(r.out));
  CHECK(r.err == "err\n");  // the task's own stderr, as it wrote it
}

TEST_CASE("execute without any terminal prints no colour codes", "[cli][execute][colour]") {
  tasks t;
  auto r = run_with_tty(tty_on::none, {"execute", "-c", t.ok(), "--tag", "x"});
  CHECK(r.out == "initializing\nerrored\n");
  CHECK(r.err == no_workers + "\n");
}

TEST_CASE("execute: NO_COLOR (any non-empty value) and TERM=dumb turn colour off on a terminal", "[cli][execute][colour]") {
  tasks t;
  for (const std::string env : {"NO_COLOR=1", "NO_COLOR=0", "TERM=dumb"}) {
    for (const tty_on tty : {tty_on::out, tty_on::err}) {
      INFO(env << (tty == tty_on::out ? " (stdout a tty)" : " (stderr a tty)"));
      auto r = run_with_tty(tty, {"execute", "-c", t.ok(), "--tag", "x"}, {env});
      CHECK(r.exit_code == 2);
      CHECK(untimed(r.out) == "initializing\nerrored\n");
      CHECK(r.err == no_workers + "\n");
    }
  }
  // An empty NO_COLOR does not count (no-color.org: "present and not an empty string").
  auto r = run_with_tty(tty_on::out, {"execute", "-c", t.ok(), "--tag", "x"}, {"NO_COLOR="});
  CHECK(untimed(r.out) == bold_initializing + red_errored);
}

TEST_CASE("execute --color=always colours pipes, even with NO_COLOR or TERM=dumb", "[cli][execute][colour]") {
  tasks t;
  for (const auto& env :
       {std::vector<std::string>{}, std::vector<std::string>{"NO_COLOR=1"}, std::vector<std::string>{"TERM=dumb"}}) {
    INFO((env.empty() ? std::string("no NO_COLOR") : env.front()));
    auto r = run_with_tty(tty_on::none, {"execute", "--color=always", "-c", t.ok(), "--tag", "x"}, env);
    CHECK(r.exit_code == 2);
    CHECK(untimed(r.out) == bold_initializing + red_errored);
    CHECK(r.err == "\x1b[31m" + no_workers + "\x1b[0m\n");
  }
  // The task's own output still passes through as it was written.
  auto r = run_with_tty(tty_on::none, {"execute", "--color", "always", "-c", t.ok()});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("\x1b[0m\nout\n\x1b[32msucceeded\x1b[0m\n") != std::string::npos);
  CHECK(r.err == "err\n");
}

TEST_CASE("execute --color=never prints no colour codes on a terminal", "[cli][execute][colour]") {
  tasks t;
  for (const tty_on tty : {tty_on::out, tty_on::err}) {
    auto r = run_with_tty(tty, {"execute", "--color=never", "-c", t.ok(), "--tag", "x"});
    CHECK(r.exit_code == 2);
    CHECK(untimed(r.out) == "initializing\nerrored\n");
    CHECK(r.err == no_workers + "\n");
  }
}

TEST_CASE("execute --json is never coloured, whatever --color and the terminal say", "[cli][execute][colour]") {
  tasks t;
  for (const std::string colour : {"--color=auto", "--color=always"}) {
    for (const tty_on tty : {tty_on::out, tty_on::err}) {
      INFO(colour << (tty == tty_on::out ? " (stdout a tty)" : " (stderr a tty)"));
      for (const std::string& task : {t.ok(), t.write("missing.yml", "")}) {
        auto r = run_with_tty(tty, {"execute", "--json", colour, "-c", task, "--tag", "x"});
        CHECK(r.exit_code == (task == t.ok() ? 2 : 1));  // no workers: errored; an empty task file: fly's own error
        CHECK(r.out.find("\"event\":\"error\"") != std::string::npos);
        CHECK_FALSE(has_escape(r.out));
        CHECK_FALSE(has_escape(r.err));
      }
    }
  }
}

TEST_CASE("execute --color accepts only auto, always and never", "[cli][execute][colour]") {
  auto r = run_taskstep({"execute", "--color=sometimes", "-c", "task.yml"});
  CHECK(r.exit_code == 1);  // a bad flag: fly's exit 1
  CHECK(r.err.find("--color: sometimes not in {auto,always,never}") != std::string::npos);
}

TEST_CASE("execute ends its status line with the elapsed time on a terminal only", "[cli][execute][colour]") {
  tasks t;
  const std::regex timed(R"(\nsucceeded \(\d+\.\ds\)\n$)");
  auto r = run_with_tty(tty_on::out, {"execute", "--color=never", "-c", t.ok()});
  CHECK(r.exit_code == 0);
  CHECK(std::regex_search(r.out, timed));
  r = run_with_tty(tty_on::err, {"execute", "--color=never", "-c", t.ok()});
  CHECK(r.out.ends_with("\nsucceeded\n"));
}

TEST_CASE("execute draws progress for staging inputs and copying outputs on a terminal stderr only", "[cli][execute][progress]") {
  tasks t;
  const auto repo = t.dir / "repo";
  fs::create_directories(repo);
  for (int i = 0; i < 3; ++i) write_file(repo / ("blob" + std::to_string(i)), std::string(std::size_t{3} << 20, 'x'));
  REQUIRE(std::system(("git -C " + repo.string() + " init -q && git -C " + repo.string() + " add -A").c_str()) == 0);
  const auto task = t.write("progress.yml",
                            "platform: linux\ninputs: [{name: repo}]\noutputs: [{name: out}]\n"
                            "run: {path: sh, args: [-c, 'head -c 2097152 /dev/zero > out/two-mib']}\n");
  const auto out_dir = t.dir / "copied";
  const std::vector<std::string> args{"execute", "-c", task, "-i", "repo=" + repo.string(), "-o", "out=" + out_dir.string()};

  auto r = run_with_tty(tty_on::err, args);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("\rstaging input repo  0 B / 9.0 MiB [>") != std::string::npos);
  CHECK(r.err.find("staging input repo  9.0 MiB / 9.0 MiB [==============================] 100%\n") != std::string::npos);
  CHECK(r.err.find("copying output out  2.0 MiB / 2.0 MiB [==============================] 100%\n") != std::string::npos);
  CHECK(fs::file_size(out_dir / "two-mib") == 2097152);

  // stderr a pipe (stdout the terminal), or --json: no progress at all.
  for (const auto& extra : {std::vector<std::string>{}, std::vector<std::string>{"--json"}}) {
    auto more = args;
    more.insert(more.end(), extra.begin(), extra.end());
    auto piped = run_with_tty(extra.empty() ? tty_on::out : tty_on::err, more);
    CHECK(piped.exit_code == 0);
    CHECK(piped.err.find("staging input") == std::string::npos);
    CHECK(piped.err.find("copying output") == std::string::npos);
    CHECK(piped.out.find("staging input") == std::string::npos);
  }
}
