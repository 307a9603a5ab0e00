// `taskstep execute` around the step: worker auto, output targets and copy-out failures, git-input
// staging under $TMPDIR (private, cancellable, disk-full), real errnos for files it opens.

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <thread>

#include "common/tmpfs.hpp"
#include "cli/run_command.hpp"
#include "oci/oci_support.hpp"

namespace fs = std::filesystem;

namespace {

struct workspace {
  fs::path dir = test_dir();
  int tasks = 0;
  workspace() { fs::permissions(dir, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec); }
  std::string task(const std::string& text) {
    const auto path = dir / ("task" + std::to_string(tasks++) + ".yml");
    write_file(path, text);
    return path.string();
  }
  ~workspace() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

// A taskstep process started with extra environment and an optional command prefix (e.g. setpriv).
struct started {
  pid_t pid = -1;
  fs::path out, err;
  command_result wait() {
    command_result r;
    int status = 0;
    waitpid(pid, &status, 0);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
  }
};

started start_taskstep(const fs::path& io, const std::vector<std::string>& args,
                       const std::map<std::string, std::string>& env = {}, const std::vector<std::string>& prefix = {}) {
  started s{-1, io / "stdout", io / "stderr"};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, s.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, s.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<std::string> argv_strings = prefix;
  argv_strings.push_back(TASKSTEP_BINARY);
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string kv = *e;
    if (!env.count(kv.substr(0, kv.find('=')))) env_strings.push_back(kv);
  }
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  if (posix_spawnp(&s.pid, argv[0], &actions, nullptr, argv.data(), envp.data()) != 0) s.pid = -1;
  posix_spawn_file_actions_destroy(&actions);
  return s;
}

command_result run_with(const fs::path& io, const std::vector<std::string>& args,
                        const std::map<std::string, std::string>& env = {}, const std::vector<std::string>& prefix = {}) {
  fs::create_directories(io);
  auto s = start_taskstep(io, args, env, prefix);
  REQUIRE(s.pid > 0);
  return s.wait();
}

int count_prefixed(const fs::path& dir, const std::string& prefix) {
  int n = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().filename().string().rfind(prefix, 0) == 0) ++n;
  return n;
}

void git_init(const fs::path& repo) {
  REQUIRE(std::system(("git -C " + repo.string() + " init -q && git -C " + repo.string() + " add -A").c_str()) == 0);
}

}  // namespace

// --- --worker auto ----------------------------------------------------------------------------

TEST_CASE("worker auto: a task without an image runs on the local worker", "[cli][execute][auto]") {
  workspace w;
  auto r = run_taskstep({"execute", "-c", w.task("platform: linux\nrun: {path: sh, args: [-c, 'echo host-$((40+2))']}\n")});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("selected worker: local\n") != std::string::npos);
  CHECK(r.out.find("host-42\n") != std::string::npos);
  CHECK(r.err.find("image is ignored") == std::string::npos);
}

TEST_CASE("worker auto: a task with an image runs in a container when containers can run here", "[cli][execute][auto][oci]") {
  if (auto why = taskstep::test::containers_unavailable(); !why.empty()) {
    WARN("SKIPPED: " << why);
    return;
  }
  workspace w;
  const auto image = w.dir / "image";
  taskstep::test::write_busybox_image(image, {"PATH=/bin", "FROM_IMAGE=yes"}, "root");
  const auto runc_root = (w.dir / "runc-state").string();
  auto r = run_taskstep({"execute", "--runc-root", runc_root, "--image", image.string(), "-c",
                         w.task("platform: linux\nrun: {path: sh, args: [-c, 'echo in-$FROM_IMAGE-$(pwd)']}\n")});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("selected worker: oci\n") != std::string::npos);
  CHECK(r.out.find("in-yes-/tmp/build/") != std::string::npos);
  // rootfs_uri is an image too
  r = run_taskstep({"execute", "--runc-root", runc_root, "-c",
                    w.task("platform: linux\nrootfs_uri: raw://" + (image / "rootfs").string() +
                           "\nrun: {path: sh, args: [-c, 'test -x /bin/busybox && echo boxed-$((40+2))']}\n")});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("selected worker: oci\n") != std::string::npos);
  CHECK(r.out.find("boxed-42\n") != std::string::npos);
  CHECK(taskstep::test::runc_list(runc_root).empty());
}

