// The local worker never chowns, stages or commits through a symbolic link an input or the task
// made (issue 10, Isolation), and concurrent commits of one cache keep it whole.

#include <catch2/catch.hpp>

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "worker/local_support.hpp"

using namespace taskstep;
using namespace taskstep::test;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

uid_t owner_of_nobody() {
  const passwd* pw = ::getpwnam("nobody");
  return pw != nullptr ? pw->pw_uid : static_cast<uid_t>(-1);
}

uid_t owner(const fs::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0 ? st.st_uid : static_cast<uid_t>(-1);
}

// An input artifact `art` whose `out` entry is a link to `host` (a real directory holding a file),
// or, for the positive control, a plain directory.
fs::path input_with(const temp_dir& dir, const std::string& entry, bool link) {
  const auto art = dir.mkdir("art");
  if (link) fs::create_symlink(dir.path() / "host", art / entry);
  else fs::create_directories(art / entry);
  return art;
}

}  // namespace

TEST_CASE("local: an output inside an input's link is refused and the host dir is not chowned", "[worker][local][isolation]") {
  temp_dir dir;
  ::chmod(dir.path().c_str(), 0755);
  dir.write("host/file", "host");
  auto w = make_worker(dir, worker::staging_mode::copy);
  auto p = shell("echo x > in/out/new 2>/dev/null; true");
  if (running_as_root()) p.user = "nobody";

  for (const bool link : {true, false}) {
    DYNAMIC_SECTION((link ? "a link there" : "positive control: a plain directory there")) {
      auto spec = spec_with();
      spec.inputs.push_back({"in", "art", input_with(dir, "out", link), "in"});
      spec.outputs.push_back({"out", "in/out"});
      recording_io io;
      auto r = w.run(spec, p, io, {});
      if (link) {
        REQUIRE_FALSE(r);
        CHECK(contains(r.error().message(), "output 'out' path 'in/out': in/out is a symbolic link"));
        CHECK_FALSE(fs::exists(dir.path() / "host/new"));
      } else {
        REQUIRE(r);
        if (running_as_root()) CHECK(owner(r->outputs.at("in/out")) == owner_of_nobody());
        w.release(*r);
      }
      CHECK(owner(dir.path() / "host") == ::geteuid());
      CHECK(owner(dir.path() / "host/file") == ::geteuid());
    }
  }
}

TEST_CASE("local: run.dir inside an input's link is refused and the host dir is not chowned", "[worker][local][isolation]") {
  temp_dir dir;
  ::chmod(dir.path().c_str(), 0755);
  dir.write("host/file", "host");
  auto w = make_worker(dir, worker::staging_mode::copy);
  for (const bool link : {true, false}) {
    DYNAMIC_SECTION((link ? "a link there" : "positive control: a plain directory there")) {
      auto spec = spec_with();
      spec.inputs.push_back({"in", "art", input_with(dir, "out", link), "in"});
      auto p = shell("pwd", "in/out");
      if (running_as_root()) p.user = "nobody";
      recording_io io;
      auto r = w.run(spec, p, io, {});
      if (link) {
        REQUIRE_FALSE(r);
        CHECK(contains(r.error().message(), "run.dir 'in/out': in/out is a symbolic link"));
      } else {
        REQUIRE(r);
        CHECK(contains(io.out_text, "/work/in/out\n"));
      }
      CHECK(owner(dir.path() / "host") == ::geteuid());
      CHECK(owner(dir.path() / "host/file") == ::geteuid());
    }
  }
}

TEST_CASE("local: a cache staged where an input holds a link is refused, the host dir is never written", "[worker][local][isolation][caches]") {
  temp_dir dir;
  dir.mkdir("host");
  auto w = make_worker(dir, worker::staging_mode::copy);
  // a committed cache for in/cache
  dir.write("seed/cached-file", "from the cache");
  REQUIRE(w.caches().commit({"main", "build", "unit", "in/cache"}, dir.path() / "seed"));
  for (const bool link : {true, false}) {
    DYNAMIC_SECTION((link ? "a link there" : "positive control: a plain directory there")) {
      auto spec = spec_with();
      spec.job = "build";
      spec.inputs.push_back({"in", "art", input_with(dir, "cache", link), "in"});
      spec.caches.push_back({"in/cache"});
      recording_io io;
      auto r = w.run(spec, shell("cat in/cache/cached-file"), io, {});
      if (link) {
        REQUIRE_FALSE(r);
        CHECK(contains(r.error().message(), "cache path 'in/cache': in/cache is a symbolic link"));
      } else {
        REQUIRE(r);
        CHECK(io.out_text == "from the cache");
        w.release(*r);
      }
      CHECK(fs::is_empty(dir.path() / "host"));
    }
  }
}

