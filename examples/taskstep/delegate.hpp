#pragma once
// `taskstep execute`'s printing: the step's delegate, human (bold `initializing` / `running ...`, the
// task's output as is, a coloured status) or --json (one event per line, never coloured; the events
// and their fields are docs/events.md, checked against docs/events.schema.json).

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <iostream>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <algorithm>

#include <fmt/color.h>
#include <nlohmann/json.hpp>

#include "taskstep/build/progress.hpp"
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

//! The version of the --json events (docs/events.md): every event carries it as `version`. It
//! changes only when a field changes meaning or goes away; new events and new fields keep it.
constexpr int events_version = 1;

class cli_delegate {
 public:
  cli_delegate(bool json, colour_when when)
      : json_(json),
        colour_out_(!json && colour_stream(when, 1)),
        colour_err_(!json && colour_stream(when, 2)),
        tty_out_(!json && isatty(1) != 0),
        tty_err_(!json && isatty(2) != 0),
        began_(std::chrono::steady_clock::now()) {}

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
    end_warnings();
    if (json_) event({{"event", "finish"}, {"exit_status", status}});
  }
  void errored(std::string_view message) {
    end_warnings();
    if (json_) return event({{"event", "error"}, {"message", std::string(message)}});
    std::fflush(stdout);
    std::cerr << styled(colour_err_, fmt::fg(fmt::terminal_color::red), message) << "\n";
  }
  void out(std::string_view s) {
    end_warnings();
    log("stdout", s);
  }
  void err(std::string_view s) {
    if (json_ && in_warnings_) return warning_bytes(s);
    log("stderr", s);
  }
  //! The build's final status word; `elapsed` since this delegate was made (the step's whole run).
  void status(const std::string& word) {
    end_warnings();
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - began_).count();
    if (json_) return event({{"event", "status"}, {"status", word}, {"elapsed", elapsed}});
    const auto colour = word == "succeeded" ? fmt::terminal_color::green
                        : word == "aborted" ? fmt::terminal_color::yellow
                                            : fmt::terminal_color::red;
    // The elapsed time only for a reader at a terminal: piped output keeps fly's bare status word.
    line(styled(colour_out_, fmt::fg(colour), word) + (tty_out_ ? " " + elapsed_text(elapsed) : ""));
  }
  void note(const std::string& text) {
    end_warnings();
    if (json_) return event({{"event", "log"}, {"stream", "stderr"}, {"payload", text + "\n"}});
    std::fflush(stdout);
    std::cerr << text << "\n";
  }

 //! Staging an input or copying an output out: a line on stderr redrawn in place, as fly draws its
  //! uploads (`staging input repo  1.5 MiB / 4.0 MiB [=======>            ]  37%`), only when stderr
  //! is a terminal and not with --json; at most ten redraws a second, and the last one ends the line.
  void progress(const taskstep::build::progress_report& r) {
    if (!tty_err_) return;
    const auto now = std::chrono::steady_clock::now();
    if (!r.finished && bar_width_ != 0 && now - bar_drawn_ < std::chrono::milliseconds(100)) return;
    bar_drawn_ = now;
    constexpr std::size_t cells = 30;
    const double part = r.total == 0 ? (r.finished ? 1.0 : 0.0) : static_cast<double>(r.done) / static_cast<double>(r.total);
    const auto filled = static_cast<std::size_t>(part * cells);
    std::string bar(filled, '=');
    if (filled < cells) bar += '>' + std::string(cells - filled - 1, ' ');
    std::string text = fmt::format(
        "{} {}  {} / {} [{}] {:3}%",
        r.kind == taskstep::build::progress_kind::staging_input ? "staging input" : "copying output",
        std::string(r.name), human_bytes(r.done), human_bytes(r.total), bar, static_cast<int>(part * 100));
    const std::size_t width = text.size();
    if (width < bar_width_) text += std::string(bar_width_ - width, ' ');  // cover a longer line drawn before
    if (mid_line_ && bar_width_ == 0) {
      text.insert(0, "\n");
      mid_line_ = false;
    }
    std::fflush(stdout);
    std::fputs(("\r" + text + (r.finished ? "\n" : "")).c_str(), stderr);
    std::fflush(stderr);
    bar_width_ = r.finished ? 0 : width;
  }

 private:
  // 512 B, 1.5 KiB, 12.0 MiB, 3.2 GiB: binary units, as fly prints sizes.
  static std::string human_bytes(std::uint64_t n) {
    if (n < 1024) return fmt::format("{} B", n);
    const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(n) / 1024;
    std::size_t u = 0;
    while (v >= 1024 && u + 1 < std::size(units)) {
      v /= 1024;
      ++u;
    }
    return fmt::format("{:.1f} {}", v, units[u]);
  }
  // `(12.3s)`, `(2m05s)`, `(1h02m03s)`: the elapsed time after the status word, as Concourse's UI shows it.
  static std::string elapsed_text(double seconds) {
    const auto whole = static_cast<long long>(seconds);
    if (whole < 60) return fmt::format("({:.1f}s)", seconds);
    if (whole < 3600) return fmt::format("({}m{:02}s)", whole / 60, whole % 60);
    return fmt::format("({}h{:02}m{:02}s)", whole / 3600, whole / 60 % 60, whole % 60);
  }
  // --json: the step's and the worker's `[WARNING] ...` lines reach us on stderr, each whole, before
  // any byte of the task's own output (the config's warnings before `initialize`, the worker's
  // before its supervisor reads the task's pipes). Until the first other byte, such lines become
  // `warning` events; everything after is the task's and stays `log`.
  static constexpr std::string_view warning_prefix = "[WARNING] ";
  void warning_bytes(std::string_view s) {
    pending_.append(s);
    while (in_warnings_) {
      const std::size_t n = std::min(pending_.size(), warning_prefix.size());
      if (pending_.compare(0, n, warning_prefix, 0, n) != 0) return end_warnings();
      const std::size_t eol = pending_.find('\n');
      if (eol == std::string::npos) return;  // the rest of the line is yet to come
      event({{"event", "warning"}, {"message", pending_.substr(warning_prefix.size(), eol - warning_prefix.size())}});
      pending_.erase(0, eol + 1);
      if (pending_.empty()) return;
    }
  }
  void end_warnings() {
    if (!in_warnings_) return;
    in_warnings_ = false;
    if (!pending_.empty()) log("stderr", std::exchange(pending_, {}));
  }
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
    e["version"] = events_version;
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
  bool tty_out_;             // stdout is a terminal: the status line shows the elapsed time
  bool tty_err_;             // stderr is a terminal: progress bars are drawn there
  std::size_t bar_width_ = 0;  // the length of the progress line last drawn (0: none is open)
  std::chrono::steady_clock::time_point bar_drawn_{};
  bool in_warnings_ = true;  // --json: no byte of the task's output seen yet (warning_bytes)
  std::string pending_;      // --json: the start of a `[WARNING] ` line whose end has not arrived
  std::chrono::steady_clock::time_point began_;
  std::stop_source abort_ = std::stop_source(std::nostopstate);

 public:
  //! EPIPE on stdout requests a stop on `stop` (the build's graceful stop).
  void abort_on_broken_stdout(std::stop_source stop) { abort_ = std::move(stop); }
};

}  // namespace taskstep_cli
