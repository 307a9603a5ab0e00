// `taskstep execute --keep` and `taskstep intercept` on the oci worker (real runc, a busybox image,
// the default user namespace): the failed container's files (working directory, an input, the
// image's rootfs) and environment are there again in a new container on the kept bundle; --list and
// --rm; nothing mounted and no container left afterwards; a kept run survives the next build's reaper.

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "common/kept_support.hpp"
#include "oci/oci_support.hpp"

using namespace taskstep;
using namespace taskstep::test;
namespace fs = std::filesystem;

namespace {

#define REQUIRE_CONTAINERS()                                       \
  do {                                                             \
    if (auto why = test::containers_unavailable(); !why.empty()) { \
      WARN("SKIPPED: " << why);                                    \
      return;                                                      \
    }                                                              \
  } while (0)

struct oci_kept_fixture {
  temp_dir dir;
  fs::path tmp = dir.path() / "tmp";
  fs::path work = dir.path() / "here";
  fs::path runc_root = dir.path() / "runc";
  oci_kept_fixture() {
    // Container root (a mapped uid) must reach the run directories below.
    fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
    fs::create_directories(tmp);
    fs::permissions(tmp, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
    fs::create_directories(work / "src");
    std::ofstream(work / "src" / "a.txt") << "hello\n";
    write_busybox_image(work / "image", {"IMAGE_VAR=from-the-image"});
    std::ofstream(work / "fail.yml")
        << "platform: linux\n"
           "inputs: [{name: src}]\n"
           "params: {KEPT_PARAM: from-the-task}\n"
           "run:\n  path: sh\n"
           "  args: [-c, 'echo written-by-task > out.txt; echo changed >> src/a.txt; echo in-rootfs > /etc/marker; exit 5']\n";
    std::ofstream(work / "pass.yml") << "platform: linux\nrun: {path: 'true'}\n";
  }
  taskstep_result run(const std::vector<std::string>& args) const { return run_kept_taskstep(work, tmp, args); }
  taskstep_result fail_kept() const {
    return run({"execute", "-c", "fail.yml", "-i", "src=src", "--image", "image", "--worker", "oci", "--keep",
                "--runc-root", runc_root.string()});
  }
};

}  // namespace

TEST_CASE("execute --keep keeps a failed oci run and intercept enters a new container on its bundle", "[oci][intercept]") {
  REQUIRE_CONTAINERS();
  oci_kept_fixture f;
  auto ran = f.fail_kept();
  INFO(ran.err);
  REQUIRE(ran.exit_code == 5);
  const std::string id = kept_id(ran.err);
  REQUIRE_FALSE(id.empty());
  CHECK(mounts_below(f.tmp).empty());  // nothing stays mounted while kept

  auto list = f.run({"intercept", "--list"});
  CHECK(list.out.find(id) != std::string::npos);
  CHECK(list.out.find("oci") != std::string::npos);

  auto seen = f.run({"intercept", id, "--", "sh", "-c",
                     "cat out.txt src/a.txt /etc/marker; echo \"$KEPT_PARAM $IMAGE_VAR\"; pwd; id -u; readlink /proc/1/exe"});
  INFO(seen.err);
  REQUIRE(seen.exit_code == 0);
  CHECK(seen.out.find("written-by-task\nhello\nchanged\nin-rootfs\nfrom-the-task from-the-image\n/tmp/build/") == 0);
  CHECK(seen.out.find("\n0\n") != std::string::npos);  // the task's user (container root)
  CHECK(read_text(f.work / "src" / "a.txt") == "hello\n");
  CHECK(read_text(f.work / "image" / "rootfs" / "etc" / "marker").empty());  // the image is untouched

  // An interactive shell reading stdin (no terminal here): its exit status is intercept's.
  CHECK(f.run({"intercept", id, "--", "sh", "-c", "exit 9"}).exit_code == 9);
  auto shell = f.run({"intercept", id});
  CHECK(shell.exit_code == 0);  // /dev/null: the shell reads EOF and exits

  CHECK(mounts_below(f.tmp).empty());
  CHECK(runc_list(f.runc_root).find("intercept") == std::string::npos);

  CHECK(f.run({"intercept", "--rm", id}).exit_code == 0);
  CHECK(run_roots(f.tmp).empty());
  CHECK(mounts_below(f.tmp).empty());
  CHECK(runc_list(f.runc_root).find(id) == std::string::npos);
}

TEST_CASE("a kept oci run survives the next build's reaper, and nothing is kept without --keep", "[oci][intercept]") {
  REQUIRE_CONTAINERS();
  oci_kept_fixture f;
  CHECK(f.run({"execute", "-c", "fail.yml", "-i", "src=src", "--image", "image", "--worker", "oci", "--runc-root",
               f.runc_root.string()})
            .exit_code == 5);
  CHECK(run_roots(f.tmp).empty());
  const std::string id = kept_id(f.fail_kept().err);
  REQUIRE_FALSE(id.empty());
  CHECK(f.run({"execute", "-c", "pass.yml", "--image", "image", "--worker", "oci", "--keep", "--runc-root",
               f.runc_root.string()})
            .exit_code == 0);
  CHECK(run_roots(f.tmp).size() == 1);  // the succeeded run was not kept; the reaper left the kept one
  CHECK(f.run({"intercept", "--", "cat", "out.txt"}).out == "written-by-task\n");
  CHECK(f.run({"intercept", "--rm", "--all"}).exit_code == 0);
  CHECK(run_roots(f.tmp).empty());
  CHECK(mounts_below(f.tmp).empty());
}
