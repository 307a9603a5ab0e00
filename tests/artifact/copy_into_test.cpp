// copy_tree_into / copy_listed_into: merging copies that never follow a symbolic link, on either
// side, report the real errno (disk full on a small tmpfs), and stop when asked.

#include <catch2/catch.hpp>

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "common/temp_dir.hpp"
#include "common/tmpfs.hpp"
#include "taskstep/artifact/staging.hpp"

using namespace taskstep;
using taskstep::test::temp_dir;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("copy_tree_into merges into an existing directory and overwrites files", "[artifact][copy_into]") {
  temp_dir dir;
  dir.write("src/a.txt", "new");
  dir.write("src/sub/b.txt", "b");
  fs::create_symlink("a.txt", dir.path() / "src/link");
  dir.write("dst/a.txt", "old");
  dir.write("dst/keep.txt", "kept");
  fs::create_symlink("/etc/passwd", dir.path() / "dst/link");  // replaced by the source's link, not followed
  auto r = artifact::copy_tree_into(dir.path() / "src", dir.path() / "dst");
  REQUIRE(r);
  CHECK(slurp(dir.path() / "dst/a.txt") == "new");
  CHECK(slurp(dir.path() / "dst/keep.txt") == "kept");
  CHECK(slurp(dir.path() / "dst/sub/b.txt") == "b");
  CHECK(fs::read_symlink(dir.path() / "dst/link") == "a.txt");
}

TEST_CASE("a link in the target where a directory must go is an error and is never followed", "[artifact][copy_into]") {
  temp_dir dir;
  const auto host = dir.mkdir("host-dir");
  dir.write("src/d/file", "from the task");
  fs::create_directories(dir.path() / "dst");
  fs::create_symlink(host, dir.path() / "dst/d");
  auto r = artifact::copy_tree_into(dir.path() / "src", dir.path() / "dst");
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == errc::io);
  CHECK(contains(r.error().message(), (dir.path() / "dst/d").string()));
  CHECK(contains(r.error().message(), "Not a directory"));
  CHECK(fs::is_empty(host));
  CHECK(fs::is_symlink(dir.path() / "dst/d"));

  SECTION("positive control: a plain directory there is merged into") {
    fs::remove(dir.path() / "dst/d");
    fs::create_directories(dir.path() / "dst/d");
    REQUIRE(artifact::copy_tree_into(dir.path() / "src", dir.path() / "dst"));
    CHECK(slurp(dir.path() / "dst/d/file") == "from the task");
  }
}

TEST_CASE("out/d -> host dir from one copy, then out/d/file from the next, never writes the host dir", "[artifact][copy_into]") {
  temp_dir dir;
  const auto host = dir.mkdir("host-dir");
  fs::create_directories(dir.path() / "run1");
  fs::create_symlink(host, dir.path() / "run1/d");  // the task leaves out/d -> /host/dir
  dir.write("run2/d/file", "written through the link?");
  const auto out = dir.path() / "out";
  auto first = artifact::copy_tree_into(dir.path() / "run1", out);
  REQUIRE(first);
  CHECK(first->symlinks == 1);
  CHECK(fs::is_symlink(out / "d"));  // copied as a link, not followed
  auto second = artifact::copy_tree_into(dir.path() / "run2", out);
  REQUIRE_FALSE(second);
  CHECK(contains(second.error().message(), (out / "d").string()));
  CHECK(fs::is_empty(host));
  CHECK_FALSE(fs::exists(host / "file"));
}

TEST_CASE("a link in the source is copied as a link and its target is not copied", "[artifact][copy_into]") {
  temp_dir dir;
  dir.write("host-dir/secret", "host file");
  fs::create_directories(dir.path() / "src");
  fs::create_symlink(dir.path() / "host-dir", dir.path() / "src/d");
  auto r = artifact::copy_tree_into(dir.path() / "src", dir.path() / "dst");
  REQUIRE(r);
  CHECK(r->files == 0);
  CHECK(fs::is_symlink(dir.path() / "dst/d"));
  CHECK(fs::read_symlink(dir.path() / "dst/d") == dir.path() / "host-dir");
}