TEST_CASE("worker auto: a task with an image is refused where containers cannot run, naming --worker local", "[cli][execute][auto]") {
  if (::geteuid() != 0 || !fs::exists("/usr/bin/setpriv")) {
    WARN("SKIPPED: needs root and setpriv (util-linux) to run taskstep as an unprivileged user");
    return;
  }
  workspace w;
  const auto home = w.dir / "home";
  fs::create_directories(home);
  REQUIRE(::chown(home.c_str(), 65534, 65534) == 0);
  const auto task = w.task("platform: linux\nimage_resource: {type: registry-image, source: {repository: busybox}}\n"
                           "run: {path: sh, args: [-c, 'echo ran-$((40+2))']}\n");
  ::chmod(task.c_str(), 0644);
  const std::map<std::string, std::string> env{{"HOME", home.string()}, {"TMPDIR", home.string()}};
  const std::vector<std::string> as_nobody{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
  auto r = run_with(w.dir / "io", {"execute", "-c", task}, env, as_nobody);
  INFO(r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.out.find("ran-42") == std::string::npos);
  CHECK(r.err.find("the task names an image, but containers cannot run here: the oci worker needs root") != std::string::npos);
  CHECK(r.err.find("pass --worker local") != std::string::npos);
  // --worker local runs it on the host anyway, with the one warning line
  r = run_with(w.dir / "io", {"execute", "--worker", "local", "-c", task}, env, as_nobody);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("ran-42\n") != std::string::npos);
  CHECK(r.err.find("[WARNING] the local worker runs tasks on the host's root filesystem; the task's image is ignored") !=
        std::string::npos);
}

TEST_CASE("worker local given explicitly runs a task with an image on the host, with one warning", "[cli][execute][auto]") {
  workspace w;
  auto r = run_taskstep({"execute", "--worker", "local", "-c",
                         w.task("platform: linux\nrootfs_uri: raw:///nowhere\nrun: {path: sh, args: [-c, 'echo host-$((40+2))']}\n")});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("selected worker: local\n") != std::string::npos);
  CHECK(r.out.find("host-42\n") != std::string::npos);
  CHECK(r.err == "[WARNING] the local worker runs tasks on the host's root filesystem; the task's image is ignored\n");
}

// --- outputs ----------------------------------------------------------------------------------

TEST_CASE("execute refuses two outputs in one -o directory, or nested, before running anything", "[cli][execute][outputs]") {
  workspace w;
  const auto task = w.task("platform: linux\noutputs: [{name: a}, {name: b}]\nrun: {path: sh, args: [-c, 'echo ran-$((40+2))']}\n");
  const auto o = (w.dir / "o").string();
  auto r = run_taskstep({"execute", "-c", task, "-o", "a=" + o, "-o", "b=" + o});
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK(r.err == "outputs `a` and `b` are both copied into " + o + ": give each output its own -o directory\n");
  r = run_taskstep({"execute", "-c", task, "-o", "a=" + o, "-o", "b=" + o + "/inner"});
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK(r.err.find("output `b` would be copied into " + o + "/inner, inside " + o + " where output `a` goes") == 0);
  CHECK_FALSE(fs::exists(o));
}

TEST_CASE("execute: an output that cannot be copied out errors, names it, the target and the errno, and is kept", "[cli][execute][outputs]") {
  workspace w;
  const auto file = w.dir / "a-file";
  write_file(file, "x");
  const auto task = w.task("platform: linux\noutputs: [{name: out}]\nrun: {path: sh, args: [-c, 'echo precious > out/p']}\n");
  auto r = run_taskstep({"execute", "-c", task, "-o", "out=" + file.string()});
  CHECK(r.exit_code == 2);
  CHECK(r.out.find("errored\n") != std::string::npos);
  CHECK(r.out.find("succeeded") == std::string::npos);
  INFO(r.err);
  CHECK(r.err.find("downloading output `out` to " + file.string() + " failed: ") != std::string::npos);
  CHECK((r.err.find("File exists") != std::string::npos || r.err.find("Not a directory") != std::string::npos));
  const auto at = r.err.find("the output is kept in ");
  REQUIRE(at != std::string::npos);
  const fs::path kept = r.err.substr(at + 22, r.err.find('\n', at) - at - 22);
  CHECK(slurp(kept / "p") == "precious\n");
  std::error_code ec;
  fs::remove_all(kept.parent_path().parent_path(), ec);  // the kept run root
}

