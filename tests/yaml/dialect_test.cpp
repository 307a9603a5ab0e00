// The Concourse dialects (core/dialect.hpp) through the decoder, validation and the config chain:
// each difference of 7.14 and 8.2 against 6.7, as read in Concourse's source at v7.14.3 / v8.2.5.
#include <catch2/catch.hpp>

#include "taskstep/config/config.hpp"
#include "taskstep/core/dialect.hpp"
#include "taskstep/yaml/decode.hpp"

using namespace taskstep;
using d67 = dialect::concourse_6_7;
using d714 = dialect::concourse_7_14;
using d82 = dialect::concourse_8_2;

namespace {

template <class D>
std::string outcome(std::string_view text) {
  auto c = yaml::parse_task_config<D>(text);
  return c ? yaml::to_json<D>(*c) : c.error().message();
}

template <class D>
std::string rendered(std::string_view text, vars::static_vars vars = {}) {
  auto parsed = yaml::parse_task_config<D>(text);
  if (!parsed) return parsed.error().message();
  auto source = config::static_source(std::move(*parsed)) | config::interpolate<D>(std::move(vars)) |
                config::validating<D>();
  auto c = source.fetch();
  return c ? yaml::to_json<D>(*c) : c.error().message();
}

constexpr std::string_view head = "platform: linux\nrun: {path: echo}\n";

std::string task(std::string_view rest) { return std::string(head) + std::string(rest); }

}  // namespace

TEST_CASE("memory limits: 6.7's upper-cased KB/MB/GB against 7.14's binary K/M/G with optional i and B",
          "[dialect]") {
  CHECK(*parse_memory_limit("1b") == 1);
  CHECK(*parse_memory_limit("1kb") == 1024);
  CHECK_FALSE(parse_memory_limit("1k"));
  CHECK(*parse_memory_limit_binary("512m") == 512u << 20);
  CHECK(*parse_memory_limit_binary("1G") == 1u << 30);
  CHECK(*parse_memory_limit_binary("1Gi") == 1u << 30);
  CHECK(*parse_memory_limit_binary("1GiB") == 1u << 30);
  CHECK(*parse_memory_limit_binary("2kib") == 2048);
  CHECK(*parse_memory_limit_binary("7") == 7);
  CHECK(parse_memory_limit_binary("1B").error().message() == "could not parse container memory limit");
  CHECK_FALSE(parse_memory_limit_binary("1iB"));
  CHECK_FALSE(parse_memory_limit_binary("1T"));
  CHECK_FALSE(parse_memory_limit_binary(" 1G"));
  CHECK_FALSE(parse_memory_limit_binary(""));
  CHECK(parse_memory_limit_binary("99999999999999999999").error().message() ==
        "strconv.ParseUint: parsing \"99999999999999999999\": value out of range");
}

TEST_CASE("float to uint64 follows Go on amd64: direct in 7.x, through int in 6.7", "[dialect]") {
  CHECK(detail::go_float_to_uint64(-1.0) == ~std::uint64_t{0});
  CHECK(detail::go_float_to_uint64(1.9) == 1);
  CHECK(detail::go_float_to_uint64(1e19) == 10000000000000000000u);
  CHECK(detail::go_float_to_uint_via_int(1e19) == std::uint64_t{1} << 63);
  CHECK(detail::go_float_to_uint64(1e20) == std::uint64_t{1} << 63);
}

TEST_CASE("with_dialect names the three versions and nothing else", "[dialect]") {
  std::string seen;
  CHECK(with_dialect("6.7", [&]<class D>(D) { seen += D::name; }));
  CHECK(with_dialect("7.14", [&]<class D>(D) { seen += D::name; }));
  CHECK(with_dialect("8.2", [&]<class D>(D) { seen += D::name; }));
  CHECK_FALSE(with_dialect("7.0", [&]<class D>(D) { seen += D::name; }));
  CHECK(seen == "6.77.148.2");
  CHECK(std::string_view(dialect::concourse_default::name) == "8.2");
}

