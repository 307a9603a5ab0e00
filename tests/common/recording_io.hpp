#pragma once
// A process_io for worker tests: counts starting(), keeps both streams, and lets a test react to
// the output as it arrives (e.g. request a stop once the task says it is ready).

#include <functional>
#include <string>
#include <string_view>

namespace taskstep::test {

struct recording_io {
  int starts = 0;
  std::string out_text, err_text;
  std::function<void(const std::string&)> on_out;
  void starting() { ++starts; }
  void out(std::string_view s) {
    out_text.append(s);
    if (on_out) on_out(out_text);
  }
  void err(std::string_view s) { err_text.append(s); }
};

}  // namespace taskstep::test