TEST_CASE("local: a cache the task replaced by a link is not committed", "[worker][local][isolation][caches]") {
  temp_dir dir;
  dir.write("host/secret", "host file");
  auto w = make_worker(dir);
  auto spec = spec_with();
  spec.job = "build";
  spec.caches.push_back({"deps"});
  spec.caches.push_back({"a/b"});
  const std::string host = (dir.path() / "host").string();

  SECTION("the cache directory itself") {
    recording_io io;
    auto r = w.run(spec, shell("rm -rf deps && ln -s " + host + " deps"), io, {});
    REQUIRE(r);
    auto committed = w.commit_caches(spec, *r);
    REQUIRE_FALSE(committed);
    CHECK(contains(committed.error().message(), "symbolic link"));
    w.release(*r);
  }
  SECTION("a directory above it") {
    dir.write("host/b/secret", "host file");
    recording_io io;
    auto r = w.run(spec, shell("rm -rf a && ln -s " + host + " a"), io, {});
    REQUIRE(r);
    auto committed = w.commit_caches(spec, *r);
    REQUIRE_FALSE(committed);
    CHECK(contains(committed.error().message(), "cache not committed: cache path 'a/b': a is a symbolic link"));
    w.release(*r);
  }
  // The next run sees neither the link nor the host dir's contents.
  recording_io io;
  auto r = w.run(spec, shell("ls -A deps a/b; test -L deps && echo link; true"), io, {});
  REQUIRE(r);
  CHECK_FALSE(contains(io.out_text, "secret"));
  CHECK_FALSE(contains(io.out_text, "link"));
  CHECK(slurp(dir.path() / "host/secret") == "host file");
  w.release(*r);

  SECTION("positive control: a real directory is committed") {
    recording_io io2;
    auto r2 = w.run(spec, shell("echo kept > deps/f"), io2, {});
    REQUIRE(r2);
    REQUIRE(w.commit_caches(spec, *r2));
    w.release(*r2);
    recording_io io3;
    auto r3 = w.run(spec, shell("cat deps/f"), io3, {});
    REQUIRE(r3);
    CHECK(io3.out_text == "kept\n");
    w.release(*r3);
  }
}

TEST_CASE("local: two concurrent runs committing one cache leave one of the two results, whole", "[worker][local][isolation][caches]") {
  temp_dir dir;
  auto w = make_worker(dir);
  auto spec = spec_with();
  spec.job = "build";
  spec.caches.push_back({"deps"});
  for (int round = 0; round < 3; ++round) {
    std::vector<std::thread> runs;
    std::vector<std::string> errors(2);
    for (int i = 0; i < 2; ++i) {
      runs.emplace_back([&, i] {
        recording_io io;
        const std::string mark = "run" + std::to_string(i);
        auto r = w.run(spec, shell("rm -rf deps/*; i=0; while [ $i -lt 150 ]; do echo " + mark + " > deps/f$i; i=$((i+1)); done"),
                       io, {});
        if (!r) {
          errors[i] = r.error().message();
          return;
        }
        if (auto c = w.commit_caches(spec, *r); !c) errors[i] = c.error().message();
        w.release(*r);
      });
    }
    for (auto& t : runs) t.join();
    CHECK(errors[0].empty());
    CHECK(errors[1].empty());
    const auto staged = dir.path() / ("check" + std::to_string(round));
    REQUIRE(w.caches().stage({"main", "build", "unit", "deps"}, staged));
    std::size_t files = 0;
    std::string first;
    bool same = true;
    for (const auto& e : fs::directory_iterator(staged)) {
      ++files;
      const auto text = slurp(e.path());
      if (first.empty()) first = text;
      same = same && text == first;
    }
    CHECK(files == 150);
    CHECK(same);
    CHECK((first == "run0\n" || first == "run1\n"));
  }
}

namespace {

// Sets TMPDIR for the scope (the default roots read it on every run), restoring it after.
struct tmpdir_scope {
  std::string old;
  bool had;
  explicit tmpdir_scope(const fs::path& p) : had(std::getenv("TMPDIR") != nullptr) {
    if (had) old = std::getenv("TMPDIR");
    ::setenv("TMPDIR", p.c_str(), 1);
  }
  ~tmpdir_scope() {
    if (had) ::setenv("TMPDIR", old.c_str(), 1);
    else ::unsetenv("TMPDIR");
  }
};

}  // namespace

