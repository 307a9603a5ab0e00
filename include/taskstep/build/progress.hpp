#pragma once
//! \file
//! Progress of the one-off build's long copies (staging a git input into its private copy, copying
//! an output out), for a command to draw as fly draws its uploads. Optional: a delegate that has
//! `progress(const progress_report&)` gets reports (`reports_progress`); one without pays nothing.

#include <cstdint>
#include <string_view>

namespace taskstep::build {

//! Which copy a report is about.
enum class progress_kind {
  staging_input,   //!< a git working tree copied into its private staging directory
  copying_output,  //!< an output copied into its `-o` directory
};

//! One report: `done` of `total` bytes (regular files' sizes) of the input or output `name`. Each
//! copy reports 0 first and ends with one report whose `finished` is set (`done` < `total` when it
//! failed or was stopped).
struct progress_report {
  progress_kind kind = progress_kind::staging_input;
  std::string_view name;
  std::uint64_t done = 0;
  std::uint64_t total = 0;
  bool finished = false;
};

//! A delegate (or any callable holder) that wants progress reports.
template <class D>
concept reports_progress = requires(D& d, const progress_report& r) { d.progress(r); };

//! The progress callable the build layer's functions take by default: drops every report.
struct no_progress {
  void operator()(const progress_report&) const noexcept {}
};

}  // namespace taskstep::build
