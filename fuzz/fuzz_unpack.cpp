// The layer unpacker on a fuzzed tar stream (any compression libarchive reads): nothing may be
// written outside the target root. Each input unpacks into <scratch>/case/rootfs, beside a sibling
// <scratch>/case/outside holding a file, a directory and a symlink back to it; afterwards a walk of
// <scratch>/case (without following symlinks) must find everything outside rootfs exactly as it was,
// and nothing new. The layer file itself lives elsewhere in <scratch>.
//
// Safety when started as root: the process first moves into a new user namespace that maps only
// uid/gid 0 to themselves, so device nodes cannot be created (mknod needs CAP_MKNOD in the initial
// namespace) and chown to other ids fails, while files are still written as root would write them.
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <system_error>

#include "taskstep/image/registry/unpack.hpp"

namespace fs = std::filesystem;

namespace {

fs::path scratch;

void write_text(const char* path, const std::string& text) {
  const int fd = ::open(path, O_WRONLY);
  if (fd < 0) return;
  (void)!::write(fd, text.data(), text.size());
  ::close(fd);
}

void enter_user_namespace() {
  if (::geteuid() != 0) return;
  if (::unshare(CLONE_NEWUSER) != 0) {
    std::perror("fuzz_unpack: unshare(CLONE_NEWUSER) (refusing to unpack fuzzed layers as real root)");
    std::exit(1);
  }
  write_text("/proc/self/setgroups", "deny");
  write_text("/proc/self/uid_map", "0 0 1\n");
  write_text("/proc/self/gid_map", "0 0 1\n");
}

// Everything under `dir` except `skip`: relative path → type, size, mode, link target, content hash.
std::map<std::string, std::string> snapshot(const fs::path& dir, const fs::path& skip) {
  std::map<std::string, std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::none, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const fs::path p = it->path();
    if (p == skip) {
      it.disable_recursion_pending();
      continue;
    }
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) continue;
    std::string desc = std::to_string(st.st_mode) + ":" + std::to_string(st.st_size) + ":" +
                       std::to_string(st.st_uid) + ":" + std::to_string(st.st_ino);
    if (S_ISLNK(st.st_mode)) desc += ":" + fs::read_symlink(p, ec).string();
    if (S_ISREG(st.st_mode)) {
      std::ifstream f(p, std::ios::binary);
      desc += ":" + std::string(std::istreambuf_iterator<char>(f), {});
    }
    out[fs::relative(p, dir, ec).string()] = desc;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  enter_user_namespace();
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/taskstep-fuzz-unpack-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    std::perror("mkdtemp");
    std::exit(1);
  }
  scratch = pattern;
  std::atexit([] {
    std::error_code ec;
    fs::remove_all(scratch, ec);
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::error_code ec;
  const fs::path layer = scratch / "layer";
  {
    std::ofstream f(layer, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  const fs::path top = scratch / "case";
  fs::remove_all(top, ec);
  fs::create_directories(top / "rootfs", ec);
  fs::create_directories(top / "outside" / "dir", ec);
  std::ofstream(top / "outside" / "file") << "outside";
  fs::create_symlink("../outside", top / "rootfs" / "escape", ec);  // a lower layer's link out
  fs::create_symlink(top / "outside", top / "rootfs" / "abs-escape", ec);
  const auto before = snapshot(scratch, top / "rootfs");

  (void)taskstep::image::apply_layer(layer, top / "rootfs", "fuzzed layer");

  const auto after = snapshot(scratch, top / "rootfs");
  if (before != after) {
    for (const auto& [k, v] : after)
      if (!before.count(k) || before.at(k) != v) std::fprintf(stderr, "changed outside rootfs: %s\n", k.c_str());
    for (const auto& [k, v] : before)
      if (!after.count(k)) std::fprintf(stderr, "removed outside rootfs: %s\n", k.c_str());
    __builtin_trap();
  }
  // The layer file beside the case directory must be untouched too.
  std::ifstream f(layer, std::ios::binary);
  const std::string back(std::istreambuf_iterator<char>(f), {});
  if (back.size() != size || (size != 0 && back.compare(0, size, std::string(reinterpret_cast<const char*>(data), size)) != 0))
    __builtin_trap();
  return 0;
}
