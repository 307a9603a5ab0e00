#pragma once
//! \file
//! `validating`: the outermost decorator; validates what its inner source fetched and returns the bare
//! `invalid task configuration:` error (Concourse's `ValidatingConfigSource`).

#include <string>
#include <utility>
#include <vector>

#include "taskstep/config/concepts.hpp"

namespace taskstep::config {

//! Decorator: fetch, then `validate` (Concourse dialect `D`). Models `config_source`.
template <class Inner, class D = dialect::concourse_6_7>
class validating_source {
  static_assert(config_source<Inner>, TASKSTEP_CONFIG_SOURCE_MESSAGE);

 public:
  explicit validating_source(Inner inner) : inner_(std::move(inner)) {}

  result<task_config> fetch() {
    auto config = inner_.fetch();
    if (!config) return config;
    if (auto ok = validate<D>(*config); !ok) return fail(ok.error());
    return config;
  }
  [[nodiscard]] std::vector<std::string> warnings() const { return inner_.warnings(); }

 private:
  Inner inner_;
};

//! Pipe adaptor: `source | validating()` (or `validating<dialect::concourse_8_2>()`).
template <class D = dialect::concourse_6_7>
auto validating() {
  return []<class S>(S inner) { return validating_source<S, D>(std::move(inner)); };
}

}  // namespace taskstep::config