TEST_CASE("execute: an output copied onto a read-only filesystem errors with EROFS and is kept", "[cli][execute][outputs]") {
  workspace w;
  taskstep::test::scoped_tmpfs ro(w.dir / "ro", "size=1m");
  if (!ro.why_not().empty()) {
    WARN("SKIPPED: " << ro.why_not());
    return;
  }
  REQUIRE(ro.make_read_only());
  const auto task = w.task("platform: linux\noutputs: [{name: out}]\nrun: {path: sh, args: [-c, 'echo precious > out/p']}\n");
  auto r = run_taskstep({"execute", "-c", task, "-o", "out=" + (ro.dir() / "target").string()});
  INFO(r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.out.find("errored\n") != std::string::npos);
  CHECK(r.err.find("downloading output `out` to " + (ro.dir() / "target").string() + " failed: ") != std::string::npos);
  CHECK(r.err.find("Read-only file system") != std::string::npos);
  const auto at = r.err.find("the output is kept in ");
  REQUIRE(at != std::string::npos);
  const fs::path kept = r.err.substr(at + 22, r.err.find('\n', at) - at - 22);
  CHECK(slurp(kept / "p") == "precious\n");
  std::error_code ec;
  fs::remove_all(kept.parent_path().parent_path(), ec);
}

// Copy-out must not follow the link the first run left in the target (needs the real
// artifact::copy_tree_into to also deliver out/d/file; the shim refuses to descend, which keeps the
// host safe too).
TEST_CASE("execute: a link an earlier run left in the -o directory is never followed", "[cli][execute][outputs][symlink]") {
  workspace w;
  const auto host = w.dir / "host-dir";
  fs::create_directories(host);
  const auto target = (w.dir / "got").string();
  auto first = run_taskstep({"execute", "-c",
                             w.task("platform: linux\noutputs: [{name: out}]\nrun: {path: ln, args: [-s, " + host.string() +
                                    ", out/d]}\n"),
                             "-o", "out=" + target});
  CHECK(first.exit_code == 0);
  REQUIRE(fs::is_symlink(fs::path(target) / "d"));
  auto second = run_taskstep({"execute", "-c",
                              w.task("platform: linux\noutputs: [{name: out}]\nrun: {path: sh, args: [-ec, 'mkdir out/d; echo owned > out/d/file']}\n"),
                              "-o", "out=" + target});
  INFO(second.err);
  CHECK_FALSE(fs::exists(host / "file"));
  CHECK(fs::is_empty(host));
}

// --- git-input staging ------------------------------------------------------------------------

TEST_CASE("execute stages a git input in a private mkdtemp directory under TMPDIR", "[cli][execute][inputs]") {
  workspace w;
  const auto tmp = w.dir / "tmp";
  fs::create_directories(tmp);
  write_file(w.dir / "repo" / "a.txt", "a");
  git_init(w.dir / "repo");
  const auto task = w.task("platform: linux\ninputs: [{name: repo}]\nrun: {path: sh, args: [-c, 'stat -c %a " + tmp.string() +
                           "/taskstep-input-*; ls repo']}\n");
  auto r = run_with(w.dir / "io", {"execute", "-c", task, "-i", "repo=" + (w.dir / "repo").string()}, {{"TMPDIR", tmp.string()}});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("\n700\na.txt\n") != std::string::npos);
  CHECK(count_prefixed(tmp, "taskstep-input-") == 0);  // removed after the run
  CHECK(count_prefixed(tmp, "taskstep-runs-") == 0);   // the run root lives under TMPDIR too, and is gone
}

