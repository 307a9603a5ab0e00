#pragma once
// A tmpfs mounted at a directory (created) for the scope, to fill a disk or make one read-only;
// `why_not()` says why it could not be mounted (the test then prints SKIPPED with it).

#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

namespace taskstep::test {

class scoped_tmpfs {
 public:
  scoped_tmpfs(const std::filesystem::path& dir, std::string_view options) : dir_(dir) {
    std::filesystem::create_directories(dir);
    if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, std::string(options).c_str()) != 0)
      why_ = "cannot mount a tmpfs at " + dir.string() + ": " + std::strerror(errno) + " (needs root)";
  }
  scoped_tmpfs(const scoped_tmpfs&) = delete;
  scoped_tmpfs& operator=(const scoped_tmpfs&) = delete;
  ~scoped_tmpfs() {
    if (why_.empty()) (void)::umount2(dir_.c_str(), MNT_DETACH);
  }
  [[nodiscard]] const std::filesystem::path& dir() const noexcept { return dir_; }
  [[nodiscard]] const std::string& why_not() const noexcept { return why_; }
  //! Remounts it read-only.
  bool make_read_only() { return ::mount(nullptr, dir_.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr) == 0; }

 private:
  std::filesystem::path dir_;
  std::string why_;
};

}  // namespace taskstep::test