TEST_CASE("local: the default run roots honour TMPDIR, are 0711 and owned by the invoking user", "[worker][local][isolation][roots]") {
  temp_dir dir;
  tmpdir_scope scope(dir.path());
  worker::local_process_options o;  // default work and cache roots
  o.use_cgroups = false;
  worker::local_process w(o);
  auto spec = spec_with();
  spec.outputs.push_back({"out", "out"});

  SECTION("positive control: created private") {
    recording_io io;
    auto r = w.run(spec, shell("pwd"), io, {});
    REQUIRE(r);
    CHECK(io.out_text.rfind((dir.path() / "taskstep/runs/run-").string(), 0) == 0);
    for (const char* d : {"taskstep", "taskstep/runs", "taskstep/caches"}) {
      struct stat st {};
      REQUIRE(::lstat((dir.path() / d).c_str(), &st) == 0);
      CHECK((st.st_mode & 07777) == 0711);
      CHECK(st.st_uid == ::geteuid());
    }
    w.release(*r);
  }
  SECTION("a root another user could write into is refused") {
    fs::create_directories(dir.path() / "taskstep");
    ::chmod((dir.path() / "taskstep").c_str(), 0777);
    recording_io io;
    auto r = w.run(spec, shell("true"), io, {});
    REQUIRE_FALSE(r);
    CHECK(contains(r.error().message(), (dir.path() / "taskstep").string() + " for taskstep's runs: it is writable by group or others"));
  }
  SECTION("a root that is a link is refused") {
    dir.mkdir("elsewhere");
    fs::create_symlink(dir.path() / "elsewhere", dir.path() / "taskstep");
    recording_io io;
    auto r = w.run(spec, shell("true"), io, {});
    REQUIRE_FALSE(r);
    CHECK(contains(r.error().message(), "it is a symbolic link"));
    CHECK(fs::is_empty(dir.path() / "elsewhere"));
  }
  SECTION("a root owned by another user is refused") {
    if (!running_as_root()) {
      WARN("SKIPPED: making a directory another user's needs root");
      return;
    }
    fs::create_directories(dir.path() / "taskstep");
    ::chmod((dir.path() / "taskstep").c_str(), 0755);
    REQUIRE(::chown((dir.path() / "taskstep").c_str(), owner_of_nobody(), static_cast<gid_t>(-1)) == 0);
    recording_io io;
    auto r = w.run(spec, shell("true"), io, {});
    REQUIRE_FALSE(r);
    CHECK(contains(r.error().message(), "is owned by uid"));
  }
}

TEST_CASE("local: an input staged inside another input's link is refused, nothing is copied or mounted there", "[worker][local][isolation][inputs]") {
  temp_dir dir;
  dir.mkdir("host");
  dir.write("other/file", "other input");
  std::vector<worker::staging_mode> modes{worker::staging_mode::copy};
  if (running_as_root()) modes.push_back(worker::staging_mode::overlay);
  for (const auto mode : modes) {
    for (const bool link : {true, false}) {
      DYNAMIC_SECTION((mode == worker::staging_mode::copy ? "copy" : "overlay") << (link ? ", a link there" : ", positive control")) {
        auto w = make_worker(dir, mode);
        auto spec = spec_with();
        spec.inputs.push_back({"in", "art", input_with(dir, "sub", link), "in"});
        spec.inputs.push_back({"other", "other", dir.path() / "other", "in/sub"});
        recording_io io;
        auto r = w.run(spec, shell("cat in/sub/file"), io, {});
        if (link) {
          REQUIRE_FALSE(r);
          CHECK(contains(r.error().message(), "input 'other' path 'in/sub': in/sub is a symbolic link"));
        } else {
          REQUIRE(r);
          CHECK(io.out_text == "other input");
        }
        CHECK(fs::is_empty(dir.path() / "host"));
        fs::remove_all(dir.path() / "art");
      }
    }
  }
}

TEST_CASE("local: a stop while an input is copied gives interrupted and removes the partial run", "[worker][local][isolation][cancel]") {
  temp_dir dir;
  for (int i = 0; i < 8000; ++i) dir.write("art/d" + std::to_string(i % 20) + "/f" + std::to_string(i), "x");
  auto w = make_worker(dir, worker::staging_mode::copy);
  auto spec = spec_with();
  spec.inputs.push_back({"in", "art", dir.path() / "art", "in"});
  std::stop_source stop;
  std::atomic<bool> done{false};
  std::thread watcher([&] {
    while (!done) {
      std::error_code ec;
      for (const auto& run : fs::directory_iterator(dir.path() / "runs", ec))
        if (fs::exists(run.path() / "work/in/d0", ec)) {
          stop.request_stop();
          return;
        }
      std::this_thread::yield();
    }
  });
  recording_io io;
  auto r = w.run(spec, shell("echo ran"), io, stop.get_token());
  done = true;
  watcher.join();
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == errc::cancelled);
  CHECK(r.error().message() == "interrupted");
  CHECK(io.starts == 0);
  CHECK(fs::is_empty(dir.path() / "runs"));
  CHECK(std::distance(fs::recursive_directory_iterator(dir.path() / "art"), fs::recursive_directory_iterator()) == 8020);
}
