// The layer unpacker on a fuzzed tar stream (any compression libarchive reads): nothing may be
// written outside the target root. The scratch tree is built once: <scratch>/case/rootfs is the root,
// beside a sibling <scratch>/case/outside holding a file and a directory, and the layer file is
// <scratch>/layer. Each input empties rootfs, re-seeds it with links out of it (`escape ->
// ../outside`, `abs-escape -> <scratch>/case/outside`), unpacks, and then a walk of <scratch> (without
// following symlinks, rootfs and the layer file aside) must find every entry exactly as the walk
// made once at start-up found it (<scratch> itself included): type, mode, owner, size, inode, link count, mtime, ctime, link
// target and content; nothing new, nothing gone. Since the tree is never rebuilt, any write, chmod,
// chown, utime, link or rename outside the root changes a ctime or an mtime and is caught. The layer
// file must still hold the input.
//
// Safety when started as root: the process first moves into a new user namespace (once, at start-up)
// that maps only uid/gid 0 to themselves, so device nodes cannot be created (mknod needs CAP_MKNOD in
// the initial namespace) and chown to other ids fails, while files are still written as root would.
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <system_error>
#include <vector>

#include "taskstep/image/registry/unpack.hpp"

namespace fs = std::filesystem;

namespace {

std::string scratch, rootfs, layer, outside;
std::map<std::string, std::string> pristine;  // the walk of <scratch> at start-up
std::vector<char> readback;

void write_text(const char* path, const std::string& text) {
  const int fd = ::open(path, O_WRONLY);
  if (fd < 0) return;
  (void)!::write(fd, text.data(), text.size());
  ::close(fd);
}

[[noreturn]] void die(const char* what) {
  std::perror(what);
  std::exit(1);
}

void enter_user_namespace() {
  if (::geteuid() != 0) return;
  if (::unshare(CLONE_NEWUSER) != 0) die("fuzz_unpack: unshare(CLONE_NEWUSER) (refusing to unpack fuzzed layers as real root)");
  write_text("/proc/self/setgroups", "deny");
  write_text("/proc/self/uid_map", "0 0 1\n");
  write_text("/proc/self/gid_map", "0 0 1\n");
}

// The names in the directory `fd` ("." and ".." aside), read with getdents64 into a stack buffer:
// opendir's 32 KiB heap buffer per directory cost more under ASan than the rest of the walk.
template <class F>
bool for_each_name(int fd, F&& f) {
  alignas(8) char buf[4096];
  if (::lseek(fd, 0, SEEK_SET) != 0) return false;
  for (;;) {
    const ssize_t n = ::getdents64(fd, buf, sizeof buf);
    if (n < 0) return false;
    if (n == 0) return true;
    for (ssize_t off = 0; off < n;) {
      const auto* e = reinterpret_cast<const struct dirent64*>(buf + off);
      off += e->d_reclen;
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) f(static_cast<const char*>(e->d_name));
    }
  }
}

std::string describe(const struct stat& st) {
  char text[256];
  std::snprintf(text, sizeof text, "%o:%u:%u:%lld:%llu:%llu:%lld.%09ld:%lld.%09ld", static_cast<unsigned>(st.st_mode),
                static_cast<unsigned>(st.st_uid), static_cast<unsigned>(st.st_gid), static_cast<long long>(st.st_size),
                static_cast<unsigned long long>(st.st_ino), static_cast<unsigned long long>(st.st_nlink),
                static_cast<long long>(st.st_mtim.tv_sec), st.st_mtim.tv_nsec, static_cast<long long>(st.st_ctim.tv_sec),
                st.st_ctim.tv_nsec);
  return text;
}

// Every entry below the directory `fd` (at `rel`), rootfs and the layer file skipped, into `out`:
// relative path → type and mode, owner, size, inode, link count, mtime, ctime, link target or content.
void walk(int fd, const std::string& rel, std::map<std::string, std::string>& out) {
  const bool listed = for_each_name(fd, [&](const char* name) {
    const std::string path = rel.empty() ? std::string(name) : rel + "/" + name;
    if (path == "case/rootfs" || path == "layer") return;
    struct stat st {};
    if (::fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      out[path] = "gone";
      return;
    }
    std::string desc = describe(st);
    if (S_ISLNK(st.st_mode)) {
      char target[4096];
      const ssize_t n = ::readlinkat(fd, name, target, sizeof target);
      desc.append(":").append(target, n > 0 ? static_cast<std::size_t>(n) : 0);
    } else if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
      const int sub = ::openat(fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
      if (sub < 0) {
        desc += ":unopenable";
      } else if (S_ISDIR(st.st_mode)) {
        walk(sub, path, out);
      } else {
        char buf[4096];
        desc += ":";
        for (ssize_t n; (n = ::read(sub, buf, sizeof buf)) > 0;) desc.append(buf, static_cast<std::size_t>(n));
      }
      if (sub >= 0) ::close(sub);
    }
    out[path] = std::move(desc);
  });
  if (!listed) out[rel + "/"] = "unreadable";
}

