// A config source of your own: task files compiled into the program (a name → YAML map), decoded
// through the library's strict decoder, so its errors are Concourse's; then composed with the
// library's decorators. Walked through in docs/extending.md.
//
// It models `config::config_source`: `fetch() -> result<task_config>` and `warnings() const`.

#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "taskstep/config/override_params.hpp"
#include "taskstep/config/validating.hpp"
#include "taskstep/yaml/decode.hpp"

namespace {

using namespace taskstep;

//! Task files known by name, e.g. generated at build time. Models `config::config_source`.
class embedded_source {
 public:
  embedded_source(const std::map<std::string, std::string>& files, std::string name)
      : files_(&files), name_(std::move(name)) {}

  result<task_config> fetch() {
    auto it = files_->find(name_);
    if (it == files_->end()) return fail(errc::config_not_found, "task config '" + name_ + "' not found");
    // The same decoder and validation as task files: the same messages, with our own prefix.
    auto config = yaml::parse_task_config(it->second);
    if (!config) return fail(config.error().prefixed("failed to create task config from bytes " + name_ + ": "));
    if (config->run.user.empty()) warnings_.push_back(name_ + ": run.user is not set, the image's user runs it");
    return config;
  }
  [[nodiscard]] std::vector<std::string> warnings() const { return warnings_; }

 private:
  const std::map<std::string, std::string>* files_;
  std::string name_;
  std::vector<std::string> warnings_;
};

static_assert(config::config_source<embedded_source>, TASKSTEP_CONFIG_SOURCE_MESSAGE);

int failures = 0;
void check(bool ok, const std::string& what) {
  std::printf("%s: %s\n", ok ? "ok" : "FAILED", what.c_str());
  if (!ok) ++failures;
}

}  // namespace

int main() {
  const std::map<std::string, std::string> files = {
      {"unit", "platform: linux\nrun: {path: make, args: [test]}\nparams: {LEVEL: 1}\n"},
      {"typo", "platform: linux\nrun: {path: make}\nparamz: {}\n"},
  };

  // The library's decorators wrap it like any other source.
  auto source = embedded_source(files, "unit") | config::override_params({{"LEVEL", "2"}, {"EXTRA", "x"}}) |
                config::validating();
  auto config = source.fetch();
  check(config.has_value(), "the embedded task decodes");
  if (config) {
    const std::string json = yaml::to_json(*config);
    std::printf("%s\n", json.c_str());
    check(json == R"({"platform":"linux","params":{"EXTRA":"x","LEVEL":"2"},"run":{"path":"make","args":["test"]}})",
          "params are overridden, as a step's params: would");
  }
  const auto warnings = source.warnings();
  check(warnings.size() == 2 && warnings[1] == "EXTRA was defined in pipeline but missing from task file",
        "warnings of every layer are collected");

  auto typo = embedded_source(files, "typo").fetch();
  check(!typo && typo.error().code() == errc::decode &&
            typo.error().message() ==
                "failed to create task config from bytes typo: error unmarshaling JSON: while decoding JSON: "
                "json: unknown field \"paramz\"",
        "an unknown field is Concourse's error");

  auto missing = embedded_source(files, "nope").fetch();
  check(!missing && missing.error().message() == "task config 'nope' not found", "an unknown name is an error value");
  return failures == 0 ? 0 : 1;
}
