// The Slurm worker against a real cluster (.ci/slurm-up; run inside its network namespace with its
// env file sourced). Without SLURM_CONF or an answering controller every test says SKIPPED.

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stop_token>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "common/recording_io.hpp"
#include "common/slurm_cluster.hpp"
#include "common/temp_dir.hpp"
#include "taskstep/worker/slurm.hpp"

namespace {

using namespace taskstep;
using taskstep::test::temp_dir;
namespace fs = std::filesystem;

using test::recording_io;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

#define REQUIRE_CLUSTER()                            \
  do {                                               \
    static const std::string why = taskstep::test::slurm_cluster_missing(); \
    if (!why.empty()) {                              \
      WARN("SKIPPED: " << why);                      \
      return;                                        \
    }                                                \
  } while (false)

worker::slurm make_worker(const temp_dir& dir, std::chrono::milliseconds grace = std::chrono::milliseconds(2000)) {
  worker::slurm_options o;
  o.shared_root = dir.path() / "shared";
  o.cache_root = dir.path() / "caches";
  o.grace = grace;
  o.allocation_wait = std::chrono::seconds(30);
  o.tool_timeout = std::chrono::seconds(5);
  return worker::slurm(o);
}

container_spec spec_with(std::vector<std::string> env = {"PATH=/usr/bin:/bin"}) {
  container_spec c;
  c.team = "main";
  c.step_name = "unit";
  c.env = std::move(env);
  return c;
}

process_spec shell(std::string script, std::string dir = "") {
  process_spec p;
  p.path = "sh";
  p.args = {"-c", std::move(script)};
  p.dir = std::move(dir);
  return p;
}

// The squeue lines (id|name|comment) of jobs whose comment mentions `needle`.
std::string jobs_matching(const std::string& needle) {
  auto r = worker::slurm_detail::run_tool({}, "squeue", {"-h", "--all", "-o", "%i|%j|%k"}, std::chrono::seconds(5));
  if (!r) return "squeue failed: " + r.error().message();
  std::istringstream in(r->out);
  std::string line, out;
  while (std::getline(in, line))
    if (line.find(needle) != std::string::npos) out += line + "\n";
  return out;
}

}  // namespace

TEST_CASE("slurm runs a task with inputs, outputs, caches, its exact env and run.dir", "[slurm]") {
  REQUIRE_CLUSTER();
  temp_dir dir;
  dir.write("src/a.txt", "hello from input\n");
  auto w = make_worker(dir);
  auto spec = spec_with({"PATH=/usr/bin:/bin", "FOO=a,b c", "EMPTY="});
  spec.job = "build";
  spec.inputs.push_back({"src", "src", dir.path() / "src", "src"});
  spec.outputs.push_back({"out", "out"});
  spec.caches.push_back({"cache"});
  const auto script =
      "cat ../../src/a.txt > ../../out/copy.txt; echo changed > ../../src/a.txt; env | sort > ../../out/env.txt;"
      " pwd > ../../out/pwd; echo \"$FOO\"; echo to-stderr >&2; cat ../../cache/count 2>/dev/null;"
      " echo run >> ../../cache/count; exit 3";
  recording_io io;
  auto r = w.run(spec, shell(script, "sub/dir"), io, {});
  REQUIRE(r);
  CHECK(io.starts == 1);
  CHECK(r->exit_status == 3);
  CHECK_FALSE(r->stopped);
  CHECK(io.out_text == "a,b c\n");
  CHECK(io.err_text == "to-stderr\n");
  REQUIRE(r->outputs.count("out") == 1);
  const fs::path out = r->outputs.at("out");
  CHECK(slurp(out / "copy.txt") == "hello from input\n");
  CHECK(slurp(dir.path() / "src/a.txt") == "hello from input\n");  // inputs are copies
  const std::string env = slurp(out / "env.txt");
  CHECK(env.find("FOO=a,b c\n") != std::string::npos);
  CHECK(env.find("EMPTY=\n") != std::string::npos);
  CHECK(env.find("SLURM_JOB_ID=") != std::string::npos);  // Slurm's job context (see the next test)
  CHECK(slurp(out / "pwd") == (out.parent_path() / "sub/dir").string() + "\n");
  CHECK(env.find("PWD=") != std::string::npos);
  CHECK(out.string().rfind((dir.path() / "shared").string(), 0) == 0);

  REQUIRE(w.commit_caches(spec, *r));
  w.release(*r);
  CHECK_FALSE(fs::exists(out));
  recording_io again;
  auto r2 = w.run(spec, shell("cat cache/count; exit 0"), again, {});
  REQUIRE(r2);
  CHECK(again.out_text == "run\n");
  w.release(*r2);
}