std::map<std::string, std::string> snapshot() {
  std::map<std::string, std::string> out;
  const int fd = ::open(scratch.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) die("fuzz_unpack: open scratch");
  struct stat st {};
  if (::fstat(fd, &st) != 0) die("fuzz_unpack: stat scratch");
  out["."] = describe(st);
  walk(fd, "", out);
  ::close(fd);
  return out;
}

// Removes everything inside the directory `fd`, never following a symlink.
void empty_dir(int fd) {
  std::vector<std::string> names;  // not removed while listing: getdents offsets would shift
  if (!for_each_name(fd, [&](const char* name) { names.emplace_back(name); })) die("fuzz_unpack: list rootfs");
  for (const auto& name : names) {
    if (::unlinkat(fd, name.c_str(), 0) == 0) continue;
    const int sub = ::openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) continue;  // checked below: rootfs must end up empty
    empty_dir(sub);
    ::close(sub);
    (void)::unlinkat(fd, name.c_str(), AT_REMOVEDIR);
  }
}

// Empties rootfs and re-seeds it with the two links out of it.
void reset_rootfs() {
  const int fd = ::open(rootfs.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) die("fuzz_unpack: open rootfs");
  (void)::fchmod(fd, 0755);
  empty_dir(fd);
  bool empty = true;
  if (!for_each_name(fd, [&](const char*) { empty = false; }) || !empty) {
    std::fprintf(stderr, "fuzz_unpack: cannot empty %s between inputs\n", rootfs.c_str());
    std::exit(1);
  }
  if (::symlinkat("../outside", fd, "escape") != 0) die("fuzz_unpack: symlink escape");  // a lower layer's link out
  if (::symlinkat(outside.c_str(), fd, "abs-escape") != 0) die("fuzz_unpack: symlink abs-escape");
  ::close(fd);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  enter_user_namespace();
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/taskstep-fuzz-unpack-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) die("mkdtemp");
  scratch = pattern;
  rootfs = scratch + "/case/rootfs";
  outside = scratch + "/case/outside";
  layer = scratch + "/layer";
  std::atexit([] {
    std::error_code ec;
    fs::remove_all(scratch, ec);
  });
  std::error_code ec;
  fs::create_directories(rootfs, ec);
  fs::create_directories(outside + "/dir", ec);
  if (ec) die("fuzz_unpack: create the scratch tree");
  const int f = ::open((outside + "/file").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (f < 0 || ::write(f, "outside", 7) != 7) die("fuzz_unpack: write outside/file");
  ::close(f);
  const int l = ::open(layer.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (l < 0) die("fuzz_unpack: create the layer file");
  ::close(l);
  pristine = snapshot();
  if (pristine.size() != 5) {  // ., case, case/outside, case/outside/dir, case/outside/file
    std::fprintf(stderr, "fuzz_unpack: unexpected scratch tree (%zu entries)\n", pristine.size());
    std::exit(1);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  {
    const int fd = ::open(layer.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0 || ::write(fd, data, size) != static_cast<ssize_t>(size)) die("fuzz_unpack: write the layer");
    ::close(fd);
  }
  reset_rootfs();

  (void)taskstep::image::apply_layer(layer, rootfs, "fuzzed layer");
#ifdef TASKSTEP_FUZZ_UNPACK_SELFTEST
  // fuzz/selftest_unpack.sh: an unpacker that escapes in the way the first byte names, each change
  // invisible in content or size; the check below must catch every one.
  if (size > 0) {
    const std::string f = outside + "/file";
    if (data[0] == '1') (void)::utimensat(AT_FDCWD, f.c_str(), nullptr, 0);               // touch
    if (data[0] == '2') (void)::chmod((outside + "/dir").c_str(), 0755);                  // same mode again
    if (data[0] == '3') (void)::link(f.c_str(), (rootfs + "/hard").c_str());              // hard link into the root
    if (data[0] == '4') (void)::close(::open((scratch + "/case/new").c_str(), O_CREAT | O_WRONLY, 0644));
    if (data[0] == '5') (void)::rename(f.c_str(), (outside + "/dir/file").c_str());
    if (data[0] == '6') (void)::truncate(layer.c_str(), 0);
    if (data[0] == '7') (void)::chmod(scratch.c_str(), 0700);
  }
#endif

  const auto after = snapshot();
  if (after != pristine) {
    for (const auto& [k, v] : after)
      if (!pristine.count(k) || pristine.at(k) != v) std::fprintf(stderr, "changed outside rootfs: %s\n", k.c_str());
    for (const auto& [k, v] : pristine)
      if (!after.count(k)) std::fprintf(stderr, "removed outside rootfs: %s\n", k.c_str());
    __builtin_trap();
  }
  // The layer file beside the case directory must be untouched too.
  const int fd = ::open(layer.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || static_cast<std::size_t>(st.st_size) != size) {
    std::fprintf(stderr, "changed outside rootfs: layer\n");
    __builtin_trap();
  }
  readback.resize(size + 1);
  const ssize_t n = ::pread(fd, readback.data(), size + 1, 0);
  ::close(fd);
  if (n != static_cast<ssize_t>(size) || (size != 0 && std::memcmp(readback.data(), data, size) != 0)) {
    std::fprintf(stderr, "changed outside rootfs: layer\n");
    __builtin_trap();
  }
  return 0;
}
