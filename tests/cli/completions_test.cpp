// completions/taskstep.{bash,zsh,fish} and docs/man/taskstep.1: the bash script loads and completes
// in a real bash, and every flag the real binary's help lists appears in each of them.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdlib>
#include <regex>
#include <set>
#include <string>

#include "cli/run_command.hpp"

namespace {

const std::string source_dir = TASKSTEP_SOURCE_DIR;

// Runs `script` in bash with the completion loaded; returns what it printed (COMPREPLY, one a line).
std::string complete_in_bash(const std::string& words, int cword) {
  const auto dir = test_dir();
  write_file(dir / "run.sh", "source '" + source_dir + "/completions/taskstep.bash' || exit 9\n"
                                 "COMP_WORDS=(" + words + "); COMP_CWORD=" + std::to_string(cword) + "\n"
                                 "COMP_LINE=\"${COMP_WORDS[*]}\"; COMP_POINT=${#COMP_LINE}\n"
                                 "_taskstep || exit 8\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n");
  const int status = std::system(("bash --norc --noprofile '" + (dir / "run.sh").string() + "' > '" +
                                  (dir / "out").string() + "' 2>&1").c_str());
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  return slurp(dir / "out");
}

std::set<std::string> long_flags(const std::string& help) {
  std::set<std::string> flags;
  const std::regex flag(R"((^|[\s,])(--[a-z][a-z-]+))");
  for (auto it = std::sregex_iterator(help.begin(), help.end(), flag); it != std::sregex_iterator(); ++it)
    flags.insert((*it)[2]);
  return flags;
}

}  // namespace

TEST_CASE("the bash completion loads and completes subcommands and flag values", "[cli][completions]") {
  if (std::system("command -v bash > /dev/null") != 0) {
    WARN("SKIPPED: bash is not installed");
    return;
  }
  CHECK(complete_in_bash("taskstep ex", 1) == "execute\n");
  CHECK(complete_in_bash("taskstep ''", 1) == "execute\nvalidate\nrender\n");
  CHECK(complete_in_bash("taskstep execute --wor", 2) == "--worker\n");
  CHECK(complete_in_bash("taskstep execute --worker ''", 3) == "auto\nlocal\noci\nslurm\n");
  CHECK(complete_in_bash("taskstep execute --color=al", 2) == "always\n");
  CHECK(complete_in_bash("taskstep render --ya", 2) == "--yaml\n--yaml-var\n");
  CHECK(complete_in_bash("taskstep --vers", 1) == "--version\n");
}

TEST_CASE("every flag of the real help is in the completions and the man page", "[cli][completions]") {
  std::set<std::string> flags;
  for (const auto& args : {std::vector<std::string>{"--help"}, {"execute", "--help"}, {"render", "--help"}, {"validate", "--help"}}) {
    const auto r = run_taskstep(args);
    REQUIRE(r.exit_code == 0);
    const auto found = long_flags(r.out);
    flags.insert(found.begin(), found.end());
  }
  REQUIRE(flags.count("--worker") == 1);
  REQUIRE(flags.count("--version") == 1);
  for (const char* file : {"completions/taskstep.bash", "completions/taskstep.zsh", "completions/taskstep.fish",
                           "docs/man/taskstep.1"}) {
    std::string text = slurp(source_dir + "/" + file);
    REQUIRE(!text.empty());
    // roff writes a '-' as '\-'; fish names long flags without their dashes (`-l worker`).
    text = std::regex_replace(text, std::regex(R"(\\-)"), "-");
    for (const auto& f : flags) {
      INFO(file << " lacks " << f);
      const bool fish = std::string(file).ends_with(".fish");
      CHECK(text.find(fish ? "-l " + f.substr(2) : f) != std::string::npos);
    }
  }
}

TEST_CASE("the man page formats without warnings", "[cli][completions]") {
  if (std::system("command -v groff > /dev/null") != 0) {
    WARN("SKIPPED: groff is not installed");
    return;
  }
  const auto dir = test_dir();
  const int status = std::system(("groff -man -Tutf8 -ww -z '" + source_dir + "/docs/man/taskstep.1' > '" +
                                  (dir / "warnings").string() + "' 2>&1").c_str());
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(slurp(dir / "warnings").empty());
}
