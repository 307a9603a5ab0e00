#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>
#include <thread>

#include "cli/run_command.hpp"

namespace fs = std::filesystem;

namespace {

struct workspace {
  fs::path dir = test_dir();
  int tasks = 0;
  std::string task(const std::string& text) {
    const auto path = dir / ("task" + std::to_string(tasks++) + ".yml");
    write_file(path, text);
    return path.string();
  }
  std::string input(const std::string& name, const std::string& file, const std::string& content) {
    write_file(dir / name / file, content);
    return name + "=" + (dir / name).string();
  }
  ~workspace() { fs::remove_all(dir); }
};

}  // namespace

TEST_CASE("execute runs the task on this host and exits with its status", "[cli][execute]") {
  workspace w;
  auto r = run_taskstep({"execute", "-c", w.task("platform: linux\nrun: {path: sh, args: [-c, 'echo out; echo err >&2; exit 7']}\n")});
  CHECK(r.exit_code == 7);
  CHECK(r.out == "initializing\nselected worker: local\nrunning sh -c echo out; echo err >&2; exit 7\nout\nfailed\n");
  CHECK(r.err == "err\n");
}

TEST_CASE("execute stages inputs copy-on-write, with mapping, and copies outputs out", "[cli][execute]") {
  workspace w;
  const auto src = w.input("code", "a.txt", "original\n");
  const auto out_dir = w.dir / "downloaded";
  auto r = run_taskstep({"execute", "-c",
                         w.task("platform: linux\ninputs: [{name: src}]\noutputs: [{name: out}]\n"
                                "run: {path: sh, args: [-ec, 'cat src/a.txt; echo changed > src/a.txt; cp src/a.txt out/']}\n"),
                         "-i", "src=" + (w.dir / "code").string(), "-o", "out=" + out_dir.string()});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("original\n") != std::string::npos);
  CHECK(slurp(w.dir / "code" / "a.txt") == "original\n");  // the input was never changed
  CHECK(slurp(out_dir / "a.txt") == "changed\n");
  (void)src;
}

TEST_CASE("execute reports fly's input errors and missing inputs as fly does (exit 1)", "[cli][execute]") {
  workspace w;
  const auto task = w.task("platform: linux\ninputs: [{name: src}, {name: opt, optional: true}]\nrun: {path: \"true\"}\n");
  auto r = run_taskstep({"execute", "-c", task});
  CHECK(r.exit_code == 1);
  CHECK(r.err == "missing required input `src`\n");
  r = run_taskstep({"execute", "-c", task, "-i", "nope=" + w.dir.string()});
  CHECK(r.exit_code == 1);
  CHECK(r.err == "unknown input `nope`\n");
  r = run_taskstep({"execute", "-c", task, "-i", "src=/does/not/exist"});
  CHECK(r.err == "path '/does/not/exist' does not exist\n");
  r = run_taskstep({"execute", "-c", task, "-i", "src"});
  CHECK(r.err == "invalid input pair 'src' (must be name=path)\n");
}

