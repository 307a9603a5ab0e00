#pragma once
//! \file
//! How a plan step ends: Concourse 6.7's `Run(ctx, state) error` + `Succeeded() bool` as one value.
//! A `context.Canceled` error is `aborted`, any other error `errored`, no error and not succeeded
//! `failed`, no error and succeeded `succeeded`.

#include <string>
#include <string_view>
#include <utility>

namespace taskstep::plan {

//! The four ways a step ends (a build's status: succeeded, failed, errored, aborted).
enum class status { succeeded, failed, errored, aborted };

//! A step's end: its status and, for `errored` (and a timeout's `failed`), the message.
struct outcome {
  plan::status status = plan::status::succeeded;
  std::string message;

  [[nodiscard]] bool succeeded() const noexcept { return status == plan::status::succeeded; }
  //! Concourse's `err != nil`: errored or aborted.
  [[nodiscard]] bool is_error() const noexcept { return status == plan::status::errored || status == plan::status::aborted; }
  friend bool operator==(const outcome&, const outcome&) = default;
};

inline outcome succeeded() { return {}; }
inline outcome failed(std::string message = {}) { return {status::failed, std::move(message)}; }
inline outcome errored(std::string message) { return {status::errored, std::move(message)}; }
inline outcome aborted() { return {status::aborted, "interrupted"}; }

//! The status as Concourse's build status words (`succeeded`, `failed`, `errored`, `aborted`).
inline std::string_view to_string(status s) noexcept {
  switch (s) {
    case status::succeeded: return "succeeded";
    case status::failed: return "failed";
    case status::errored: return "errored";
    case status::aborted: return "aborted";
  }
  return "errored";
}

namespace detail {
// go-multierror's joining, reduced to one line: "a; b".
inline void append_error(std::string& into, std::string_view message) {
  if (message.empty()) return;
  if (!into.empty()) into += "; ";
  into += message;
}
}  // namespace detail

}  // namespace taskstep::plan
