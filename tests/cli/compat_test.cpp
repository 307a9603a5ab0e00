// Compatibility corpus: ~670 recorded runs of Concourse v6.7.0's task config handling (see
// tests/data/compat/README.md). Every case's input files are written to a fresh directory,
// `taskstep` runs there with the recorded arguments, and its exit code, stdout and stderr must
// equal Concourse's byte for byte (after dropping our `[WARNING] ` stderr lines, which Concourse
// computes but never prints).
//
// One Catch test case per corpus file ("compat: <category>", tag [compat]), registered at start-up
// from the files found in TASKSTEP_TEST_DATA "/compat"; one section per recorded case.
//
// Dialects: the top-level files are Concourse 6.7's corpus, `compat/<version>/*.jsonl` (7.14, 8.2)
// hold cases of that version ("compat: 8.2/<category>"). Each case runs with `--concourse <version>`
// appended unless its args name a version themselves.
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

const std::vector<std::string> dialect_dirs{"7.14", "8.2"};

std::vector<fs::path> jsonl_in(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file() && e.path().extension() == ".jsonl") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

//! The 6.7 corpus (top level).
std::vector<fs::path> corpus_files() { return jsonl_in(corpus_dir()); }

//! Every corpus file of every dialect.
std::vector<fs::path> all_corpus_files() {
  auto files = corpus_files();
  for (const auto& d : dialect_dirs)
    for (auto& f : jsonl_in(corpus_dir() / d)) files.push_back(std::move(f));
  return files;
}

//! The dialect a corpus file belongs to: its directory's name, or 6.7 at the top level.
std::string dialect_of(const fs::path& file) {
  const auto parent = file.parent_path().filename().string();
  for (const auto& d : dialect_dirs)
    if (parent == d) return d;
  return "6.7";
}

std::string test_name_of(const fs::path& file) {
  const auto d = dialect_of(file);
  return "compat: " + (d == "6.7" ? std::string() : d + "/") + file.stem().string();
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

void check_case(const compat::compat_case& c, const std::string& dialect) {
  const fs::path work = test_dir();
  const fs::path cwd = work / "case";
  const fs::path io = work / "io";
  fs::create_directories(cwd);
  fs::create_directories(io);
  for (const auto& [name, content] : c.files) write_file(cwd / name, content);
  for (const auto& d : c.dirs) fs::create_directories(cwd / d);

  std::vector<std::string> args = c.args;
  if (std::find(args.begin(), args.end(), "--concourse") == args.end() && !args.empty()) {
    args.push_back("--concourse");
    args.push_back(dialect);
  }
  const command_result r = compat::run_taskstep_in(cwd, io, args);
  INFO("args: " << show_args(args));
  CHECK(r.exit_code == c.exit_code);
  CHECK(r.out == c.out);
  CHECK(compat::strip_warning_lines(r.err) == c.err);

  std::error_code ec;
  fs::remove_all(work, ec);
}

void run_corpus_file(const fs::path& file) {
  const auto& cases = cases_of(file);
  REQUIRE_FALSE(cases.empty());
  const std::string dialect = dialect_of(file);
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) { check_case(c, dialect); }
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
  for (const auto& f : all_corpus_files()) {
    names.push_back(test_name_of(f));
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
