// Compatibility corpus: ~670 recorded runs of Concourse v6.7.0's task config handling (see
// tests/data/compat/README.md). Every case's input files are written to a fresh directory,
// `taskstep` runs there with the recorded arguments, and its exit code, stdout and stderr must
// equal Concourse's byte for byte (after dropping our `[WARNING] ` stderr lines, which Concourse
// computes but never prints).
//
// One Catch test case per corpus file ("compat: <category>", tag [compat]), registered at start-up
// from the files found in TASKSTEP_TEST_DATA "/compat"; one section per recorded case.
#include <catch2/catch.hpp>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "cli/compat_support.hpp"

namespace {

namespace fs = std::filesystem;

fs::path corpus_dir() { return fs::path(TASKSTEP_TEST_DATA) / "compat"; }

std::vector<fs::path> corpus_files() {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(corpus_dir(), ec))
    if (e.is_regular_file() && e.path().extension() == ".jsonl") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

//! Catch reruns a test case once per section: parse each file once.
const std::vector<compat::compat_case>& cases_of(const fs::path& file) {
  static std::map<fs::path, std::vector<compat::compat_case>> cache;
  auto it = cache.find(file);
  if (it == cache.end()) it = cache.emplace(file, compat::load_cases(file)).first;
  return it->second;
}

std::string show_args(const std::vector<std::string>& args) {
  std::string s;
  for (const auto& a : args) s += (s.empty() ? "'" : " '") + a + "'";
  return s;
}

void check_case(const compat::compat_case& c) {
  const fs::path work = test_dir();
  const fs::path cwd = work / "case";
  const fs::path io = work / "io";
  fs::create_directories(cwd);
  fs::create_directories(io);
  for (const auto& [name, content] : c.files) write_file(cwd / name, content);
  for (const auto& d : c.dirs) fs::create_directories(cwd / d);

  const command_result r = compat::run_taskstep_in(cwd, io, c.args);
  INFO("args: " << show_args(c.args));
  CHECK(r.exit_code == c.exit_code);
  CHECK(r.out == c.out);
  CHECK(compat::strip_warning_lines(r.err) == c.err);

  std::error_code ec;
  fs::remove_all(work, ec);
}

void run_corpus_file(const fs::path& file) {
  const auto& cases = cases_of(file);
  REQUIRE_FALSE(cases.empty());
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) { check_case(c); }
  }
}

struct corpus_file_test : Catch::ITestInvoker {
  fs::path file;
  explicit corpus_file_test(fs::path f) : file(std::move(f)) {}
  void invoke() const override { run_corpus_file(file); }
};

// Registers "compat: <category>" for every corpus file before Catch's main runs.
[[maybe_unused]] const bool registered = [] {
  static std::deque<std::string> names;  // keep registration strings alive for the whole run
  static std::deque<Catch::AutoReg> regs;
  for (const auto& f : corpus_files()) {
    names.push_back("compat: " + f.stem().string());
    regs.emplace_back(new corpus_file_test(f), Catch::SourceLineInfo(__FILE__, __LINE__), Catch::StringRef(),
                      Catch::NameAndTags{names.back(), "[cli][compat]"});
  }
  return true;
}();

}  // namespace

TEST_CASE("the compat corpus is present and complete", "[cli][compat]") {
  const auto files = corpus_files();
  CHECK(files.size() >= 60);
  std::size_t total = 0;
  for (const auto& f : files) {
    INFO(f.string());
    const auto& cases = cases_of(f);
    CHECK_FALSE(cases.empty());
    total += cases.size();
  }
  CHECK(total >= 400);
  CHECK(fs::exists(corpus_dir() / "README.md"));
}
