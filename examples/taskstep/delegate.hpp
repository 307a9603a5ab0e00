#pragma once
// `taskstep execute`'s printing: the step's delegate, human (bold `initializing` / `running ...`, the
// task's output as is, a coloured status) or --json (one event per line).

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cerrno>
#include <iostream>
#include <stop_token>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "taskstep/core/task_config.hpp"

namespace taskstep_cli {

class cli_delegate {
 public:
  explicit cli_delegate(bool json) : json_(json), tty_(isatty(1) != 0) {}

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
    std::cerr << colour("31", std::string(message)) << "\n";
  }
  void out(std::string_view s) { log("stdout", s); }
  void err(std::string_view s) { log("stderr", s); }
  void status(const std::string& word) {
    if (json_) return event({{"event", "status"}, {"status", word}});
    const char* code = word == "succeeded" ? "32" : word == "aborted" ? "33" : "31";
    line(colour(code, word));
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
  std::string bold(const std::string& s) const { return tty_ ? "\x1b[1m" + s + "\x1b[0m" : s; }
  std::string colour(const char* code, const std::string& s) const {
    return tty_ ? std::string("\x1b[") + code + "m" + s + "\x1b[0m" : s;
  }
  bool json_;
  bool tty_;
  bool mid_line_ = false;
  bool stdout_broken_ = false;
  std::stop_source abort_ = std::stop_source(std::nostopstate);

 public:
  //! EPIPE on stdout requests a stop on `stop` (the build's graceful stop).
  void abort_on_broken_stdout(std::stop_source stop) { abort_ = std::move(stop); }
};

}  // namespace taskstep_cli