TEST_CASE("execute: args after -- are appended, params render into env, run.dir is honoured", "[cli][execute]") {
  workspace w;
  auto r = run_taskstep({"execute", "-c",
                         w.task("platform: linux\nparams: {FLAG: yes, NUM: 1e3, L: [1, a]}\n"
                                "run: {path: sh, dir: sub/dir, args: [-c, 'echo \"$FLAG $NUM $L $(basename $PWD) $0 $1\"']}\n"),
                         "--", "first", "second"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("true 1000 [1,\"a\"] dir first second\n") != std::string::npos);
}

TEST_CASE("execute: a secret is interpolated but never shown", "[cli][execute]") {
  workspace w;
  auto r = run_taskstep({"execute", "--json", "-c",
                         w.task("platform: linux\nparams: {TOKEN: ((token))}\nrun: {path: sh, args: [-c, 'echo token=$TOKEN; echo $TOKEN >&2', ((token))]}\n"),
                         "--secret", "token=s3cr3t-value"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("s3cr3t-value") == std::string::npos);
  CHECK(r.out.find("token=((redacted))") != std::string::npos);
  CHECK(r.out.find(R"("event":"finish","exit_status":0)") != std::string::npos);
}

TEST_CASE("execute: environment variables override params of the same name", "[cli][execute]") {
  workspace w;
  setenv("TASKSTEP_TEST_PARAM", "from-env", 1);
  auto r = run_taskstep({"execute", "-c",
                         w.task("platform: linux\nparams: {TASKSTEP_TEST_PARAM: from-file}\nrun: {path: sh, args: [-c, 'echo $TASKSTEP_TEST_PARAM']}\n")});
  unsetenv("TASKSTEP_TEST_PARAM");
  CHECK(r.out.find("from-env\n") != std::string::npos);
}

TEST_CASE("execute: caches persist across runs of a job, not for one-off runs", "[cli][execute][caches]") {
  workspace w;
  const auto task = w.task("platform: linux\ncaches: [{path: c}]\nrun: {path: sh, args: [-ec, 'ls c; touch c/marker']}\n");
  const auto cache_dir = (w.dir / "cache").string();
  auto one_off = run_taskstep({"execute", "-c", task, "--cache-dir", cache_dir});
  auto one_off2 = run_taskstep({"execute", "-c", task, "--cache-dir", cache_dir});
  CHECK(one_off2.out.find("\nmarker\n") == std::string::npos);
  auto first = run_taskstep({"execute", "-c", task, "--job", "build", "--cache-dir", cache_dir});
  CHECK(first.out.find("\nmarker\n") == std::string::npos);
  auto second = run_taskstep({"execute", "-c", task, "--job", "build", "--cache-dir", cache_dir});
  CHECK(second.exit_code == 0);
  CHECK(second.out.find("\nmarker\n") != std::string::npos);
  (void)one_off;
}

TEST_CASE("execute: --timeout stops the task, keeps outputs and fails the build", "[cli][execute][cancel]") {
  workspace w;
  const auto out_dir = w.dir / "o";
  const auto start = std::chrono::steady_clock::now();
  auto r = run_taskstep({"execute", "-c",
                         w.task("platform: linux\noutputs: [{name: out}]\nrun: {path: sh, args: [-c, 'echo partial > out/p; sleep 30']}\n"),
                         "--timeout", "500ms", "--grace", "1s", "-o", "out=" + out_dir.string()});
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("timeout exceeded") != std::string::npos);
  CHECK(slurp(out_dir / "p") == "partial\n");
}

TEST_CASE("execute: an unknown worker type or bad flags exit 1, as fly's flag errors", "[cli][execute]") {
  workspace w;
  const auto task = w.task("platform: linux\nrun: {path: \"true\"}\n");
  CHECK(run_taskstep({"execute", "-c", task, "--worker", "mainframe"}).exit_code == 1);
  CHECK(run_taskstep({"execute"}).exit_code == 1);
  CHECK(run_taskstep({"execute", "-c", task, "--timeout", "soon"}).exit_code == 1);
}

TEST_CASE("execute: the first Ctrl-C aborts gracefully, keeps outputs and leaves no process", "[cli][execute][cancel]") {
  workspace w;
  const auto out_dir = w.dir / "o";
  const auto pid_file = w.dir / "task.pid";
  const auto task = w.task(
      "platform: linux\noutputs: [{name: out}]\n"
      "run: {path: sh, args: [-c, 'echo $$ > " + pid_file.string() +
      "; trap \"echo trapped > out/t; exit 9\" TERM; echo ready-$((40+2)); while true; do sleep 0.05; done']}\n");
  const auto out_path = w.dir / "stdout";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<std::string> args{TASKSTEP_BINARY, "execute", "-c", task, "-o", "out=" + out_dir.string()};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  REQUIRE(posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) == 0);
  posix_spawn_file_actions_destroy(&actions);
  // The marker is computed by the shell, so it cannot be matched in the `running sh -c ...` line the
  // command prints before the task starts (waiting for a plain "ready" signalled the task before it
  // had set its trap).
  for (int i = 0; i < 200 && slurp(out_path).find("ready-42") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  REQUIRE(slurp(out_path).find("ready-42") != std::string::npos);
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 3);
  CHECK(slurp(out_dir / "t") == "trapped\n");
  const pid_t task_pid = std::stoi(slurp(pid_file));
  CHECK(kill(task_pid, 0) == -1);  // the task's shell is gone
}

TEST_CASE("execute: a killed run of a job leaves the previous cache untouched", "[cli][execute][caches]") {
  workspace w;
  const auto cache_dir = (w.dir / "cache").string();
  const auto good = w.task("platform: linux\ncaches: [{path: c}]\nrun: {path: sh, args: [-ec, 'cat c/v 2>/dev/null || true; echo good > c/v']}\n");
  REQUIRE(run_taskstep({"execute", "-c", good, "--job", "j", "--cache-dir", cache_dir}).exit_code == 0);
  const auto killed = w.task("platform: linux\ncaches: [{path: c}]\nrun: {path: sh, args: [-c, 'echo bad > c/v; sleep 30']}\n");
  CHECK(run_taskstep({"execute", "-c", killed, "--job", "j", "--cache-dir", cache_dir, "--timeout", "300ms", "--grace", "1s"}).exit_code == 1);
  auto after = run_taskstep({"execute", "-c", good, "--job", "j", "--cache-dir", cache_dir});
  CHECK(after.out.find("\ngood\n") != std::string::npos);
}

