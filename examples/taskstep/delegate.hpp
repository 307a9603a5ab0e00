#pragma once
// `taskstep execute`'s printing: the step's delegate, human (bold `initializing` / `running ...`, the
// task's output as is, a coloured status) or --json (one event per line, never coloured).

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cerrno>
#include <cstdlib>
#include <iostream>
#include <stop_token>
#include <string>
#include <string_view>

#include <fmt/color.h>
#include <nlohmann/json.hpp>

#include "taskstep/core/task_config.hpp"

namespace taskstep_cli {

//! --color: `auto` colours a stream only when it is a terminal, NO_COLOR is unset or empty
//! (no-color.org) and TERM is not `dumb`; `always` colours both streams whatever they are and whatever
//! NO_COLOR and TERM say (as git, ls and grep do); `never` never colours.
enum class colour_when { automatic, always, never };

inline colour_when colour_when_of(std::string_view flag) {
  if (flag == "always") return colour_when::always;
  if (flag == "never") return colour_when::never;
  return colour_when::automatic;
}

//! Whether to colour what goes to file descriptor `fd` (1 or 2): decided per stream, so
//! `taskstep execute 2>log` keeps colour on the terminal and none in the log.
inline bool colour_stream(colour_when when, int fd) {
  if (when != colour_when::automatic) return when == colour_when::always;
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color != nullptr && *no_color != '\0') return false;
  const char* term = std::getenv("TERM");
  if (term != nullptr && std::string_view(term) == "dumb") return false;
  return isatty(fd) != 0;
}

class cli_delegate {
 public:
  cli_delegate(bool json, colour_when when)
      : json_(json),
        colour_out_(!json && colour_stream(when, 1)),
        colour_err_(!json && colour_stream(when, 2)) {}

  void initializing(const taskstep::task_config& c) {
    if (json_) return event({{"event", "initialize"}, {"config", shadow_config(c)}});
    line(bold("initializing"));
  }
  void selected_worker(std::string_view name) {
    if (json_) return event({{"event", "selected-worker"}, {"worker", std::string(name)}});
    line(bold("selected worker:") + " " + std::string(name));
  }
  void starting(const taskstep::task_config& c) {
    if (json_) return event({{"event", "start"}, {"config", shadow_config(c)}});
    std::string text = "running " + c.run.path;
    for (const auto& a : c.run.args) text += " " + a;
    line(bold(text));
  }
  void finished(int status) {
    if (json_) event({{"event", "finish"}, {"exit_status", status}});
  }
  void errored(std::string_view message) {
    if (json_) return event({{"event", "error"}, {"message", std::string(message)}});
    std::fflush(stdout);
    std::cerr << styled(colour_err_, fmt::fg(fmt::terminal_color::red), message) << "\n";
  }
  void out(std::string_view s) { log("stdout", s); }
  void err(std::string_view s) { log("stderr", s); }
  void status(const std::string& word) {
    if (json_) return event({{"event", "status"}, {"status", word}});
    const auto colour = word == "succeeded" ? fmt::terminal_color::green
                        : word == "aborted" ? fmt::terminal_color::yellow
                                            : fmt::terminal_color::red;
    line(styled(colour_out_, fmt::fg(colour), word));
  }
  void note(const std::string& text) {
    if (json_) return event({{"event", "log"}, {"stream", "stderr"}, {"payload", text + "\n"}});
    std::fflush(stdout);
    std::cerr << text << "\n";
  }

 private:
  static std::string now_seconds() {
    using namespace std::chrono;
    return std::to_string(duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count() / 1000.0);
  }
  void log(const char* stream, std::string_view s) {
    if (json_) return event({{"event", "log"}, {"stream", stream}, {"payload", std::string(s)}});
    emit(std::string_view(stream) == "stdout" ? stdout : stderr, s);
    if (!s.empty()) mid_line_ = s.back() != '\n';
  }
  // What Concourse's initialize-task / start-task events carry (no params: they may hold secrets).
  static nlohmann::ordered_json shadow_config(const taskstep::task_config& c) {
    nlohmann::ordered_json inputs = nlohmann::ordered_json::array();
    for (const auto& in : c.inputs) inputs.push_back({{"name", in.name}, {"path", in.path}});
    return {{"platform", c.platform},
            {"image", c.rootfs_uri},
            {"run", {{"path", c.run.path}, {"args", c.run.args}, {"dir", c.run.dir}}},
            {"inputs", inputs}};
  }
  void event(nlohmann::ordered_json e) {
    e["time"] = nlohmann::ordered_json::parse(now_seconds());
    const std::string text = e.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    emit(stdout, text);
  }
  void line(const std::string& s) {
    emit(stdout, (mid_line_ ? "\n" : "") + s + "\n");  // after task output without a final newline
    mid_line_ = false;
  }
  // Writes and flushes. Our stdout closed under us (`| head -1`, SIGPIPE ignored) aborts the build
  // as a first Ctrl-C would, and nothing more is written there.
  void emit(FILE* f, std::string_view s) {
    if (f == stdout && stdout_broken_) return;
    std::fwrite(s.data(), 1, s.size(), f);
    if (std::fflush(f) == 0 || f != stdout || errno != EPIPE) return;
    stdout_broken_ = true;
    std::fputs("\naborting: stdout was closed (EPIPE)\n", stderr);
    abort_.request_stop();
  }
  // Only what taskstep itself prints is styled; the task's own output passes through untouched.
  static std::string styled(bool on, fmt::text_style style, std::string_view s) {
    return on ? fmt::format(style, "{}", s) : std::string(s);
  }
  std::string bold(const std::string& s) const { return styled(colour_out_, fmt::emphasis::bold, s); }
  bool json_;
  bool colour_out_;  // stdout: the bold lines and the status
  bool colour_err_;  // stderr: the red error
  bool mid_line_ = false;
  bool stdout_broken_ = false;
  std::stop_source abort_ = std::stop_source(std::nostopstate);

 public:
  //! EPIPE on stdout requests a stop on `stop` (the build's graceful stop).
  void abort_on_broken_stdout(std::stop_source stop) { abort_ = std::move(stop); }
};

}  // namespace taskstep_cli