TEST_CASE("slurm: the task sees Slurm's job context, its own env and nothing of the submitting process's",
          "[slurm][env]") {
  REQUIRE_CLUSTER();
  temp_dir dir;
  ::setenv("TASKSTEP_SUBMITTER_ONLY", "leaked", 1);
  auto w = make_worker(dir);
  auto spec = spec_with({"PATH=/usr/bin:/bin", "P=from-params", "SLURM_JOB_NAME=the-task-wins"});
  spec.cpu = 1024;           // → --cpus-per-task=1
  spec.memory = 64ull << 20;  // → --mem=64
  spec.outputs.push_back({"out", "out"});
  recording_io io;
  auto r = w.run(spec, shell("env | sort > out/env"), io, {});
  ::unsetenv("TASKSTEP_SUBMITTER_ONLY");
  REQUIRE(r);
  INFO(io.err_text);
  CHECK(r->exit_status == 0);
  const std::string env = "\n" + slurp(r->outputs.at("out") / "env");
  INFO(env);
  // (SLURM_MEM_PER_NODE is passed on too where srun sets it; this cluster's srun does not for a step.)
  for (const char* name : {"SLURM_JOB_ID=", "SLURM_STEP_ID=0\n", "SLURM_JOB_NODELIST=", "SLURM_NTASKS=1\n",
                           "SLURM_CPUS_PER_TASK=1\n"})
    CHECK(env.find(std::string("\n") + name) != std::string::npos);
  CHECK(env.find("\nP=from-params\n") != std::string::npos);
  CHECK(env.find("\nSLURM_JOB_NAME=the-task-wins\n") != std::string::npos);
  CHECK(env.find("TASKSTEP_SUBMITTER_ONLY") == std::string::npos);
  CHECK(env.find("\nHOME=") == std::string::npos);
  w.release(*r);
}

TEST_CASE("slurm passes exit statuses through and refuses escaping paths", "[slurm]") {
  REQUIRE_CLUSTER();
  temp_dir dir;
  auto w = make_worker(dir);
  for (int code : {0, 1, 42}) {
    recording_io io;
    auto r = w.run(spec_with(), shell("exit " + std::to_string(code)), io, {});
    REQUIRE(r);
    CHECK(r->exit_status == code);
    CHECK(io.err_text.empty());
  }
  recording_io io;
  auto killed = w.run(spec_with(), shell("kill -9 $$"), io, {});
  REQUIRE(killed);
  CHECK(killed->exit_status == 137);

  auto spec = spec_with();
  spec.outputs.push_back({"out", "../x"});
  auto refused = w.run(spec, shell("true"), io, {});
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code() == errc::worker);
  CHECK(refused.error().message() == "output 'out' path '../x' resolves outside the working directory");
  auto missing = w.run(spec_with(), process_spec{"no-such-program", {}, "", ""}, io, {});
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message() == "exec: \"no-such-program\": executable file not found in $PATH");
}

TEST_CASE("slurm enforces the memory limit and says it was exceeded", "[slurm]") {
  REQUIRE_CLUSTER();
  temp_dir dir;
  auto w = make_worker(dir);
  auto spec = spec_with();
  spec.memory = 64ull << 20;
  recording_io io;
  auto ok = w.run(spec, shell("echo fits"), io, {});
  REQUIRE(ok);
  CHECK(ok->exit_status == 0);
  auto r = w.run(spec, shell("exec tail /dev/zero"), io, {});
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == errc::worker);
  CHECK_THAT(r.error().message(), Catch::StartsWith("memory limit of 67108864 bytes was exceeded"));
}

TEST_CASE("slurm maps tags to constraints and the partition option to --partition", "[slurm]") {
  REQUIRE_CLUSTER();
  temp_dir dir;
  auto w = make_worker(dir);
  auto spec = spec_with();
  spec.tags = {"fast", "ssd"};
  spec.cpu = 1024;
  recording_io io;
  auto r = w.run(spec, shell("test -n \"$SLURM_JOB_ID\" && echo job-$((40+2)); nproc"), io, {});
  REQUIRE(r);
  CHECK(r->exit_status == 0);
  CHECK(io.out_text == "job-42\n1\n");  // Slurm's job context; one CPU for 1024 shares

  spec.tags = {"fast", "gpu"};
  auto unsatisfiable = w.run(spec, shell("true"), io, {});
  REQUIRE_FALSE(unsatisfiable);
  CHECK_THAT(unsatisfiable.error().message(),
             Catch::StartsWith("no Slurm node in the default partition satisfies the step's tags (--constraint=fast&gpu)"));

  spec.tags = {"fast|ssd"};
  auto bad_tag = w.run(spec, shell("true"), io, {});
  REQUIRE_FALSE(bad_tag);
  CHECK_THAT(bad_tag.error().message(), Catch::Contains("cannot be a Slurm node feature"));

  worker::slurm_options o = w.options();
  o.partition = "batch";
  worker::slurm other(o);
  recording_io io2;
  auto in_batch = other.run(spec_with(), process_spec{"/bin/sh", {"-c", "exit 5"}, "", ""}, io2, {});
  REQUIRE(in_batch);
  CHECK(in_batch->exit_status == 5);
  o.partition = "nope";
  worker::slurm missing(o);
  auto no_partition = missing.run(spec_with(), shell("true"), io2, {});
  REQUIRE_FALSE(no_partition);
  CHECK_THAT(no_partition.error().message(), Catch::StartsWith("Slurm has no partition 'nope'"));
}