TEST_CASE("execute: a git working tree is staged as tracked plus untracked-but-not-ignored files", "[cli][execute][inputs]") {
  workspace w;
  const auto repo = w.dir / "repo";
  write_file(repo / "tracked.txt", "t");
  write_file(repo / ".gitignore", "ignored.txt\n");
  write_file(repo / "ignored.txt", "i");
  REQUIRE(std::system(("git -C " + repo.string() + " init -q && git -C " + repo.string() + " add tracked.txt .gitignore").c_str()) == 0);
  write_file(repo / "untracked.txt", "u");
  const auto task = w.task("platform: linux\ninputs: [{name: repo}]\nrun: {path: sh, args: [-c, 'ls -a repo | grep txt | tr \"\\n\" \" \"']}\n");
  auto r = run_taskstep({"execute", "-c", task, "-i", "repo=" + repo.string()});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("tracked.txt untracked.txt \n") != std::string::npos);
  r = run_taskstep({"execute", "-c", task, "-i", "repo=" + repo.string(), "--include-ignored"});
  CHECK(r.out.find("ignored.txt tracked.txt untracked.txt \n") != std::string::npos);
}

TEST_CASE("execute: tags the local worker lacks give no workers satisfying", "[cli][execute]") {
  workspace w;
  auto r = run_taskstep({"execute", "-c", w.task("platform: linux\nrun: {path: \"true\"}\n"), "--tag", "gpu"});
  CHECK(r.exit_code == 2);
  CHECK(r.err == "no workers satisfying: platform 'linux', tag 'gpu'\n");
}

TEST_CASE("execute: an image artifact is accepted and the local worker warns that it ignores it", "[cli][execute][image]") {
  workspace w;
  write_file(w.dir / "img" / "metadata.json", R"({"env": ["FROM_IMAGE=yes"], "user": "root"})");
  std::filesystem::create_directories(w.dir / "img" / "rootfs");
  auto r = run_taskstep({"execute", "-c", w.task("platform: linux\nrun: {path: sh, args: [-c, 'echo $FROM_IMAGE']}\n"),
                         "--image", (w.dir / "img").string(), "--worker", "local"});
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("[WARNING]") != std::string::npos);
  CHECK(r.err.find("image is ignored") != std::string::npos);
  CHECK(r.out.find("\nyes\n") != std::string::npos);  // image metadata env reaches the process
}

TEST_CASE("execute: -m maps a task input to the artifact a -i provides", "[cli][execute][inputs]") {
  workspace w;
  write_file(w.dir / "lib" / "v.txt", "mapped\n");
  const auto task = w.task("platform: linux\ninputs: [{name: dep}]\nrun: {path: cat, args: [dep/v.txt]}\n");
  auto r = run_taskstep({"execute", "-c", task, "-i", "dep=" + (w.dir / "lib").string(), "-m", "dep=library"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("\nmapped\n") != std::string::npos);
}

TEST_CASE("execute: --secrets-file values are credentials: interpolated and redacted", "[cli][execute]") {
  workspace w;
  write_file(w.dir / "secrets.yml", "api_key: abc123xyz\n");
  auto r = run_taskstep({"execute", "-c", w.task("platform: linux\nrun: {path: echo, args: ['key ((api_key))']}\n"),
                         "--secrets-file", (w.dir / "secrets.yml").string()});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("abc123xyz") == std::string::npos);
  CHECK(r.out.find("key ((redacted))\n") != std::string::npos);
}

TEST_CASE("execute --concourse: 6.7 and 7.14 refuse a task without run.path, 8.2 names the missing executable",
          "[cli][execute]") {
  workspace w;
  const auto t = w.task("platform: linux\n");
  auto old = run_taskstep({"execute", "-c", t, "--concourse", "6.7"});
  CHECK(old.exit_code == 1);  // an invalid task file is one of fly's own errors
  CHECK(old.err.find("missing path to executable to run") != std::string::npos);
  auto r = run_taskstep({"execute", "-c", t});  // the default is 8.2
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("No executable defined for task. Specify an executable to run in either the task config "
                   "(run.path) or as an ENTRYPOINT/CMD in the container image.") != std::string::npos);
  // 8.2's decoding runs in execute too: an unknown top-level key is refused before anything runs
  auto typo = run_taskstep({"execute", "-c", w.task("platform: linux\nrun: {path: \"true\"}\nouputs: []\n")});
  CHECK(typo.exit_code == 1);
  CHECK(typo.err.find("unknown fields: [ouputs]") != std::string::npos);
  CHECK(run_taskstep({"execute", "-c", w.task("platform: linux\nrun: {path: \"true\"}\n"), "--concourse", "7.14"})
            .exit_code == 0);
}