TEST_CASE("image_resource name and tags exist from 7.0, in 7.x's field order", "[dialect]") {
  const auto t = task("image_resource: {type: r, source: {}, params: {p: 1}, version: {v: x}, tags: [gpu]}\n");
  CHECK(outcome<d67>(t) == "error unmarshaling JSON: while decoding JSON: json: unknown field \"tags\"");
  const std::string want =
      R"({"platform":"linux","image_resource":{"name":"","type":"r","source":{},"version":{"v":"x"},"params":{"p":1},"tags":["gpu"]},"run":{"path":"echo"}})";
  CHECK(outcome<d714>(t) == want);
  CHECK(outcome<d82>(t) == want);
  // 6.7 keeps its own order and no name
  CHECK(outcome<d67>(task("image_resource: {type: r, source: {}, params: {p: 1}, version: {v: x}}\n")) ==
        R"({"platform":"linux","image_resource":{"type":"r","source":{},"params":{"p":1},"version":{"v":"x"}},"run":{"path":"echo"}})");
}

TEST_CASE("container limits: 7.x decodes cpu and memory per field, a null limit is omitted", "[dialect]") {
  const auto nulls = task("container_limits: {cpu: ~, memory: ~}\n");
  CHECK(outcome<d67>(nulls) == "error unmarshaling JSON: while decoding JSON: cpu limit must be an integer");
  CHECK(outcome<d714>(nulls) == R"({"platform":"linux","container_limits":{},"run":{"path":"echo"}})");
  CHECK(outcome<d714>(task("container_limits: {memory: 1B}\n")) ==
        "error unmarshaling JSON: while decoding JSON: could not parse container memory limit");
  CHECK(outcome<d67>(task("container_limits: {memory: 1B}\n")) ==
        R"({"platform":"linux","container_limits":{"memory":1},"run":{"path":"echo"}})");
  CHECK(outcome<d714>(task("container_limits: {cpu: 1, disk: 2}\n")) ==
        "error unmarshaling JSON: while decoding JSON: json: unknown field \"disk\"");
  CHECK(outcome<d82>(task("container_limits: {cpu: 1, disk: 2}\n")) ==
        R"({"platform":"linux","container_limits":{"cpu":1},"run":{"path":"echo"}})");
  CHECK(outcome<d714>(task("container_limits: 5\n")) ==
        "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal number into Go struct field "
        "TaskConfig.container_limits of type atc.ContainerLimits");
  CHECK(outcome<d67>(task("container_limits: 5\n")) == R"({"platform":"linux","container_limits":{},"run":{"path":"echo"}})");
}

TEST_CASE("8.1 decoding: unknown top-level keys listed, nested ones ignored, duplicates allowed, no coercion",
          "[dialect]") {
  CHECK(outcome<d82>(task("ouputs: []\nPlatform: x\n")) == "unknown fields: [Platform ouputs]");
  CHECK(outcome<d714>(task("ouputs: []\n")) == "error unmarshaling JSON: while decoding JSON: json: unknown field \"ouputs\"");
  CHECK(outcome<d82>("platform: linux\nrun: {path: echo, agrs: [x]}\n") == R"({"platform":"linux","run":{"path":"echo"}})");
  CHECK(outcome<d82>("platform: a\nplatform: b\nrun: {path: echo}\n") == R"({"platform":"b","run":{"path":"echo"}})");
  CHECK(outcome<d714>("platform: a\nplatform: b\nrun: {path: echo}\n") ==
        "error converting YAML to JSON: yaml: unmarshal errors:\n  line 2: key \"platform\" already set in map");
  CHECK(outcome<d82>("platform: 1\nrun: {path: echo}\n") ==
        "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal number into Go struct field "
        "taskConfigAlias.platform of type string");
  CHECK(outcome<d714>("platform: 1\nrun: {path: echo}\n") == R"({"platform":"1","run":{"path":"echo"}})");
  CHECK(outcome<d82>("[1]\n") ==
        "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type "
        "map[string]*json.RawMessage");
}

TEST_CASE("8.0 run.path is optional and a zero run is omitted", "[dialect]") {
  CHECK(outcome<d714>("platform: linux\n") == "invalid task configuration:\nmissing path to executable to run");
  CHECK(outcome<d82>("platform: linux\n") == R"({"platform":"linux"})");
  CHECK(outcome<d82>("platform: linux\nrun: {user: root}\n") == R"({"platform":"linux","run":{"path":"","user":"root"}})");
  CHECK(rendered<d82>("platform: linux\n") == R"({"platform":"linux"})");
}

