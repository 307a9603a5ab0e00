#pragma once
// Helpers for the build/ tests: a task config from YAML, a scoped $TMPDIR, a small tmpfs.

#include <stdlib.h>
#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <optional>
#include <string>
#include <string_view>

#include "common/config_support.hpp"
#include "common/temp_dir.hpp"
#include "common/tmpfs.hpp"

namespace taskstep::test {

//! Sets $TMPDIR for the scope (restores it after).
class scoped_tmpdir {
 public:
  explicit scoped_tmpdir(const std::filesystem::path& dir) {
    if (const char* old = std::getenv("TMPDIR")) old_ = old;
    ::setenv("TMPDIR", dir.c_str(), 1);
  }
  scoped_tmpdir(const scoped_tmpdir&) = delete;
  scoped_tmpdir& operator=(const scoped_tmpdir&) = delete;
  ~scoped_tmpdir() {
    if (old_) ::setenv("TMPDIR", old_->c_str(), 1);
    else ::unsetenv("TMPDIR");
  }

 private:
  std::optional<std::string> old_;
};

//! Entries of `dir` whose names start with `prefix`.
inline int count_prefixed(const std::filesystem::path& dir, std::string_view prefix) {
  int n = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.path().filename().string().rfind(prefix, 0) == 0) ++n;
  return n;
}

}  // namespace taskstep::test

namespace taskstep::test {

//! The whole content of a file ("" when it cannot be read).
inline std::string slurp_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace taskstep::test
