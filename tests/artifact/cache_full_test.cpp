// cache_store on a full disk: a commit that does not fit fails naming ENOSPC and leaves the previous
// cache whole (nothing lost, no half-written tree left behind); staging onto a full disk fails the same way.

#include <sys/mount.h>

#include <catch2/catch.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/temp_dir.hpp"
#include "common/tmpfs.hpp"
#include "taskstep/artifact/cache_store.hpp"

using namespace taskstep;
using taskstep::test::temp_dir;
namespace fs = std::filesystem;

namespace {

void write_bytes(const fs::path& p, std::size_t n, char c) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << std::string(n, c);
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("a cache commit that does not fit on the disk fails with ENOSPC and keeps the previous cache", "[artifact][cache][disk-full]") {
  temp_dir dir;
  test::scoped_tmpfs store_fs(dir.path() / "store", "size=512k");
  if (!store_fs.why_not().empty()) {
    WARN("SKIPPED: " + store_fs.why_not());
    return;
  }
  artifact::cache_store store(store_fs.dir());
  const artifact::cache_key key{"main", "build", "unit", "deps"};
  write_bytes(dir.path() / "run1/deps/small", 1000, 'a');
  REQUIRE(store.commit(key, dir.path() / "run1/deps"));  // positive control: the first one fits

  write_bytes(dir.path() / "run2/deps/big", 2 * 1024 * 1024, 'b');
  auto r = store.commit(key, dir.path() / "run2/deps");
  REQUIRE_FALSE(r);
  CHECK(r.error().message().find(std::strerror(ENOSPC)) != std::string::npos);
  // The previous cache is still there, whole, and no temporary tree is left in the store.
  REQUIRE(store.stage(key, dir.path() / "staged"));
  CHECK(slurp(dir.path() / "staged/small") == std::string(1000, 'a'));
  CHECK_FALSE(fs::exists(dir.path() / "staged/big"));
  std::size_t entries = 0;
  for (const auto& e : fs::directory_iterator(store.location(key))) entries += e.path().filename() != "data";
  CHECK(entries <= 1);  // at most the lock file: no tmp-* tree
}

TEST_CASE("staging a cache onto a full disk fails with ENOSPC", "[artifact][cache][disk-full]") {
  temp_dir dir;
  test::scoped_tmpfs run_fs(dir.path() / "run", "size=256k");
  if (!run_fs.why_not().empty()) {
    WARN("SKIPPED: " + run_fs.why_not());
    return;
  }
  artifact::cache_store store(dir.path() / "store");
  const artifact::cache_key key{"main", "build", "unit", "deps"};
  write_bytes(dir.path() / "src/deps/big", 1024 * 1024, 'c');
  REQUIRE(store.commit(key, dir.path() / "src/deps"));
  auto r = store.stage(key, run_fs.dir() / "deps");
  REQUIRE_FALSE(r);
  CHECK(r.error().message().find(std::strerror(ENOSPC)) != std::string::npos);
  CHECK(store.contains(key));  // the stored cache is untouched
}
