#pragma once
//! \file
//! `load_var`: a file out of an artifact into the build's local vars, read as `((.:name))`
//! (atc/exec/load_var_step.go, Concourse 6.7).
//!
//! `file` is `ARTIFACT/PATH`. The format is `format:` when it is one of json, yaml, yml, trim, raw (any
//! other value is `invalid format X`); without it, the file's extension when that is one of those,
//! else `trim`. json and yaml are parsed into a value (JSON numbers become floats and maps string-keyed,
//! as Go's encoding/json makes them); trim is the text without leading/trailing white space; raw the
//! text as is. Unless `reveal`, the value is recorded for redaction in the state's credential tracker.

#include <stop_token>
#include <string>
#include <string_view>
#include <utility>

#include "taskstep/plan/outcome.hpp"
#include "taskstep/plan/state.hpp"
#include "taskstep/step/delegate.hpp"
#include "taskstep/yaml/parse.hpp"

namespace taskstep::plan {

//! What a `load_var:` step says.
struct load_var_spec {
  std::string name;    //!< the local var to set
  std::string file;    //!< `ARTIFACT/PATH`
  std::string format;  //!< json | yaml | yml | trim | raw; empty = from the extension
  bool reveal = false;  //!< do not redact the value
};

namespace detail {

inline bool valid_load_var_format(std::string_view f) {
  return f == "raw" || f == "trim" || f == "yml" || f == "yaml" || f == "json";
}

// Go's filepath.Ext: from the last '.' of the last path element.
inline std::string_view go_ext(std::string_view file) {
  for (std::size_t i = file.size(); i > 0; --i) {
    if (file[i - 1] == '/') break;
    if (file[i - 1] == '.') return file.substr(i - 1);
  }
  return {};
}

// The value as encoding/json would have produced it: numbers are float64, maps have string keys.
inline void as_json_value(value& v) {
  if (v.is_sequence()) {
    for (auto& e : v.as_sequence()) as_json_value(e);
  } else if (v.is_mapping()) {
    v.origin = value::map_kind::json;
    for (auto& e : v.as_mapping()) as_json_value(e.val);
  } else if (const auto* i = std::get_if<std::int64_t>(&v.data)) {
    v = value(static_cast<double>(*i));
  } else if (const auto* u = std::get_if<std::uint64_t>(&v.data)) {
    v = value(static_cast<double>(*u));
  }
}

// Go's strings.TrimSpace for ASCII white space (and the Unicode spaces U+0085, U+00A0 as UTF-8).
inline std::string trim_space(std::string_view s) {
  auto space_at_start = [](std::string_view t) -> std::size_t {
    if (t.empty()) return 0;
    const char c = t.front();
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') return 1;
    if (t.size() >= 2 && static_cast<unsigned char>(c) == 0xC2 &&
        (static_cast<unsigned char>(t[1]) == 0x85 || static_cast<unsigned char>(t[1]) == 0xA0))
      return 2;
    return 0;
  };
  auto space_at_end = [](std::string_view t) -> std::size_t {
    if (t.empty()) return 0;
    const char c = t.back();
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') return 1;
    if (t.size() >= 2 && static_cast<unsigned char>(t[t.size() - 2]) == 0xC2 &&
        (static_cast<unsigned char>(c) == 0x85 || static_cast<unsigned char>(c) == 0xA0))
      return 2;
    return 0;
  };
  while (std::size_t k = space_at_start(s)) s.remove_prefix(k);
  while (std::size_t k = space_at_end(s)) s.remove_suffix(k);
  return std::string(s);
}

}  // namespace detail

//! The format `spec` is read in, or the error 6.7 gives.
inline result<std::string> load_var_format(const load_var_spec& spec) {
  if (detail::valid_load_var_format(spec.format)) return spec.format;
  if (!spec.format.empty()) return fail(errc::decode, "invalid format " + spec.format);
  std::string_view ext = detail::go_ext(spec.file);
  if (!ext.empty()) ext.remove_prefix(1);
  if (detail::valid_load_var_format(ext)) return std::string(ext);
  return std::string("trim");
}

//! Reads the value `spec` names from `artifacts` (an `artifact_reader`), with 6.7's messages.
template <class Artifacts>
result<value> load_var_value(const load_var_spec& spec, const Artifacts& artifacts) {
  static_assert(artifact_reader<Artifacts>, TASKSTEP_ARTIFACT_READER_MESSAGE);
  const auto slash = spec.file.find('/');
  if (slash == std::string::npos)
    return fail(errc::config_path, "file '" + spec.file + "' does not specify where the file lives");
  const std::string artifact = spec.file.substr(0, slash);
  const std::string path = spec.file.substr(slash + 1);
  auto format = load_var_format(spec);
  if (!format) return fail(format.error());
  if (!artifacts.contains(artifact))
    return fail(errc::unknown_artifact, "unknown artifact source: '" + artifact + "' in file path '" + path + "'");
  auto text = artifacts.read_file(artifact, path);
  if (!text) {
    if (text.error().code() == errc::config_not_found)
      return fail(errc::config_not_found, "file '" + path + "' not found within artifact '" + artifact + "'");
    return fail(text.error());
  }
  if (*format == "raw") return value(std::move(*text));
  if (*format == "trim") return value(detail::trim_space(*text));
  const bool json = *format == "json";
  auto parsed = yaml::parse(*text, /*strict=*/false);
  if (!parsed)
    return fail(errc::decode, "failed to parse " + spec.file + " in format " + (json ? "json" : "yaml") + ": " +
                                  parsed.error().message());
  if (json) detail::as_json_value(*parsed);
  return std::move(*parsed);
}

//! The `load_var` step: models `plan::step`. Prints `var NAME fetched.` and `added var NAME to build.`
//! on stdout as 6.7 does; an error is reported with `delegate.errored` and errors the step.
class load_var {
 public:
  explicit load_var(load_var_spec spec) : spec_(std::move(spec)) {}
  load_var(std::string name, std::string file, std::string format = {}, bool reveal = false)
      : spec_{std::move(name), std::move(file), std::move(format), reveal} {}

  template <class State, class D>
  outcome run(State& state, D& d, std::stop_token stop) {
    static_assert(plan_state<State>, TASKSTEP_PLAN_STATE_MESSAGE);
    static_assert(taskstep::step::task_delegate<D>, TASKSTEP_TASK_DELEGATE_MESSAGE);
    if (stop.stop_requested()) return aborted();
    auto v = load_var_value(spec_, std::as_const(state.artifacts()));
    if (!v) {
      d.errored(v.error().message());
      return errored(v.error().message());
    }
    d.out("var " + spec_.name + " fetched.\n");
    if (!spec_.reveal && state.credentials()) state.credentials()->track("." + std::string(":") + spec_.name, *v);
    state.locals().set(spec_.name, std::move(*v));
    d.out("added var " + spec_.name + " to build.\n");
    return succeeded();
  }
  [[nodiscard]] const load_var_spec& spec() const noexcept { return spec_; }

 private:
  load_var_spec spec_;
};

}  // namespace taskstep::plan
