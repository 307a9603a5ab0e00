#include <sys/stat.h>

#include <filesystem>

#include <catch2/catch.hpp>

#include "common/temp_dir.hpp"
#include "image/registry_support.hpp"
#include "taskstep/image/registry/unpack.hpp"

using namespace taskstep;
using namespace taskstep::test;
namespace fs = std::filesystem;

namespace {

fs::path write_layer(const temp_dir& tmp, const std::string& name, const std::vector<tar_entry>& entries,
                     const std::string& compression) {
  return tmp.write(name, make_tar(entries, compression));
}

}  // namespace

TEST_CASE("layers apply in order: whiteouts delete and opaque directories hide lower content", "[image][unpack]") {
  temp_dir tmp;
  const auto rootfs = tmp.mkdir("rootfs");
  const auto l1 = write_layer(tmp, "l1.tar", {dir_entry("data"), file_entry("data/gone.txt", "x"), file_entry("data/kept.txt", "v1"),
                                              hardlink_entry("data/kept-link", "data/kept.txt"), dir_entry("opaque"),
                                              file_entry("opaque/old", "o"), dir_entry("opaque/olddir"), file_entry("opaque/olddir/x", "x"),
                                              dir_entry("bin"), file_entry("bin/busybox", "bb", 0755), symlink_entry("bin/cat", "busybox"),
                                              dir_entry("replaced"), file_entry("replaced/inner", "i")},
                              "none");
  const auto l2 = write_layer(tmp, "l2.tar.gz", {file_entry("data/.wh.gone.txt", ""), file_entry("data/kept.txt", "v2"),
                                                 dir_entry("opaque"), file_entry("opaque/.wh..wh..opq", ""), file_entry("opaque/new", "n"),
                                                 file_entry("bin/.wh.cat", ""), file_entry("replaced", "now a file"),
                                                 dir_entry("same"), file_entry("same/y", "y"), file_entry("same/.wh.y", "")},
                              "gzip");
  const auto l3 = write_layer(tmp, "l3.tar.zst", {file_entry("zstd-layer", "z", 0600)}, "zstd");
  REQUIRE(image::apply_layer(l1, rootfs, "layer 1"));
  auto applied = image::apply_layer(l2, rootfs, "layer 2");
  REQUIRE(applied);
  CHECK(applied->whiteouts == 4);
  REQUIRE(image::apply_layer(l3, rootfs, "layer 3"));

  CHECK_FALSE(fs::exists(rootfs / "data/gone.txt"));
  CHECK(read_file(rootfs / "data/kept.txt") == "v2");
  CHECK(read_file(rootfs / "data/kept-link") == "v1");  // the hard link kept the replaced file's inode
  CHECK_FALSE(fs::exists(rootfs / "opaque/old"));
  CHECK_FALSE(fs::exists(rootfs / "opaque/olddir"));
  CHECK(read_file(rootfs / "opaque/new") == "n");
  CHECK_FALSE(fs::exists(fs::symlink_status(rootfs / "bin/cat")));
  CHECK(fs::exists(rootfs / "bin/busybox"));
  CHECK(fs::is_regular_file(rootfs / "replaced"));
  CHECK(read_file(rootfs / "zstd-layer") == "z");
  CHECK(read_file(rootfs / "same/y") == "y");  // a whiteout hides lower layers, not its own layer's files
  CHECK((fs::status(rootfs / "zstd-layer").permissions() & fs::perms::all) == (fs::perms::owner_read | fs::perms::owner_write));
  CHECK(!fs::exists(rootfs / "data/.wh.gone.txt"));
  CHECK(!fs::exists(rootfs / "opaque/.wh..wh..opq"));
}

TEST_CASE("a layer cannot write or delete outside the root filesystem", "[image][unpack]") {
  temp_dir tmp;
  const auto rootfs = tmp.mkdir("rootfs");
  const auto outside = tmp.mkdir("outside");
  tmp.write("outside/victim", "safe");

  SECTION("a path with .. is refused") {
    const auto l = write_layer(tmp, "dotdot.tar", {file_entry("../outside/victim", "pwned")}, "none");
    auto r = image::apply_layer(l, rootfs, "the layer");
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message(), Catch::Contains("escape the root filesystem"));
  }
  SECTION("a file is not written through a symlink") {
    const auto l = write_layer(tmp, "link.tar", {symlink_entry("evil", outside.string()), file_entry("evil/victim", "pwned")}, "none");
    (void)image::apply_layer(l, rootfs, "the layer");  // refused or written inside: either way not outside
  }
  SECTION("a whiteout does not delete through a symlink") {
    const auto l1 = write_layer(tmp, "l1.tar", {symlink_entry("evil", outside.string())}, "none");
    const auto l2 = write_layer(tmp, "l2.tar", {file_entry("evil/.wh.victim", "")}, "none");
    REQUIRE(image::apply_layer(l1, rootfs, "layer 1"));
    (void)image::apply_layer(l2, rootfs, "layer 2");
  }
  SECTION("a hard link cannot reach outside") {
    const auto l = write_layer(tmp, "hard.tar", {hardlink_entry("stolen", "../outside/victim")}, "none");
    auto r = image::apply_layer(l, rootfs, "the layer");
    REQUIRE_FALSE(r);
    CHECK_FALSE(fs::exists(rootfs / "stolen"));
  }
  SECTION("a hard link cannot go through a symlink") {
    const auto l = write_layer(tmp, "hard2.tar", {symlink_entry("evil", outside.string()), hardlink_entry("stolen", "evil/victim")}, "none");
    auto r = image::apply_layer(l, rootfs, "the layer");
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message(), Catch::Contains("not below a plain directory"));
  }
  CHECK(read_file(outside / "victim") == "safe");
  struct stat st {};
  REQUIRE(::stat((outside / "victim").c_str(), &st) == 0);
  CHECK(st.st_nlink == 1);
}

TEST_CASE("a layer that is not a tar is reported with its name", "[image][unpack]") {
  temp_dir tmp;
  const auto rootfs = tmp.mkdir("rootfs");
  const auto l = tmp.write("junk", std::string(2000, 'j'));
  auto r = image::apply_layer(l, rootfs, "layer 7/9 (sha256:abc) of x");
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message(), Catch::StartsWith("cannot unpack layer 7/9 (sha256:abc) of x: "));
}
