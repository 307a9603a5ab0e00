// `taskstep execute` against what fly execute (Concourse 6.7.0; 7.14.3 and 8.2.5 do the same) does
// around the task step: its own pass of -v/-y/-l before the step's credentials pass, its flag
// precedence, its -i flag parsing, its exit codes. The facts are recorded in docs/cli.md
// ("Differences from fly fixed").

#include <catch2/catch.hpp>

#include "cli/run_command.hpp"

namespace fs = std::filesystem;

namespace {

struct workspace {
  fs::path dir = test_dir();
  int tasks = 0;
  std::string task(const std::string& text) {
    const auto path = dir / ("task" + std::to_string(tasks++) + ".yml");
    write_file(path, text);
    return path.string();
  }
  ~workspace() { fs::remove_all(dir); }
};

// A task printing param A between markers the echoed command line cannot contain.
const char* const print_a = "platform: linux\nparams: {A: ((a))}\nrun: {path: sh, args: [-c, 'echo \"[$((1+1))]$A\"']}\n";

bool printed(const command_result& r, const std::string& value) {
  return r.out.find("[2]" + value + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("fly execute: a var's value reading ((b)) is interpolated again by the credentials pass", "[cli][execute][fly]") {
  workspace w;
  const auto task = w.task(print_a);
  auto r = run_taskstep({"execute", "-c", task, "-v", "a=((b))"});
  CHECK(r.exit_code == 2);  // the build errors, as the step's interpolation does in Concourse
  CHECK(r.err == "failed to interpolate task config: undefined vars: b\n");
  r = run_taskstep({"execute", "-c", task, "-v", "a=x-((b))-y", "--secret", "b=s3cret"});
  CHECK(r.exit_code == 0);
  CHECK(printed(r, "x-((redacted))-y"));
  // -y and -l values are strings too once fly has put them in the file.
  write_file(w.dir / "vars.yml", "a: ((b))\n");
  r = run_taskstep({"execute", "-c", task, "-l", (w.dir / "vars.yml").string(), "--secret", "b=from-creds"});
  CHECK(r.exit_code == 0);
  CHECK(printed(r, "((redacted))"));
  // But a -v var never fills a ((var)) another -v value brought in: that is the credentials' job.
  r = run_taskstep({"execute", "-c", task, "-v", "a=((b))", "-v", "b=static"});
  CHECK(r.exit_code == 2);
  CHECK(r.err == "failed to interpolate task config: undefined vars: b\n");
}

TEST_CASE("fly execute: a ((var)) in a --param resolves only from credentials, never from -v/-y/-l", "[cli][execute][fly]") {
  workspace w;
  const auto task = w.task("platform: linux\nparams: {A: file}\nrun: {path: sh, args: [-c, 'echo \"[$((1+1))]$A\"']}\n");
  write_file(w.dir / "vars.yml", "x: from-file\n");
  for (const auto& flags : std::vector<std::vector<std::string>>{
           {"-v", "x=p"}, {"-y", "x=p"}, {"-l", (w.dir / "vars.yml").string()}, {}}) {
    std::vector<std::string> args{"execute", "-c", task, "--param", "A=pre-((x))"};
    args.insert(args.end(), flags.begin(), flags.end());
    auto r = run_taskstep(args);
    INFO(r.out << r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err == "failed to interpolate task config: undefined vars: x\n");
  }
  auto r = run_taskstep({"execute", "-c", task, "--param", "A=pre-((x))", "--secret", "x=cred", "-v", "x=p"});
  CHECK(r.exit_code == 0);
  CHECK(printed(r, "pre-((redacted))"));
  write_file(w.dir / "secrets.yml", "x: from-secrets-file\n");
  r = run_taskstep({"execute", "-c", task, "--param", "A=((x))", "--secrets-file", (w.dir / "secrets.yml").string()});
  CHECK(r.exit_code == 0);
  CHECK(printed(r, "((redacted))"));
}

TEST_CASE("fly execute: every -v is applied before every -y, and flags win over -l files", "[cli][execute][fly]") {
  workspace w;
  const auto task = w.task(print_a);
  auto r = run_taskstep({"execute", "-c", task, "-y", "a=from-y", "-v", "a=from-v"});
  CHECK(printed(r, "from-y"));
  r = run_taskstep({"execute", "-c", task, "-v", "a=from-v", "-y", "a=from-y"});
  CHECK(printed(r, "from-y"));
  r = run_taskstep({"execute", "-c", task, "-v", "a=v1", "-v", "a=v2"});
  CHECK(printed(r, "v2"));
  write_file(w.dir / "one.yml", "a: one\n");
  write_file(w.dir / "two.yml", "a: two\n");
  r = run_taskstep({"execute", "-c", task, "-l", (w.dir / "one.yml").string(), "-l", (w.dir / "two.yml").string()});
  CHECK(printed(r, "two"));  // a later file wins
  r = run_taskstep({"execute", "-c", task, "-v", "a=flag", "-l", (w.dir / "two.yml").string()});
  CHECK(printed(r, "flag"));
  // render keeps the command-line order its compat corpus records (tests/data/compat/vars-prec.jsonl).
  r = run_taskstep({"render", task, "-y", "a=from-y", "-v", "a=from-v"});
  CHECK(r.out.find("\"A\":\"from-v\"") != std::string::npos);
}

TEST_CASE("fly execute: integer params keep their digits up to the uint64 maximum, beyond it they are floats", "[cli][execute][fly]") {
  workspace w;
  const auto task = w.task(
      "platform: linux\n"
      "params: {U: 18446744073709551615, O: 18446744073709551616, I: -9223372036854775808, M: -9223372036854775809,"
      " L: [18446744073709551615, 18446744073709551616], V: ((y))}\n"  // (N and Y would be YAML 1.1 booleans)
      "run: {path: sh, args: [-c, 'echo \"[$((1+1))]$U $O $I $M $L $V\"']}\n");
  const std::string expected = "18446744073709551615 18446744073709552000 -9223372036854775808 -9223372036854776000 "
                               "[18446744073709551615,18446744073709552000] ";
  auto r = run_taskstep({"execute", "-c", task, "-y", "y=18446744073709551615"});
  CHECK(r.exit_code == 0);
  CHECK(printed(r, expected + "18446744073709551615"));
  r = run_taskstep({"execute", "-c", task, "-y", "y=18446744073709551616"});
  CHECK(printed(r, expected + "18446744073709552000"));
  // A --param is a pipeline step's: atc.UnmarshalConfig's skeleton pass makes every number a float64 first.
  r = run_taskstep({"execute", "-c", task, "-y", "y=1", "--param", "V=18446744073709551615"});
  CHECK(printed(r, expected + "18446744073709552000"));
  r = run_taskstep({"render", task, "-y", "y=1", "--env"});
  CHECK(r.out.find("U=18446744073709551615\n") != std::string::npos);
  CHECK(r.out.find("O=18446744073709552000\n") != std::string::npos);
}

TEST_CASE("fly execute: an -i path that does not exist is refused first, then unknown names, then non-folders", "[cli][execute][fly]") {
  workspace w;
  write_file(w.dir / "file", "x");
  fs::create_directories(w.dir / "src1");
  fs::create_directories(w.dir / "src2");
  const auto task = w.task("platform: linux\ninputs: [{name: src}]\nrun: {path: \"true\"}\n");
  // fly checks each -i path when it parses the flag, before it even reads the task file.
  auto r = run_taskstep({"execute", "-c", task, "-i", "nope=/does/not/exist"});
  CHECK(r.exit_code == 1);
  CHECK(r.err == "path '/does/not/exist' does not exist\n");
  r = run_taskstep({"execute", "-c", (w.dir / "missing.yml").string(), "-i", "src=/does/not/exist"});
  CHECK(r.err == "path '/does/not/exist' does not exist\n");
  r = run_taskstep({"execute", "-c", task, "-i", "src=" + (w.dir / "file").string(), "-i", "nope=" + w.dir.string()});
  CHECK(r.exit_code == 1);
  CHECK(r.err == "unknown input `nope`\n");
  r = run_taskstep({"execute", "-c", task, "-i", "src=" + (w.dir / "file").string()});
  CHECK(r.exit_code == 1);
  CHECK(r.err == (w.dir / "file").string() + " not a folder\n");
  // The path is a glob, as filepath.Glob reads it: one match is the input, more is an error.
  r = run_taskstep({"execute", "-c", task, "-i", "src=" + (w.dir / "src*").string()});
  CHECK(r.exit_code == 1);
  CHECK(r.err == "path '" + (w.dir / "src*").string() + "' resolves to multiple entries: " + (w.dir / "src1").string() +
                     ", " + (w.dir / "src2").string() + "\n");
  write_file(w.dir / "src1" / "f", "one\n");
  const auto cat = w.task("platform: linux\ninputs: [{name: src}]\nrun: {path: cat, args: [src/f]}\n");
  r = run_taskstep({"execute", "-c", cat, "-i", "src=" + (w.dir / "src[1]").string()});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("\none\n") != std::string::npos);
  r = run_taskstep({"execute", "-c", cat, "-i", "src=" + (w.dir / "src[3]").string()});
  CHECK(r.err == "path '" + (w.dir / "src[3]").string() + "' does not exist\n");
}

TEST_CASE("fly execute: errors fly finds itself exit 1, errors of the build exit 2", "[cli][execute][fly]") {
  workspace w;
  const auto task = w.task("platform: linux\ninputs: [{name: src}]\noutputs: [{name: out}]\nrun: {path: \"true\"}\n");
  // Client side (fly prints `error: ...` and exits 1).
  auto r = run_taskstep({"execute", "-c", task});
  CHECK(r.exit_code == 1);
  CHECK(r.err == "missing required input `src`\n");
  CHECK(run_taskstep({"execute", "-c", task, "--no-such-flag"}).exit_code == 1);
  CHECK(run_taskstep({"execute"}).exit_code == 1);  // -c is required
  CHECK(run_taskstep({"execute", "-c", task, "-i", "src"}).exit_code == 1);
  CHECK(run_taskstep({"execute", "-c", task, "-i", "src=" + w.dir.string(), "-o", "nope=" + w.dir.string()}).exit_code == 1);
  CHECK(run_taskstep({"execute", "-c", (w.dir / "missing.yml").string()}).exit_code == 1);
  CHECK(run_taskstep({"execute", "-c", w.task("platform: linux\nrun: {}\n")}).exit_code == 1);
  CHECK(run_taskstep({"execute", "-c", task, "-v", "novalue"}).exit_code == 1);
  CHECK(run_taskstep({"execute", "-c", task, "--timeout", "soon"}).exit_code == 1);
  CHECK(run_taskstep({"execute", "-c", task, "--worker", "mainframe"}).exit_code == 1);
  CHECK(run_taskstep({"execute", "--help"}).exit_code == 0);
  // Build side (the step errors: exit 2).
  r = run_taskstep({"execute", "-c", w.task("platform: linux\nparams: {A: ((a))}\nrun: {path: \"true\"}\n")});
  CHECK(r.exit_code == 2);
  CHECK(r.out.find("errored") != std::string::npos);
  // render and validate keep their corpus' codes: 2 for usage errors.
  CHECK(run_taskstep({"render", "--no-such-flag", task}).exit_code == 2);
}
