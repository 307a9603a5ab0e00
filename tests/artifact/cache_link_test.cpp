// cache_store commits only a real directory: a link the task left where its cache was (to a host
// directory, say) is refused, in both commit modes, and the next stage never sees the link's target.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include "common/temp_dir.hpp"
#include "taskstep/artifact/cache_store.hpp"

using namespace taskstep;
using taskstep::test::temp_dir;
namespace fs = std::filesystem;

TEST_CASE("a cache that is a link is not committed, in either mode", "[artifact][cache][isolation]") {
  temp_dir dir;
  dir.write("host/secret", "host file");
  artifact::cache_store store(dir.path() / "store");
  const artifact::cache_key key{"main", "build", "unit", "deps"};
  fs::create_directories(dir.path() / "run");
  fs::create_symlink(dir.path() / "host", dir.path() / "run/deps");
  for (const auto mode : {artifact::commit_mode::copy, artifact::commit_mode::move}) {
    auto r = store.commit(key, dir.path() / "run/deps", mode);
    REQUIRE_FALSE(r);
    CHECK(r.error().message().find("cache not committed: " + (dir.path() / "run/deps").string() + " is a symbolic link") == 0);
    CHECK_FALSE(store.contains(key));
    CHECK(fs::is_symlink(dir.path() / "run/deps"));
  }
  dir.write("run/file-cache", "x");
  CHECK_FALSE(store.commit(key, dir.path() / "run/file-cache"));

  // positive control: a real directory commits, and stages without the host's files
  dir.write("run/real/f", "cached");
  REQUIRE(store.commit(key, dir.path() / "run/real", artifact::commit_mode::move));
  REQUIRE(store.stage(key, dir.path() / "staged"));
  CHECK(fs::exists(dir.path() / "staged/f"));
  CHECK_FALSE(fs::exists(dir.path() / "staged/secret"));
  CHECK(fs::exists(dir.path() / "host/secret"));
}