TEST_CASE("a directory in the target where a file must go is an error naming it", "[artifact][copy_into]") {
  temp_dir dir;
  dir.write("src/x", "file");
  dir.write("dst/x/inside", "kept");
  auto r = artifact::copy_tree_into(dir.path() / "src", dir.path() / "dst");
  REQUIRE_FALSE(r);
  CHECK(contains(r.error().message(), (dir.path() / "dst/x").string()));
  CHECK(contains(r.error().message(), "Is a directory"));
  CHECK(slurp(dir.path() / "dst/x/inside") == "kept");
}

TEST_CASE("copy_tree_into reports disk full naming the file and ENOSPC", "[artifact][copy_into][fault]") {
  if (::geteuid() != 0) {
    WARN("SKIPPED: mounting a small tmpfs needs root");
    return;
  }
  temp_dir dir;
  dir.write("src/small", "fits");
  dir.write("src/big.bin", std::string(3 << 20, 'x'));
  test::scoped_tmpfs tmpfs(dir.path() / "full", "size=1m");
  REQUIRE(tmpfs.why_not().empty());
  auto r = artifact::copy_tree_into(dir.path() / "src", tmpfs.dir() / "out");
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == errc::io);
  CHECK(contains(r.error().message(), (tmpfs.dir() / "out/big.bin").string()));
  CHECK(contains(r.error().message(), std::strerror(ENOSPC)));

  SECTION("copy_listed_into too") {
    REQUIRE(artifact::remove_tree(tmpfs.dir() / "out"));
    const std::vector<std::string> files{"small", "big.bin"};
    auto listed = artifact::copy_listed_into(dir.path() / "src", files, tmpfs.dir() / "listed");
    REQUIRE_FALSE(listed);
    CHECK(contains(listed.error().message(), (tmpfs.dir() / "listed/big.bin").string()));
    CHECK(contains(listed.error().message(), std::strerror(ENOSPC)));
  }
}

TEST_CASE("copy_tree_into reports permission denied with the real errno", "[artifact][copy_into]") {
  if (::geteuid() == 0) {
    WARN("SKIPPED: root is never denied (DAC override)");
    return;
  }
  temp_dir dir;
  dir.write("src/f", "x");
  fs::create_directories(dir.path() / "dst");
  fs::permissions(dir.path() / "dst", fs::perms(0500));
  auto r = artifact::copy_tree_into(dir.path() / "src", dir.path() / "dst");
  fs::permissions(dir.path() / "dst", fs::perms(0700));
  REQUIRE_FALSE(r);
  CHECK(contains(r.error().message(), std::strerror(EACCES)));
}

TEST_CASE("a stop request interrupts copy_tree_into and removes nothing", "[artifact][copy_into][cancel]") {
  temp_dir dir;
  const int count = 4000;
  for (int i = 0; i < count; ++i) dir.write("src/d" + std::to_string(i % 10) + "/f" + std::to_string(i), "x");
  dir.write("dst/keep.txt", "kept");

  SECTION("requested before the copy: nothing is copied") {
    std::stop_source stop;
    stop.request_stop();
    auto r = artifact::copy_tree_into(dir.path() / "src", dir.path() / "dst", stop.get_token());
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == errc::cancelled);
    CHECK(r.error().message() == "interrupted");
    CHECK(slurp(dir.path() / "dst/keep.txt") == "kept");
  }
  SECTION("requested mid-copy") {
    std::stop_source stop;
    std::atomic<bool> done{false};
    std::thread watcher([&] {
      while (!done && !fs::exists(dir.path() / "dst/d0")) std::this_thread::yield();
      stop.request_stop();
    });
    auto r = artifact::copy_tree_into(dir.path() / "src", dir.path() / "dst", stop.get_token());
    done = true;
    watcher.join();
    REQUIRE_FALSE(r);
    CHECK(r.error().message() == "interrupted");
    std::size_t copied = 0;
    for (auto it = fs::recursive_directory_iterator(dir.path() / "dst"); it != fs::recursive_directory_iterator(); ++it)
      copied += it->is_regular_file() ? 1 : 0;
    CHECK(copied < static_cast<std::size_t>(count) + 1);
    CHECK(slurp(dir.path() / "dst/keep.txt") == "kept");
    std::size_t source = 0;
    for (auto it = fs::recursive_directory_iterator(dir.path() / "src"); it != fs::recursive_directory_iterator(); ++it)
      source += it->is_regular_file() ? 1 : 0;
    CHECK(source == static_cast<std::size_t>(count));
    // The caller removes what it made: the copy is a plain tree remove_tree takes.
    REQUIRE(artifact::remove_tree(dir.path() / "dst"));
  }
}

