#pragma once
//! \file
//! `interpolate`: resolves `((vars))` in the fetched config (Concourse's
//! `InterpolateTemplateConfigSource`): the config is turned into the YAML tree Concourse would
//! serialise, evaluated (old-style `{{x}}` allowed to be empty), then decoded and validated again.
//! Errors: `failed to interpolate task config: <vars error>`,
//! `failed to create task config from bytes: <decode or validation error>`.
//!
//! Unlike Concourse (which drops them there), the inner source's warnings are passed on.

#include <string>
#include <utility>
#include <vector>

#include "taskstep/config/concepts.hpp"
#include "taskstep/vars/template.hpp"
#include "taskstep/yaml/decode.hpp"

namespace taskstep::config {

//! Decorator over `Inner` with variables `Vars` (a `vars::variable_source`), in Concourse dialect `D`.
//! Models `config_source`.
template <class Inner, vars::variable_source Vars, class D = dialect::concourse_6_7>
class interpolate_source {
  static_assert(config_source<Inner>, TASKSTEP_CONFIG_SOURCE_MESSAGE);
  static_assert(dialect_policy<D>, TASKSTEP_DIALECT_MESSAGE);

 public:
  interpolate_source(Inner inner, Vars variables, bool expect_all_keys = true, vars::interpolation_limits limits = {})
      : inner_(std::move(inner)), vars_(std::move(variables)), expect_all_keys_(expect_all_keys), limits_(limits) {}

  result<task_config> fetch() {
    auto config = inner_.fetch();
    if (!config) return config;
    vars::evaluate_options opts;
    opts.expect_all_keys = expect_all_keys_;
    opts.allow_empty_old_style = true;
    opts.limits = limits_;
    opts.old_style = D::old_style_vars;
    opts.syntax = D::reference_syntax;
    opts.sourced_refs_unanswered = D::sourced_refs_skip_static;
    auto input = yaml::to_interpolation_tree<D>(*config);
    if (!input) return fail(input.error());
    auto tree = vars::evaluate(std::move(*input), vars_, opts);
    if (!tree) return fail(tree.error().prefixed("failed to interpolate task config: "));
    auto decoded = yaml::decode_task_config<D>(yaml::after_interpolation(std::move(*tree)));
    if (!decoded) return fail(decoded.error().prefixed("failed to create task config from bytes: "));
    if (auto ok = validate<D>(*decoded); !ok) return fail(ok.error().prefixed("failed to create task config from bytes: "));
    return decoded;
  }
  [[nodiscard]] std::vector<std::string> warnings() const { return inner_.warnings(); }
  [[nodiscard]] const Vars& variables() const noexcept { return vars_; }

 private:
  Inner inner_;
  Vars vars_;
  bool expect_all_keys_;
  vars::interpolation_limits limits_;
};

//! Pipe adaptor: `source | interpolate(vars)` (or `interpolate<dialect::concourse_8_2>(vars)`);
//! `expect_all_keys = false` leaves unknown vars in place; `limits` bounds the evaluation
//! (`vars::interpolation_limits`, Concourse-sized by default).
template <class D = dialect::concourse_6_7, vars::variable_source Vars>
auto interpolate(Vars variables, bool expect_all_keys = true, vars::interpolation_limits limits = {}) {
  return [variables = std::move(variables), expect_all_keys, limits]<class S>(S inner) mutable {
    return interpolate_source<S, Vars, D>(std::move(inner), std::move(variables), expect_all_keys, limits);
  };
}

}  // namespace taskstep::config
