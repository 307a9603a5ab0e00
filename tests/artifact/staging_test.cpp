// Staging helpers: copy_tree keeps contents, links and modes; overlay mounts leave the lower layer
// untouched; remove_tree copes with read-only trees.

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "common/temp_dir.hpp"
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

}  // namespace

TEST_CASE("copy_tree copies files, directories, symlinks and modes", "[artifact][staging]") {
  temp_dir dir;
  dir.write("src/a.txt", "alpha");
  dir.write("src/sub/deep/b.bin", std::string(200000, 'b'));
  dir.write("src/run.sh", "#!/bin/sh\n");
  fs::permissions(dir.path() / "src/run.sh", fs::perms(0755));
  fs::create_symlink("sub/deep/b.bin", dir.path() / "src/link");
  fs::create_symlink("/nonexistent/target", dir.path() / "src/dangling");
  dir.mkdir("src/empty");
  fs::permissions(dir.path() / "src/sub/deep", fs::perms(0555));  // read-only directory

  auto stats = artifact::copy_tree(dir.path() / "src", dir.path() / "dst");
  REQUIRE(stats);
  CHECK(stats->files == 3);
  CHECK(stats->symlinks == 2);
  CHECK(stats->directories == 3);
  CHECK(stats->bytes == 5 + 200000 + 10);
  const auto dst = dir.path() / "dst";
  CHECK(slurp(dst / "a.txt") == "alpha");
  CHECK(slurp(dst / "sub/deep/b.bin").size() == 200000);
  CHECK(fs::is_symlink(dst / "link"));
  CHECK(fs::read_symlink(dst / "link") == "sub/deep/b.bin");
  CHECK(fs::read_symlink(dst / "dangling") == "/nonexistent/target");
  CHECK(fs::is_directory(dst / "empty"));
  CHECK((fs::status(dst / "run.sh").permissions() & fs::perms::owner_exec) != fs::perms::none);
  CHECK((fs::status(dst / "sub/deep").permissions() & fs::perms::owner_write) == fs::perms::none);
  struct stat a {}, b {};
  ::stat((dir.path() / "src/a.txt").c_str(), &a);
  ::stat((dst / "a.txt").c_str(), &b);
  CHECK(a.st_mtim.tv_sec == b.st_mtim.tv_sec);

  REQUIRE(artifact::remove_tree(dst));
  CHECK_FALSE(fs::exists(dst));
  fs::permissions(dir.path() / "src/sub/deep", fs::perms(0755));
}

TEST_CASE("copy_tree reports a missing source", "[artifact][staging]") {
  temp_dir dir;
  auto r = artifact::copy_tree(dir.path() / "missing", dir.path() / "dst");
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == errc::io);
  CHECK(r.error().message().find("missing") != std::string::npos);
}

TEST_CASE("an overlay mount takes the writes and leaves the lower layer untouched", "[artifact][staging][overlay]") {
  if (!artifact::overlay_available()) {
    WARN("SKIPPED: overlayfs needs root");
    return;
  }
  temp_dir dir;
  dir.write("lower/file", "original");
  dir.write("lower/gone", "x");
  const auto merged = dir.path() / "merged";
  REQUIRE(artifact::mount_overlay(dir.path() / "lower", dir.path() / "upper", dir.path() / "work", merged));
  CHECK(slurp(merged / "file") == "original");
  std::ofstream(merged / "file") << "changed";
  fs::remove(merged / "gone");
  std::ofstream(merged / "new") << "n";
  CHECK(slurp(merged / "file") == "changed");
  REQUIRE(artifact::unmount(merged));
  CHECK(slurp(dir.path() / "lower/file") == "original");
  CHECK(fs::exists(dir.path() / "lower/gone"));
  CHECK_FALSE(fs::exists(dir.path() / "lower/new"));
  CHECK(slurp(dir.path() / "upper/file") == "changed");
  CHECK(fs::is_empty(merged));
}

TEST_CASE("overlay refuses paths it would misread", "[artifact][staging][overlay]") {
  CHECK(artifact::overlay_safe_path("/tmp/a b"));
  CHECK_FALSE(artifact::overlay_safe_path("/tmp/a,b"));
  CHECK_FALSE(artifact::overlay_safe_path("/tmp/a:b"));
}

TEST_CASE("remove_tree removes read-only trees and accepts missing paths", "[artifact][staging]") {
  temp_dir dir;
  dir.write("t/ro/file", "x");
  fs::permissions(dir.path() / "t/ro", fs::perms(0500));
  REQUIRE(artifact::remove_tree(dir.path() / "t"));
  CHECK_FALSE(fs::exists(dir.path() / "t"));
  REQUIRE(artifact::remove_tree(dir.path() / "never-there"));
}
