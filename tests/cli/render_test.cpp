#include <catch2/catch.hpp>

#include "cli/run_command.hpp"

namespace {
std::string file(const std::string& text, const std::string& ext = ".yml") {
  static const auto dir = test_dir();
  static int n = 0;
  auto path = dir / ("file" + std::to_string(n++) + ext);
  write_file(path, text);
  return path.string();
}
}  // namespace

TEST_CASE("taskstep render prints the final config as Go's json.Marshal would", "[cli][render]") {
  auto r = run_taskstep({"render", file(
      "platform: linux\n"
      "image_resource: {type: registry-image, source: {repository: busybox, big: 18446744073709551615}}\n"
      "container_limits: {memory: 1KB}\n"
      "params: {B: yes, A: 1.0, C: [1, a], D: '<&>'}\n"
      "run: {path: sh, args: [-c, 1e3]}\n"
      "inputs: [{name: src, optional: no}]\n"
      "caches: [{path: c}]\n"), "--concourse", "6.7"});
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(r.out ==
        R"({"platform":"linux","image_resource":{"type":"registry-image","source":{"big":18446744073709552000,"repository":"busybox"}},)"
        R"("container_limits":{"memory":1024},"params":{"A":"1","B":"true","C":"[1,\"a\"]","D":"\u003c\u0026\u003e"},)"
        R"("run":{"path":"sh","args":["-c","1000"]},"inputs":[{"name":"src"}],"caches":[{"path":"c"}]})"
        "\n");
}

TEST_CASE("taskstep render --env prints params as sorted NAME=VALUE lines", "[cli][render]") {
  auto r = run_taskstep({"render", "--env", file("platform: linux\nrun: {path: x}\nparams: {Z: ~, A: 0x1F, M: \"two\\nlines\"}\n")});
  CHECK(r.exit_code == 0);
  CHECK(r.out == "A=31\nM=two\nlines\nZ=\n");
}

TEST_CASE("taskstep render interpolates -v strings, -y YAML values and -l files", "[cli][render]") {
  const auto task = file("platform: ((p))\nrun: {path: ((cmd)), args: ['port=((port))']}\nparams: {M: ((m)), F: ((f))}\n");
  const auto vars1 = file("p: from-file\nport: 1\nf: 2.5\n");
  const auto vars2 = file("cmd: later-file-wins\n");
  const auto vars3 = file("cmd: earlier-file\n");
  auto r = run_taskstep({"render", task, "-l", vars3, "-l", vars2, "-l", vars1, "-v", "p=linux", "-y", "port=8080",
                         "-y", "m={a: [1, true]}"});
  CHECK(r.err.empty());
  CHECK(r.exit_code == 0);
  CHECK(r.out ==
        R"({"platform":"linux","params":{"F":"2.5","M":"{\"a\":[1,true]}"},"run":{"path":"later-file-wins","args":["port=8080"]}})"
        "\n");
}

TEST_CASE("taskstep render: later flags win and flags win over files", "[cli][render]") {
  const auto task = file("platform: linux\nrun: {path: ((x))}\n");
  const auto vars = file("x: file\n");
  auto r = run_taskstep({"render", task, "-l", vars, "-v", "x=first", "-y", "x=second"});
  CHECK(r.out == R"({"platform":"linux","run":{"path":"second"}})" "\n");
  r = run_taskstep({"render", task, "-y", "x=first", "-v", "x=third"});
  CHECK(r.out == R"({"platform":"linux","run":{"path":"third"}})" "\n");
}

TEST_CASE("taskstep render reports undefined vars sorted, with Concourse's prefix", "[cli][render]") {
  auto r = run_taskstep({"render", file("platform: linux\nrun: {path: ((zz)), args: ['((a.b))', '((a.b))', '((m))']}\n")});
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK(r.err == "failed to interpolate task config: undefined vars: a.b, m, zz\n");
}

TEST_CASE("taskstep render: a number from a vars file cannot be embedded in a string", "[cli][render]") {
  auto r = run_taskstep({"render", file("platform: linux\nrun: {path: 'x((num))'}\n"), "-l", file("num: 5\n")});
  CHECK(r.exit_code == 1);
  CHECK(r.err == "failed to interpolate task config: cannot interpolate non-primitive value (float64) from var: num\n");
}

TEST_CASE("taskstep render --param overrides and adds params as a step's params: would", "[cli][render]") {
  const auto task = file("platform: linux\nrun: {path: x}\nparams: {KEEP: k, OVER: old}\n");
  auto r = run_taskstep({"render", "--env", task, "--param", "OVER=1e20", "--param", "NEW=~", "--param", "V=((v))",
                         "-v", "v=resolved"});
  CHECK(r.exit_code == 0);
  CHECK(r.out == "KEEP=k\nNEW=\nOVER=100000000000000000000\nV=resolved\n");
  CHECK(r.err.find("NEW was defined in pipeline but missing from task file") != std::string::npos);
}

TEST_CASE("taskstep render validates again after interpolation", "[cli][render]") {
  auto r = run_taskstep({"render", file("platform: ((p))\nrun: {path: x}\n"), "-v", "p="});
  CHECK(r.exit_code == 1);
  CHECK(r.err == "failed to create task config from bytes: invalid task configuration:\nmissing 'platform'\n");
  r = run_taskstep({"render", file("platform: linux\nrun: {path: x, args: ['((m))']}\n"), "-y", "m={a: b}"});
  CHECK(r.exit_code == 1);
  CHECK(r.err ==
        "failed to create task config from bytes: error unmarshaling JSON: while decoding JSON: json: cannot "
        "unmarshal object into Go struct field TaskRunConfig.run.args of type string\n");
}

TEST_CASE("taskstep render rejects malformed var flags with exit 2", "[cli][render]") {
  const auto task = file("platform: linux\nrun: {path: x}\n");
  auto r = run_taskstep({"render", task, "-v", "novalue"});
  CHECK(r.exit_code == 2);
  CHECK(r.err == "invalid input pair 'novalue' (must be name=value)\n");
  r = run_taskstep({"render", task, "-l", "/nonexistent/vars.yml"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("could not read template variables file (/nonexistent/vars.yml)") == 0);
  r = run_taskstep({"render", task, "-l", file("- a\n")});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("could not unmarshal template variables") == 0);
}