TEST_CASE("slurm cancellation: TERM reaches the task, outputs stay valid, nothing is left in squeue", "[slurm]") {
  REQUIRE_CLUSTER();
  temp_dir dir;
  auto w = make_worker(dir, std::chrono::milliseconds(3000));
  auto spec = spec_with();
  spec.step_name = "cancel-me";
  spec.outputs.push_back({"out", "out"});
  std::stop_source source;
  recording_io io;
  io.on_out = [&](const std::string& text) {
    if (text.find("ready") != std::string::npos) source.request_stop();
  };
  const auto t0 = std::chrono::steady_clock::now();
  auto r = w.run(spec, shell("trap 'echo trapped > out/t; exit 9' TERM; echo ready; while :; do sleep 0.1; done"), io,
                 source.get_token());
  const auto took = std::chrono::steady_clock::now() - t0;
  REQUIRE(r);
  CHECK(r->stopped);
  CHECK(r->exit_status == 9);
  CHECK(took < std::chrono::seconds(3));
  CHECK(slurp(r->outputs.at("out") / "t") == "trapped\n");
  CHECK(jobs_matching(dir.path().string()).empty());
  w.release(*r);

  SECTION("a task ignoring TERM is cancelled after the grace period") {
    auto quick = make_worker(dir, std::chrono::milliseconds(1000));
    std::stop_source s2;
    recording_io io2;
    io2.on_out = [&](const std::string& text) {
      if (text.find("ready") != std::string::npos) s2.request_stop();
    };
    const auto t1 = std::chrono::steady_clock::now();
    auto r2 = quick.run(spec, shell("trap '' TERM; echo ready; while :; do sleep 0.1; done"), io2, s2.get_token());
    REQUIRE(r2);
    CHECK(r2->stopped);
    CHECK(std::chrono::steady_clock::now() - t1 < std::chrono::seconds(8));
    CHECK(r2->outputs.count("out") == 1);
    CHECK(jobs_matching(dir.path().string()).empty());
    CHECK(io2.err_text.find("srun:") == std::string::npos);
    quick.release(*r2);
  }
}

TEST_CASE("slurm reports an unreachable controller in bounded time", "[slurm]") {
  REQUIRE_CLUSTER();
  temp_dir dir;
  std::string conf = slurp(std::getenv("SLURM_CONF"));
  conf += "\nSlurmctldPort=6999\n";  // nothing listens there
  const auto dead = dir.write("dead/slurm.conf", conf);
  auto cgroup = slurp(fs::path(std::getenv("SLURM_CONF")).parent_path() / "cgroup.conf");
  dir.write("dead/cgroup.conf", cgroup);
  worker::slurm_options o;
  o.shared_root = dir.path() / "shared";
  o.cache_root = dir.path() / "caches";
  o.client_env = {"SLURM_CONF=" + dead.string()};
  o.start_timeout = std::chrono::seconds(3);
  o.tool_timeout = std::chrono::seconds(2);
  worker::slurm w(o);
  recording_io io;
  const auto t0 = std::chrono::steady_clock::now();
  auto r = w.run(spec_with(), shell("echo never"), io, {});
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(12));
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == errc::worker);
  CHECK_THAT(r.error().message(), Catch::StartsWith("the Slurm controller is not reachable"));
  CHECK(io.out_text.empty());

  const auto t1 = std::chrono::steady_clock::now();
  auto s = w.refresh();
  CHECK(std::chrono::steady_clock::now() - t1 < std::chrono::seconds(4));
  REQUIRE_FALSE(s);
  CHECK_THAT(s.error().message(), Catch::Contains("not reachable"));
}

