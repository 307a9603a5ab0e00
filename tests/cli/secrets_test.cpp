// Credentials given with --secret never appear in what `taskstep execute` prints (errors, events,
// the shown command line), and --json log payloads carry whole UTF-8 characters.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <sstream>

#include "cli/run_command.hpp"
#include "taskstep/core/json.hpp"

namespace fs = std::filesystem;

namespace {

struct secrets_workspace {
  fs::path dir = test_dir();
  std::string task(const std::string& text) {
    const auto path = dir / "task.yml";
    write_file(path, text);
    return path.string();
  }
  ~secrets_workspace() { fs::remove_all(dir); }
};

bool has(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size())
    if (taskstep::detail::decode_utf8(s, i) < 0) return false;
  return true;
}

// The events of --json output, one JSON object a line.
std::vector<nlohmann::json> events(const std::string& out) {
  std::vector<nlohmann::json> all;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line))
    if (!line.empty()) all.push_back(nlohmann::json::parse(line));
  return all;
}

}  // namespace

TEST_CASE("execute: an error about a run.path built from a secret shows it redacted", "[cli][secrets]") {
  secrets_workspace w;
  for (bool json : {false, true}) {
    std::vector<std::string> args{"execute", "-c", w.task("platform: linux\nrun: {path: ((x))}\n"), "--secret",
                                  "x=supersecret"};
    if (json) args.emplace_back("--json");
    auto r = run_taskstep(args);
    INFO("json: " << json << "\nstdout:\n" << r.out << "\nstderr:\n" << r.err);
    CHECK(r.exit_code != 0);
    CHECK_FALSE(has(r.out, "supersecret"));
    CHECK_FALSE(has(r.err, "supersecret"));
    CHECK(has(r.out + r.err, "((redacted))"));
  }
}

TEST_CASE("execute --json: an input path built from a secret is redacted in the initialize and start events", "[cli][secrets]") {
  secrets_workspace w;
  write_file(w.dir / "in" / "f", "data\n");
  auto r = run_taskstep({"execute", "--json", "-c",
                         w.task("platform: linux\ninputs: [{name: in, path: ((x))}]\nrun: {path: ls}\n"), "-i",
                         "in=" + (w.dir / "in").string(), "--secret", "x=supersecret"});
  INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err);
  CHECK(r.exit_code == 0);
  CHECK_FALSE(has(r.out, "supersecret"));
  CHECK_FALSE(has(r.err, "supersecret"));
  int config_events = 0;
  for (const auto& e : events(r.out)) {
    if (e["event"] != "initialize" && e["event"] != "start") continue;
    ++config_events;
    CHECK(e["config"]["inputs"][0]["path"] == "((redacted))");
  }
  CHECK(config_events == 2);
}

TEST_CASE("execute: the shown command keeps an argument that is a prefix of a secret", "[cli][secrets]") {
  secrets_workspace w;
  auto r = run_taskstep({"execute", "-c", w.task("platform: linux\nrun: {path: echo, args: [pass, ((x))]}\n"),
                         "--secret", "x=password"});
  INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err);
  CHECK(r.exit_code == 0);
  CHECK(has(r.out, "running echo pass ((redacted))\n"));
  CHECK_FALSE(has(r.out, "password"));
}

TEST_CASE("execute --json: log payloads hold whole UTF-8 characters and add up to the output", "[cli][secrets][utf8]") {
  secrets_workspace w;
  // One ASCII byte, then the characters, through one writer (tr) that writes blocks of an even size:
  // every block boundary cuts a two-byte character.
  auto r = run_taskstep({"execute", "--json", "-c",
                         w.task("platform: linux\nrun:\n  path: sh\n"
                                "  args: [-c, '(printf x; yes \u00e9 | head -n 100000) | tr -d \"\\n\"']\n")});
  CHECK(r.exit_code == 0);
  std::string expected = "x";
  for (int i = 0; i < 100000; ++i) expected += "\u00e9";
  std::string got;
  int payloads = 0;
  for (const auto& e : events(r.out)) {
    if (e["event"] != "log" || e["stream"] != "stdout") continue;
    const std::string payload = e["payload"];
    ++payloads;
    CHECK(valid_utf8(payload));
    CHECK_FALSE(has(payload, "\ufffd"));
    got += payload;
  }
  CHECK(payloads > 1);
  CHECK(got.size() == expected.size());
  CHECK((got == expected));
}