TEST_CASE("copy_listed_into copies listed files, links as links, and skips deleted ones", "[artifact][copy_into][listed]") {
  temp_dir dir;
  dir.write("repo/README", "readme");
  dir.write("repo/src/main.c", "int main;");
  fs::permissions(dir.path() / "repo/src/main.c", fs::perms(0755));
  fs::create_symlink("src/main.c", dir.path() / "repo/link");
  dir.mkdir("repo/submodule");
  dir.write("repo/untracked", "not listed");
  const std::vector<std::string> files{"README", "src/main.c", "link", "submodule", "deleted.txt", "gone/x"};
  auto r = artifact::copy_listed_into(dir.path() / "repo", files, dir.path() / "out");
  REQUIRE(r);
  CHECK(r->files == 2);
  CHECK(r->symlinks == 1);
  const auto out = dir.path() / "out";
  CHECK(slurp(out / "README") == "readme");
  CHECK(slurp(out / "src/main.c") == "int main;");
  CHECK((fs::status(out / "src/main.c").permissions() & fs::perms::owner_exec) != fs::perms::none);
  CHECK(fs::read_symlink(out / "link") == "src/main.c");
  CHECK(fs::is_directory(out / "submodule"));
  CHECK_FALSE(fs::exists(out / "untracked"));
  CHECK_FALSE(fs::exists(out / "deleted.txt"));
}

TEST_CASE("copy_listed_into never follows a link in the source or the target", "[artifact][copy_into][listed]") {
  temp_dir dir;
  dir.write("host-dir/secret", "host file");
  const auto host_target = dir.mkdir("host-target");
  dir.write("repo/ok/file", "ok");
  fs::create_symlink(dir.path() / "host-dir", dir.path() / "repo/via");

  SECTION("a listed path through a link in the source is refused") {
    const std::vector<std::string> files{"via/secret"};
    auto r = artifact::copy_listed_into(dir.path() / "repo", files, dir.path() / "out");
    REQUIRE_FALSE(r);
    CHECK(contains(r.error().message(), (dir.path() / "repo/via").string()));
    CHECK_FALSE(fs::exists(dir.path() / "out/via/secret"));
  }
  SECTION("a link in the target where a directory must go is an error") {
    fs::create_directories(dir.path() / "out");
    fs::create_symlink(host_target, dir.path() / "out/ok");
    const std::vector<std::string> files{"ok/file"};
    auto r = artifact::copy_listed_into(dir.path() / "repo", files, dir.path() / "out");
    REQUIRE_FALSE(r);
    CHECK(contains(r.error().message(), (dir.path() / "out/ok").string()));
    CHECK(fs::is_empty(host_target));
  }
  SECTION("paths that climb out or are absolute are refused") {
    for (const std::string bad : {"../host-dir/secret", "/etc/passwd", "ok/../../x", "ok//file", "./ok/file"}) {
      const std::vector<std::string> files{bad};
      auto r = artifact::copy_listed_into(dir.path() / "repo", files, dir.path() / "out");
      REQUIRE_FALSE(r);
      CHECK(contains(r.error().message(), "not a plain relative path"));
    }
  }
  SECTION("positive control: the plain paths copy") {
    const std::vector<std::string> files{"ok/file", "via"};
    auto r = artifact::copy_listed_into(dir.path() / "repo", files, dir.path() / "out");
    REQUIRE(r);
    CHECK(slurp(dir.path() / "out/ok/file") == "ok");
    CHECK(fs::is_symlink(dir.path() / "out/via"));
  }
}

TEST_CASE("copy_listed_into stops when asked", "[artifact][copy_into][listed][cancel]") {
  temp_dir dir;
  dir.write("repo/a", "a");
  std::stop_source stop;
  stop.request_stop();
  const std::vector<std::string> files{"a"};
  auto r = artifact::copy_listed_into(dir.path() / "repo", files, dir.path() / "out", stop.get_token());
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == errc::cancelled);
  CHECK_FALSE(fs::exists(dir.path() / "out/a"));
}
