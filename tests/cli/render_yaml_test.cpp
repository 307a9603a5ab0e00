// `taskstep render --yaml`: the final config as YAML, keys in the JSON output's order; printed YAML
// fed back to `taskstep render` gives the same JSON.
#include <catch2/catch.hpp>

#include "cli/run_command.hpp"

namespace {
std::string file(const std::string& text) {
  static const auto dir = test_dir();
  static int n = 0;
  auto path = dir / ("yaml" + std::to_string(n++) + ".yml");
  write_file(path, text);
  return path.string();
}

// render --yaml of `task` (with `extra` flags), then render (JSON) of that YAML, against render of `task`.
void check_round_trip(const std::string& task, std::vector<std::string> extra = {}) {
  INFO("task file:\n" << task);
  const auto path = file(task);
  // 6.7's rules (scalars coerced into string fields); 8.2 refuses some of the inputs below.
  std::vector<std::string> json_args{"render", path, "--concourse", "6.7"},
      yaml_args{"render", "--yaml", path, "--concourse", "6.7"};
  json_args.insert(json_args.end(), extra.begin(), extra.end());
  yaml_args.insert(yaml_args.end(), extra.begin(), extra.end());
  const auto json = run_taskstep(json_args);
  const auto yaml = run_taskstep(yaml_args);
  REQUIRE(json.exit_code == 0);
  REQUIRE(yaml.exit_code == 0);
  CHECK(yaml.err == json.err);  // warnings (a --param the task lacks) are the same
  INFO("render --yaml printed:\n" << yaml.out);
  const auto back = run_taskstep({"render", file(yaml.out), "--concourse", "6.7"});
  CHECK(back.err.empty());
  CHECK(back.exit_code == 0);
  CHECK(back.out == json.out);
}
}  // namespace

TEST_CASE("taskstep render --yaml prints the final config with the JSON output's keys and order", "[cli][render]") {
  auto r = run_taskstep({"render", "--yaml", file("run: {args: [-c, 'x: y'], path: ((cmd))}\nplatform: linux\n"
                                                 "params: {Z: yes, A: 1.0, M: ~}\n"),
                         "-v", "cmd=sh"});
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(r.out ==
        "platform: linux\n"
        "params:\n"
        "  A: \"1\"\n"
        "  M: \"\"\n"
        "  Z: \"true\"\n"
        "run:\n"
        "  path: sh\n"
        "  args:\n"
        "    - -c\n"
        "    - \"x: y\"\n");
}

TEST_CASE("taskstep render --yaml output renders back to the same JSON", "[cli][render]") {
  check_round_trip(
      "platform: linux\n"
      "image_resource: {type: registry-image, source: {repository: busybox, big: 18446744073709551615, f: 1.5,\n"
      "  t: true, n: ~, l: [1, 'two', {x: 3}], e: {}, s: '0x10', d: '2020-01-02', q: \"it's \\\"quoted\\\"\"}}\n"
      "container_limits: {memory: 1KB, cpu: 0}\n"
      "params: {B: yes, A: 1.0, C: [1, a], D: '<&>', E: \"multi\\nline\", F: ' padded ', G: '#', H: '- x', I: 'é ☃'}\n"
      "run: {path: sh, args: [-c, 1e3, '', '*', '&a', '!t', '%', '@', '`'], dir: 'a b', user: '007'}\n"
      "inputs: [{name: src, optional: no}, {name: o, optional: true, path: p/q}]\n"
      "outputs: [{name: out, path: x}]\n"
      "caches: [{path: c}]\n"
      "rootfs_uri: raw:///tmp\n");
  check_round_trip("platform: ((p))\nrun: {path: ((x))}\nparams: {K: ((k))}\n",
                   {"-v", "p=linux", "-y", "x=true", "-y", "k={a: [1, null]}", "--param", "NEW=1e20"});
}

TEST_CASE("taskstep render --yaml and --env exclude each other", "[cli][render]") {
  auto r = run_taskstep({"render", "--yaml", "--env", file("platform: linux\nrun: {path: x}\n")});
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
}