TEST_CASE("8.2 caches ttl: a Go duration of at least 1s, checked before interpolation", "[dialect]") {
  CHECK(outcome<d82>(task("caches: [{path: c, ttl: 1h}]\n")) ==
        R"({"platform":"linux","run":{"path":"echo"},"caches":[{"path":"c","ttl":"1h"}]})");
  CHECK(outcome<d82>(task("caches: [{path: c, ttl: 500ms}]\n")) ==
        "error unmarshaling JSON: while decoding JSON: cache ttl must be at least 1s, got '500ms'");
  CHECK(outcome<d82>(task("caches: [{path: c, ttl: 1d}]\n")) ==
        "error unmarshaling JSON: while decoding JSON: invalid cache ttl '1d': time: unknown unit \"d\" in duration \"1d\"");
  vars::static_vars v;
  v.set("t", value(std::string("1h")));
  CHECK(rendered<d82>(task("caches: [{path: c, ttl: ((t))}]\n"), v) ==
        "error unmarshaling JSON: while decoding JSON: invalid cache ttl '((t))': time: invalid duration \"((t))\"");
  CHECK(outcome<d82>(task("caches: [{path: 1}]\n")) ==
        "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal number into Go struct field "
        "taskConfigAlias.caches.path of type string");
  CHECK(outcome<d714>(task("caches: [{path: c, ttl: 1h}]\n")) ==
        "error unmarshaling JSON: while decoding JSON: json: unknown field \"ttl\"");
}

TEST_CASE("old-style {{x}} is resolved up to 7.14 and left as text from 8.0", "[dialect]") {
  vars::static_vars v;
  v.set("x", value(std::string("1")));
  const auto t = task("params: {A: \"{{x}}\"}\n");
  CHECK(rendered<d714>(t, v) == R"({"platform":"linux","params":{"A":"\"1\""},"run":{"path":"echo"}})");
  CHECK(rendered<d82>(t, v) == R"({"platform":"linux","params":{"A":"{{x}}"},"run":{"path":"echo"}})");
}

TEST_CASE("var references split per dialect: 7.x ParseReference, 8.2.5 quoted source and cleaned segments",
          "[dialect]") {
  using vars::parse_reference;
  auto v7 = [](std::string_view n) { return parse_reference(n, reference_syntax::concourse_7); };
  auto v825 = [](std::string_view n) { return parse_reference(n, reference_syntax::concourse_8_2_5); };
  CHECK(v7("a.\"b.c\"")->fields == std::vector<std::string>{"b.c"});
  CHECK(parse_reference("a.\"b.c\"").fields == std::vector<std::string>{"\"b.c\""});  // 6.7 keeps the quotes
  CHECK(v7("\"s\":x").error().message() == "invalid var '\"s\":x': source must not be quoted");
  CHECK(v825("\"s\":x")->source == "s");
  CHECK(v7("a..b").error().message() == "invalid var 'a..b': empty field");
  CHECK(v7("\"../x\"")->path == "../x");
  CHECK(v825("\"../x\"")->path == "x");
  CHECK(v825("\"..\"").error().message() == "invalid var '\"..\"': empty field");
  CHECK(v825("\"x").error().message() == "invalid var '\"x': contains unclosed quotes");
  CHECK(v7("\"a:b\"")->source.empty());
  CHECK(vars::reference_string(*v7("\"a:b\"")) == "\"a:b\"");
  CHECK(vars::reference_string(*v7("s:a.\"b c\".d")) == "s:a.\"b c\".d");
}

TEST_CASE("7.1: static vars answer only references without a source", "[dialect]") {
  vars::static_vars v;
  v.set("x", value(std::string("1")));
  const auto t = task("params: {A: ((vault:x)), B: ((x))}\n");
  CHECK(rendered<d67>(t, v) == R"({"platform":"linux","params":{"A":"1","B":"1"},"run":{"path":"echo"}})");
  CHECK(rendered<d714>(t, v) == "failed to interpolate task config: undefined vars: vault:x");
  CHECK(rendered<d82>(t, v) == "failed to interpolate task config: undefined vars: vault:x");
}
