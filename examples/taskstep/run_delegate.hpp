#pragma once
// `taskstep run`'s printing: a job build's events (job::job_delegate), human or --json.
// Human: a bold header per step (`get src`, `task unit`), the task's events and output as execute
// prints them, one coloured status line per step (`task unit succeeded`) and the build's status at
// the end. Output of steps that run beside others (in_parallel, across) is prefixed `[task unit] `.
// --json: one event per line, each carrying the step's id, name and type.

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <map>
#include <stop_token>
#include <string>
#include <string_view>

#include <fmt/color.h>
#include <nlohmann/json.hpp>

#include "delegate.hpp"
#include "taskstep/core/task_config.hpp"
#include "taskstep/job/build.hpp"

namespace taskstep_cli {

class run_delegate {
 public:
  run_delegate(bool json, colour_when when)
      : json_(json), colour_out_(!json && colour_stream(when, 1)), colour_err_(!json && colour_stream(when, 2)) {}

  void step_started(const taskstep::job::step_info& s) {
    if (json_) return event("step-start", s, {});
    line(s, bold(s.label), false);
  }
  void step_finished(const taskstep::job::step_info& s, const taskstep::plan::outcome& o) {
    const std::string word(taskstep::plan::to_string(o.status));
    if (json_) {
      nlohmann::ordered_json e{{"status", word}};
      if (!o.message.empty()) e["message"] = o.message;
      return event("step-finish", s, std::move(e));
    }
    line(s, styled(colour_out_, fmt::fg(colour_of(word)), s.label + " " + word), false);
  }
  void note(const taskstep::job::step_info& s, std::string_view text) {
    if (json_) return event("note", s, {{"message", std::string(text)}});
    line(s, std::string(text), true);
  }
  void initializing(const taskstep::job::step_info& s, const taskstep::task_config&) {
    if (json_) return event("initialize", s, {});
    line(s, bold("initializing"), true);
  }
  void selected_worker(const taskstep::job::step_info& s, std::string_view name) {
    if (json_) return event("selected-worker", s, {{"worker", std::string(name)}});
    line(s, bold("selected worker:") + " " + std::string(name), true);
  }
  void starting(const taskstep::job::step_info& s, const taskstep::task_config& c) {
    std::string text = "running " + c.run.path;
    for (const auto& a : c.run.args) text += " " + a;
    if (json_) return event("start", s, {{"run", {{"path", c.run.path}, {"args", c.run.args}, {"dir", c.run.dir}}}});
    line(s, bold(text), true);
  }
  void finished(const taskstep::job::step_info& s, int status) {
    if (json_) event("finish", s, {{"exit_status", status}});
  }
  void errored(const taskstep::job::step_info& s, std::string_view message) {
    if (json_) return event("error", s, {{"message", std::string(message)}});
    std::fflush(stdout);
    std::string text = prefix(s) + std::string(message);
    std::fputs((styled(colour_err_, fmt::fg(fmt::terminal_color::red), text) + "\n").c_str(), stderr);
    std::fflush(stderr);
  }
  void out(const taskstep::job::step_info& s, std::string_view t) { log(s, "stdout", t); }
  void err(const taskstep::job::step_info& s, std::string_view t) { log(s, "stderr", t); }

  // The build's own lines (before or after the steps).
  void build_note(const std::string& text) {
    if (json_) return event("note", {}, {{"message", text}});
    std::fflush(stdout);
    std::fputs((text + "\n").c_str(), stderr);
    std::fflush(stderr);
  }
  void status(const std::string& word) {
    if (json_) return event("status", {}, {{"status", word}});
    emit(stdout, (mid_line_ ? "\n" : "") + styled(colour_out_, fmt::fg(colour_of(word)), word) + "\n");
  }
  //! EPIPE on stdout requests a stop on `stop` (the build's graceful stop).
  void abort_on_broken_stdout(std::stop_source stop) { abort_ = std::move(stop); }

 private:
  static fmt::terminal_color colour_of(const std::string& word) {
    return word == "succeeded" ? fmt::terminal_color::green
           : word == "aborted" ? fmt::terminal_color::yellow
                               : fmt::terminal_color::red;
  }
  static std::string prefix(const taskstep::job::step_info& s) { return s.parallel ? "[" + s.label + "] " : ""; }

  void event(const char* name, const taskstep::job::step_info& s, nlohmann::ordered_json extra) {
    nlohmann::ordered_json e{{"event", name}};
    if (!s.id.empty()) e["step"] = {{"id", s.id}, {"name", s.name}, {"type", s.kind}};
    if (extra.is_object())
      for (auto& [k, v] : extra.items()) e[k] = v;
    using namespace std::chrono;
    e["time"] = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count() / 1000.0;
    emit(stdout, e.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  }
  // A line of taskstep's own, after task output that did not end its line; `in_step` lines of a
  // parallel step carry its prefix.
  void line(const taskstep::job::step_info& s, const std::string& text, bool in_step) {
    std::string out = (mid_line_ ? "\n" : "") + (in_step ? prefix(s) : "") + text + "\n";
    mid_line_ = false;
    at_start_[s.id] = true;
    emit(stdout, out);
  }
  void log(const taskstep::job::step_info& s, const char* stream, std::string_view t) {
    if (json_) return event("log", s, {{"stream", stream}, {"payload", std::string(t)}});
    FILE* f = std::string_view(stream) == "stdout" ? stdout : stderr;
    if (!s.parallel) {
      emit(f, std::string(t));
      if (!t.empty() && f == stdout) mid_line_ = t.back() != '\n';
      return;
    }
    // Prefix every line of a parallel step, remembering whether it ended mid-line.
    bool& start = at_start_.try_emplace(s.id, true).first->second;
    std::string out;
    for (char c : t) {
      if (start) out += prefix(s);
      out += c;
      start = c == '\n';
    }
    emit(f, out);
    if (!t.empty() && f == stdout) mid_line_ = t.back() != '\n';
  }
  void emit(FILE* f, const std::string& s) {
    if (f == stdout && stdout_broken_) return;
    std::fwrite(s.data(), 1, s.size(), f);
    if (std::fflush(f) == 0 || f != stdout || errno != EPIPE) return;
    stdout_broken_ = true;
    std::fputs("\naborting: stdout was closed (EPIPE)\n", stderr);
    abort_.request_stop();
  }
  static std::string styled(bool on, fmt::text_style style, std::string_view s) {
    return on ? fmt::format(style, "{}", s) : std::string(s);
  }
  std::string bold(const std::string& s) const { return styled(colour_out_, fmt::emphasis::bold, s); }

  bool json_;
  bool colour_out_;
  bool colour_err_;
  bool mid_line_ = false;
  bool stdout_broken_ = false;
  std::map<std::string, bool> at_start_;
  std::stop_source abort_ = std::stop_source(std::nostopstate);
};

}  // namespace taskstep_cli
