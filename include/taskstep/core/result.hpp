#pragma once
//! \file
//! Errors as values: `taskstep::error` carries one failure kind and the sentence Concourse would print;
//! `taskstep::result<T>` is `tl::expected<T, error>`. No exception crosses a public function.

#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

namespace taskstep {

//! The kinds of failure a task step can report. Each maps to one Concourse error type.
enum class errc {
  yaml_syntax,        //!< the document is not YAML (go-yaml's parser/scanner error)
  decode,             //!< YAML is fine but does not fit the task config (unknown field, wrong type)
  invalid_config,     //!< `invalid task configuration:` (TaskValidationError)
  undefined_vars,     //!< `undefined vars: a, b`
  var_lookup,         //!< missing field / non-map field / missing var source
  interpolation,      //!< `cannot interpolate non-primitive value (T) from var: x`
  config_path,        //!< `config path 'x' does not specify where the file lives`
  unknown_artifact,   //!< `unknown artifact source: 'a' in task config file path 'a/t.yml'`
  config_not_found,   //!< `task config 'a/t.yml' not found`
  io,                 //!< reading a file failed for another reason
  usage,              //!< bad command-line input (flags, var pairs)
  missing_inputs,     //!< `missing inputs: a, b`
  missing_image,      //!< `missing image artifact source: x` + hint
  no_workers,         //!< `no workers` / `no workers satisfying: ...`
  worker,             //!< the worker failed to run the process
  cancelled,          //!< `interrupted`
  timeout,            //!< `timeout exceeded`
};

//! One failure: its kind and its message, worded as Concourse words it.
class error {
 public:
  error(errc code, std::string message) : code_(code), message_(std::move(message)) {}

  [[nodiscard]] errc code() const noexcept { return code_; }
  [[nodiscard]] const std::string& message() const noexcept { return message_; }

  //! The same failure with `prefix` in front, as Go's `fmt.Errorf("prefix%s", err)` does.
  [[nodiscard]] error prefixed(std::string_view prefix) const {
    return {code_, std::string(prefix) + message_};
  }

 private:
  errc code_;
  std::string message_;
};

template <class T>
using result = tl::expected<T, error>;

//! Shorthand for returning a failure from a function that returns `result<T>`.
inline tl::unexpected<error> fail(errc code, std::string message) {
  return tl::unexpected<error>(error(code, std::move(message)));
}
inline tl::unexpected<error> fail(error e) { return tl::unexpected<error>(std::move(e)); }

}  // namespace taskstep
