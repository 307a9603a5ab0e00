// An image's metadata.json: parsed with nlohmann-json, errors naming the file and the field, merged
// with the task's env and user in one place (apply_image_metadata), and read once per image.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "common/temp_dir.hpp"
#include "step/step_support.hpp"
#include "taskstep/core/container_spec.hpp"
#include "taskstep/image/metadata.hpp"
#include "taskstep/worker/with_images.hpp"

using namespace taskstep;

TEST_CASE("apply_image_metadata puts the image's env first and its user only when the task names none", "[image][metadata]") {
  const image_metadata image{{"PATH=/img/bin", "FROM_IMAGE=1"}, "image-user"};
  container_spec task;
  task.env = {"A=true", "B=2"};  // the task's params
  apply_image_metadata(task, image);
  CHECK(task.env == std::vector<std::string>{"PATH=/img/bin", "FROM_IMAGE=1", "A=true", "B=2"});
  CHECK(task.user == "image-user");

  container_spec named;
  named.env = {"A=true"};
  named.user = "me";  // run.user
  apply_image_metadata(named, image);
  CHECK(named.env == std::vector<std::string>{"PATH=/img/bin", "FROM_IMAGE=1", "A=true"});
  CHECK(named.user == "me");
}

TEST_CASE("read_metadata reads env and user and ignores other keys and nulls", "[image][metadata]") {
  test::temp_dir dir;
  dir.write("metadata.json", R"({"env": ["A=1", null, "B=x y"], "user": "tester", "other": {"k": [1]}})");
  auto m = image::read_metadata(dir.path());
  REQUIRE(m);
  CHECK(m->env == std::vector<std::string>{"A=1", "B=x y"});
  CHECK(m->user == "tester");

  dir.write("metadata.json", R"({"env": null, "user": null})");
  auto nulls = image::read_metadata(dir.path());
  REQUIRE(nulls);
  CHECK(nulls->env.empty());
  CHECK(nulls->user.empty());

  test::temp_dir none;
  auto missing = image::read_metadata(none.path());
  REQUIRE(missing);
  CHECK(missing->env.empty());
}

TEST_CASE("malformed image metadata names the file and the JSON error or the field", "[image][metadata]") {
  test::temp_dir dir;
  const std::string file = (dir.path() / "metadata.json").string();
  auto error_for = [&](const std::string& text) {
    dir.write("metadata.json", text);
    auto m = image::read_metadata(dir.path());
    REQUIRE_FALSE(m);
    CHECK(m.error().code() == errc::worker);
    return m.error().message();
  };
  CHECK(error_for("{\"env\": [\"A=1\",]}") ==
        "malformed image metadata: " + file +
            ": parse error at line 1, column 16: syntax error while parsing value - unexpected ']'; expected '[', "
            "'{', or a literal");
  CHECK(error_for(R"(["A=1"])") == "malformed image metadata: " + file + ": expected a JSON object, got array");
  CHECK(error_for(R"({"env": "A=1"})") ==
        "malformed image metadata: " + file + ": field \"env\": expected an array of strings, got string");
  CHECK(error_for(R"({"env": ["A=1", 2]})") ==
        "malformed image metadata: " + file + ": field \"env[1]\": expected a string, got number");
  CHECK(error_for(R"({"user": 1000})") ==
        "malformed image metadata: " + file + ": field \"user\": expected a string, got number");
}

TEST_CASE("a metadata.json that is a symlink or a FIFO is not read", "[image][metadata][security]") {
  test::temp_dir dir;
  const auto secret = dir.write("secret", "{\"user\": \"root\"}");
  test::temp_dir image;
  std::filesystem::create_symlink(secret, image.path() / "metadata.json");
  auto linked = image::read_metadata(image.path());
  REQUIRE_FALSE(linked);
  CHECK(linked.error().message() ==
        "malformed image metadata: " + (image.path() / "metadata.json").string() + ": is a symbolic link (not followed)");

  test::temp_dir fifo;
  REQUIRE(::mkfifo((fifo.path() / "metadata.json").c_str(), 0600) == 0);
  auto blocked = image::read_metadata(fifo.path());  // returns at once: nobody writes the FIFO
  REQUIRE_FALSE(blocked);
  CHECK(blocked.error().message() ==
        "malformed image metadata: " + (fifo.path() / "metadata.json").string() + ": not a regular file");
}

namespace {

// A fetcher that hands out one prepared image directory and counts its calls.
struct dir_fetcher {
  std::filesystem::path dir;
  int calls = 0;
  struct fetched {
    std::filesystem::path dir;
  };
  template <class Progress>
  result<fetched> fetch(const image_resource&, Progress&&) {
    ++calls;
    return fetched{dir};
  }
};

struct null_io {
  void starting() {}
  void out(std::string_view) {}
  void err(std::string_view) {}
};

}  // namespace

TEST_CASE("with_images merges a fetched image's metadata once, as the step does for an artifact", "[image][metadata]") {
  test::temp_dir dir;
  dir.write("metadata.json", R"({"env": ["PATH=/img/bin"], "user": "image-user"})");
  worker::with_images<step_test::scripted_worker, dir_fetcher> w(step_test::scripted_worker{}, dir_fetcher{dir.path()});
  container_spec c;
  image_resource resource;
  resource.type = "registry-image";
  c.image = image_resource_spec{resource};
  c.env = {"A=true"};
  null_io io;
  auto ran = w.run(c, process_spec{"x", {}, "", ""}, io, {});
  REQUIRE(ran);
  const container_spec& seen = w.inner().last_spec;
  CHECK(seen.env == std::vector<std::string>{"PATH=/img/bin", "A=true"});
  CHECK(seen.user == "image-user");
  REQUIRE(std::holds_alternative<image_artifact>(seen.image));
  CHECK(std::get<image_artifact>(seen.image).dir == dir.path());
  CHECK(std::get<image_artifact>(seen.image).metadata.user == "image-user");
  CHECK(w.fetcher().calls == 1);
}
