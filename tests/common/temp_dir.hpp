#pragma once
// A scratch directory under $TMPDIR (or /tmp), removed with everything in it at scope exit.

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace taskstep::test {

class temp_dir {
 public:
  temp_dir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/taskstep-test-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + pattern);
    path_ = pattern;
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }

  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

  //! Writes `text` to `relative` (parent directories created) and returns the full path.
  std::filesystem::path write(const std::filesystem::path& relative, std::string_view text) const {
    const auto full = path_ / relative;
    std::filesystem::create_directories(full.parent_path());
    std::ofstream out(full, std::ios::binary);
    out << text;
    if (!out) throw std::runtime_error("could not write " + full.string());
    return full;
  }

  //! Creates the directory `relative` and returns the full path.
  std::filesystem::path mkdir(const std::filesystem::path& relative) const {
    const auto full = path_ / relative;
    std::filesystem::create_directories(full);
    return full;
  }

 private:
  std::filesystem::path path_;
};

}  // namespace taskstep::test