TEST_CASE("execute: disk full while staging a git input fails naming the file and the errno", "[cli][execute][inputs]") {
  workspace w;
  taskstep::test::scoped_tmpfs small(w.dir / "tmp", "size=256k");
  if (!small.why_not().empty()) {
    WARN("SKIPPED: " << small.why_not());
    return;
  }
  write_file(w.dir / "repo" / "big.bin", std::string(1 << 20, 'x'));
  git_init(w.dir / "repo");
  const auto task = w.task("platform: linux\ninputs: [{name: repo}]\nrun: {path: sh, args: [-c, 'echo ran-$((40+2))']}\n");
  auto r = run_with(w.dir / "io", {"execute", "-c", task, "-i", "repo=" + (w.dir / "repo").string()},
                    {{"TMPDIR", small.dir().string()}});
  INFO(r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.out.find("ran-42") == std::string::npos);
  CHECK(r.err.find("staging input `repo` failed") != std::string::npos);
  CHECK(r.err.find("big.bin") != std::string::npos);
  CHECK(r.err.find("No space left on device") != std::string::npos);
  CHECK(count_prefixed(small.dir(), "taskstep-") == 0);
}

TEST_CASE("execute: Ctrl-C while staging a git input aborts with interrupted and removes the partial copy", "[cli][execute][inputs][cancel]") {
  workspace w;
  const auto tmp = w.dir / "tmp";
  fs::create_directories(tmp);
  const auto repo = w.dir / "repo";
  for (int d = 0; d < 100; ++d) {
    fs::create_directories(repo / std::to_string(d));
    for (int f = 0; f < 200; ++f) std::ofstream(repo / std::to_string(d) / std::to_string(f)) << std::string(512, 'x');
  }
  git_init(repo);
  const auto task = w.task("platform: linux\ninputs: [{name: repo}]\nrun: {path: sh, args: [-c, 'echo ran-$((40+2))']}\n");
  fs::create_directories(w.dir / "io");
  auto s = start_taskstep(w.dir / "io", {"execute", "-c", task, "-i", "repo=" + repo.string()}, {{"TMPDIR", tmp.string()}});
  REQUIRE(s.pid > 0);
  bool seen = false;
  for (int i = 0; i < 20000 && !seen; ++i) {
    seen = count_prefixed(tmp, "taskstep-input-") > 0;
    if (!seen) std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  REQUIRE(seen);
  kill(s.pid, SIGINT);
  auto r = s.wait();
  INFO(r.out << r.err);
  CHECK(r.out.find("ran-42") == std::string::npos);  // the task never started: staging was interrupted
  CHECK(r.exit_code == 3);
  CHECK(r.err.find("interrupted") != std::string::npos);
  CHECK(r.out.find("aborted\n") != std::string::npos);
  CHECK(count_prefixed(tmp, "taskstep-") == 0);  // no partial copy, no run root
}

// --- errnos -----------------------------------------------------------------------------------

TEST_CASE("execute reports the real errno when it cannot open the task, secrets, vars or image", "[cli][execute]") {
  workspace w;
  const auto file = w.dir / "plain-file";
  write_file(file, "x");
  const auto under_file = (file / "x.yml").string();
  auto r = run_taskstep({"execute", "-c", under_file});
  CHECK(r.exit_code == 1);
  CHECK(r.err == "could not read file: open " + under_file + ": not a directory\n");
  const auto task = w.task("platform: linux\nrun: {path: 'true'}\n");
  r = run_taskstep({"execute", "-c", task, "--secrets-file", under_file});
  CHECK(r.err == "could not read secrets file (" + under_file + "): open " + under_file + ": not a directory\n");
  r = run_taskstep({"execute", "-c", task, "-l", under_file});
  CHECK(r.err == "could not read template variables file (" + under_file + "): open " + under_file + ": not a directory\n");
  r = run_taskstep({"execute", "-c", (w.dir / "missing.yml").string()});
  CHECK(r.err == "could not read file: open " + (w.dir / "missing.yml").string() + ": no such file or directory\n");
  r = run_taskstep({"execute", "-c", task, "--image", under_file});
  CHECK(r.exit_code == 1);
  CHECK(r.err == "image " + under_file + ": Not a directory\n");
}