TEST_CASE("slurm info comes from sinfo and squeue", "[slurm]") {
  REQUIRE_CLUSTER();
  temp_dir dir;
  auto w = make_worker(dir);
  CHECK(w.info().name == "slurm");
  auto s = w.refresh();
  REQUIRE(s);
  CHECK(s->partition == "debug");
  CHECK(s->total_cpus >= 1);
  CHECK(s->idle_cpus <= s->total_cpus);
  CHECK(s->features == std::vector<std::string>{"fast", "ssd"});
  CHECK(w.info().platform == "linux");
  CHECK(std::find(w.info().tags.begin(), w.info().tags.end(), "ssd") != w.info().tags.end());
}

TEST_CASE("slurm runs an image artifact through srun --container", "[slurm][container]") {
  REQUIRE_CLUSTER();
  if (!fs::exists("/bin/busybox") || ::geteuid() != 0) {
    WARN("SKIPPED: needs root and /bin/busybox (busybox-static) for the image");
    return;
  }
  temp_dir dir;
  const auto image = dir.mkdir("image");
  const auto rootfs = dir.mkdir("image/rootfs");
  for (const char* d : {"bin", "usr/bin", "sbin", "usr/sbin", "proc", "sys", "dev", "tmp", "etc"}) fs::create_directories(rootfs / d);
  fs::copy_file("/bin/busybox", rootfs / "bin/busybox");
  REQUIRE(std::system(("chroot " + rootfs.string() + " /bin/busybox --install -s").c_str()) == 0);
  dir.write("image/rootfs/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
  dir.write("image/rootfs/etc/group", "root:x:0:\n");
  dir.write("image/metadata.json", R"({"env":["IMG=1"],"user":""})");
  dir.write("src/a.txt", "in\n");

  auto w = make_worker(dir);
  auto spec = spec_with({"IMG=1", "PATH=/bin:/usr/bin", "FOO=x,y"});
  spec.image = image_artifact{"img", image, {}};
  spec.working_dir = "/tmp/build/12345678";
  spec.memory = 64ull << 20;
  spec.inputs.push_back({"src", "src", dir.path() / "src", "src"});
  spec.outputs.push_back({"out", "out"});
  recording_io io;
  auto r = w.run(spec, shell("cat src/a.txt; env | sort > out/env; pwd > out/pwd; test -e /bin/busybox && exit 6", ""), io, {});
  REQUIRE(r);
  INFO(io.err_text);
  CHECK(r->exit_status == 6);
  CHECK(io.out_text == "in\n");
  const std::string env = slurp(r->outputs.at("out") / "env");
  CHECK(env.find("FOO=x,y\n") != std::string::npos);
  CHECK(env.find("IMG=1\n") != std::string::npos);
  CHECK(env.find("SLURM_JOB_ID=") != std::string::npos);
  CHECK(env.find("TASKSTEP_SUBMITTER_ONLY") == std::string::npos);
  CHECK(slurp(r->outputs.at("out") / "pwd") == "/tmp/build/12345678\n");
  w.release(*r);
  CHECK(jobs_matching(dir.path().string()).empty());
}

TEST_CASE("slurm: when taskstep is SIGKILLed mid-run, its watchdog cancels the job and removes the run dir",
          "[slurm][lifetime]") {
  REQUIRE_CLUSTER();
  temp_dir dir;
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t owner = ::fork();
  REQUIRE(owner >= 0);
  if (owner == 0) {  // a "taskstep" running one step, killed below without a chance to clean up
    ::close(fds[0]);
    auto w = make_worker(dir, std::chrono::milliseconds(60000));
    recording_io io;
    io.on_out = [&](const std::string& all) {
      if (all.find("ready-42") != std::string::npos) (void)!::write(fds[1], "r", 1);
    };
    (void)w.run(spec_with(), shell("trap '' TERM; echo ready-$((40+2)); while :; do sleep 0.1; done"), io,
                std::stop_token{});
    ::_exit(0);
  }
  ::close(fds[1]);
  char c = 0;
  const bool ready = ::read(fds[0], &c, 1) == 1;
  ::close(fds[0]);
  REQUIRE(ready);
  const std::string comment = "taskstep:" + (dir.path() / "shared").string();
  CHECK(!jobs_matching(comment).empty());
  ::kill(owner, SIGKILL);
  int status = 0;
  ::waitpid(owner, &status, 0);
  std::string left = jobs_matching(comment);
  for (int i = 0; i < 300 && !left.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    left = jobs_matching(comment);
  }
  CHECK(left.empty());
  bool any_run_dir = false;
  for (int i = 0; i < 200; ++i) {
    any_run_dir = false;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir.path() / "shared", ec))
      if (e.path().filename().string().rfind("run-", 0) == 0) any_run_dir = true;
    if (!any_run_dir) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK_FALSE(any_run_dir);
}
