#pragma once
// Test helpers for the registry tests: child processes (killed and reaped at scope exit), a real
// `docker-registry` on a free loopback port, tar layers built with libarchive, an OCI image layout
// written by hand and pushed with `skopeo copy`.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <archive.h>
#include <archive_entry.h>
#include <nlohmann/json.hpp>

#include "common/temp_dir.hpp"
#include "taskstep/core/task_config.hpp"
#include "taskstep/core/value.hpp"
#include "taskstep/image/registry/sha256.hpp"

namespace taskstep::test {

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

//! Why the registry tests cannot run here, or empty.
inline std::string registry_tools_missing() {
  for (const char* tool : {"/usr/bin/docker-registry", "/usr/bin/skopeo"})
    if (::access(tool, X_OK) != 0) return std::string(tool) + " is not installed";
  if (::access("/usr/bin/busybox", R_OK) != 0 && ::access("/bin/busybox", R_OK) != 0) return "busybox is not installed";
  return {};
}

inline std::filesystem::path busybox_binary() {
  return ::access("/usr/bin/busybox", R_OK) == 0 ? "/usr/bin/busybox" : "/bin/busybox";
}

//! A child process with stdout and stderr in `log`; SIGTERM, then SIGKILL, and reaped on destruction.
class child_process {
 public:
  child_process() = default;
  child_process(const std::vector<std::string>& argv, const std::filesystem::path& log) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test binary
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      const int null = ::open("/dev/null", O_RDONLY);
      if (null >= 0) ::dup2(null, 0);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  child_process(child_process&& o) noexcept : pid_(std::exchange(o.pid_, -1)) {}
  child_process& operator=(child_process&& o) noexcept {
    stop();
    pid_ = std::exchange(o.pid_, -1);
    return *this;
  }
  ~child_process() { stop(); }

  [[nodiscard]] bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    return true;
  }

  //! Waits for the exit and returns the exit status (or -1).
  int wait() {
    if (pid_ <= 0) return -1;
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {}
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
};

//! Runs `argv` to completion; its output goes to `output`.
inline int run_command(const std::vector<std::string>& argv, std::string& output) {
  temp_dir dir;
  child_process p(argv, dir.path() / "out.log");
  const int rc = p.wait();
  output = read_file(dir.path() / "out.log");
  return rc;
}

//! A loopback TCP port nobody listens on right now.
inline int free_port() {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(s);
  return ntohs(addr.sin_port);
}

inline bool port_open(int port) {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  const bool ok = ::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(s);
  return ok;
}

//! Debian's docker-registry (distribution 2.8) with filesystem storage in a temp dir, optionally behind
//! htpasswd basic auth.
class local_registry {
 public:
  //! `htpasswd` is a `user:bcrypt-hash` line, or empty for an open registry.
  explicit local_registry(const std::string& htpasswd = {}) : port_(free_port()) {
    std::string config = "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n"
                         "  filesystem:\n    rootdirectory: " + (dir_.path() / "data").string() +
                         "\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:" + std::to_string(port_) + "\n";
    if (!htpasswd.empty()) {
      dir_.write("htpasswd", htpasswd + "\n");
      config += "auth:\n  htpasswd:\n    realm: taskstep-test\n    path: " + (dir_.path() / "htpasswd").string() + "\n";
    }
    dir_.write("config.yml", config);
    start();
  }

  void start() {
    process_ = child_process({"/usr/bin/docker-registry", "serve", (dir_.path() / "config.yml").string()},
                             dir_.path() / "registry.log");
    for (int i = 0; i < 500; ++i) {
      if (port_open(port_)) return;
      if (!process_.running()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    throw std::runtime_error("docker-registry did not start: " + read_file(dir_.path() / "registry.log"));
  }
  void stop() { process_.stop(); }

  [[nodiscard]] std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  [[nodiscard]] std::filesystem::path data() const { return dir_.path() / "data"; }

 private:
  temp_dir dir_;
  int port_;
  child_process process_;
};

//! One entry of a test layer.
struct tar_entry {
  enum class kind { file, dir, symlink, hardlink } type = kind::file;
  std::string path;
  std::string data;  //!< file contents, or the link target
  int mode = 0644;
  int uid = 0;
  int gid = 0;
};
inline tar_entry file_entry(std::string path, std::string data, int mode = 0644, int uid = 0) {
  return {tar_entry::kind::file, std::move(path), std::move(data), mode, uid, uid};
}
inline tar_entry dir_entry(std::string path, int mode = 0755, int uid = 0) {
  return {tar_entry::kind::dir, std::move(path), {}, mode, uid, uid};
}
inline tar_entry symlink_entry(std::string path, std::string target) {
  return {tar_entry::kind::symlink, std::move(path), std::move(target), 0777, 0, 0};
}
inline tar_entry hardlink_entry(std::string path, std::string target) {
  return {tar_entry::kind::hardlink, std::move(path), std::move(target), 0644, 0, 0};
}

//! A pax tar of `entries`, compressed with "none", "gzip" or "zstd".
inline std::string make_tar(const std::vector<tar_entry>& entries, const std::string& compression = "none") {
  std::string out;
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (compression == "gzip") archive_write_add_filter_gzip(a);
  else if (compression == "zstd") archive_write_add_filter_zstd(a);
  else archive_write_add_filter_none(a);
  archive_write_set_bytes_in_last_block(a, 1);
  archive_write_open(a, &out, nullptr,
                     [](archive*, void* client, const void* buf, size_t n) -> la_ssize_t {
                       static_cast<std::string*>(client)->append(static_cast<const char*>(buf), n);
                       return static_cast<la_ssize_t>(n);
                     },
                     nullptr);
  for (const auto& e : entries) {
    archive_entry* ae = archive_entry_new();
    archive_entry_set_pathname(ae, e.path.c_str());
    archive_entry_set_mtime(ae, 1700000000, 0);
    archive_entry_set_uid(ae, e.uid);
    archive_entry_set_gid(ae, e.gid);
    archive_entry_set_perm(ae, static_cast<mode_t>(e.mode));
    switch (e.type) {
      case tar_entry::kind::file:
        archive_entry_set_filetype(ae, AE_IFREG);
        archive_entry_set_size(ae, static_cast<la_int64_t>(e.data.size()));
        break;
      case tar_entry::kind::dir: archive_entry_set_filetype(ae, AE_IFDIR); break;
      case tar_entry::kind::symlink:
        archive_entry_set_filetype(ae, AE_IFLNK);
        archive_entry_set_symlink(ae, e.data.c_str());
        break;
      case tar_entry::kind::hardlink:
        archive_entry_set_filetype(ae, AE_IFREG);
        archive_entry_set_hardlink(ae, e.data.c_str());
        break;
    }
    archive_write_header(a, ae);
    if (e.type == tar_entry::kind::file && !e.data.empty()) archive_write_data(a, e.data.data(), e.data.size());
    archive_entry_free(ae);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

//! An OCI image layout directory (blobs/sha256/..., index.json, oci-layout) built by hand.
class oci_layout {
 public:
  using json = nlohmann::json;
  explicit oci_layout(std::filesystem::path root) : root_(std::move(root)) {
    std::filesystem::create_directories(root_ / "blobs" / "sha256");
    std::ofstream(root_ / "oci-layout") << R"({"imageLayoutVersion":"1.0.0"})";
  }

  [[nodiscard]] const std::filesystem::path& path() const noexcept { return root_; }

  //! Stores `bytes` as a blob; returns its descriptor.
  json blob(const std::string& bytes, const std::string& media_type) {
    const auto digest = image::sha256_digest(bytes);
    std::ofstream(root_ / "blobs" / "sha256" / image::digest_hex(digest), std::ios::binary) << bytes;
    return {{"mediaType", media_type}, {"digest", digest}, {"size", bytes.size()}};
  }

  //! A layer: stored compressed as asked, its diff id (the uncompressed digest) remembered.
  json layer(const std::vector<tar_entry>& entries, const std::string& compression) {
    const auto plain = make_tar(entries, "none");
    diff_ids_.push_back(image::sha256_digest(plain));
    const std::string suffix = compression == "gzip" ? "+gzip" : compression == "zstd" ? "+zstd" : "";
    auto d = blob(compression == "none" ? plain : make_tar(entries, compression),
                  "application/vnd.oci.image.layer.v1.tar" + suffix);
    known_diff_ids_.emplace_back(d["digest"].get<std::string>(), diff_ids_.back());
    return d;
  }

  //! A layer made before, used again in the next image.
  json reuse(const json& layer_descriptor) {
    for (const auto& [digest, diff_id] : known_diff_ids_)
      if (digest == layer_descriptor["digest"]) diff_ids_.push_back(diff_id);
    return layer_descriptor;
  }

  //! An image manifest over the layers made since the last image; returns its descriptor.
  json image(const std::vector<json>& layers, const json& container_config, const std::string& arch = "amd64") {
    const json config = {{"architecture", arch},
                         {"os", "linux"},
                         {"config", container_config},
                         {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids_}}}};
    diff_ids_.clear();
    const json manifest = {{"schemaVersion", 2},
                           {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                           {"config", blob(config.dump(), "application/vnd.oci.image.config.v1+json")},
                           {"layers", layers}};
    auto d = blob(manifest.dump(), "application/vnd.oci.image.manifest.v1+json");
    d["platform"] = {{"architecture", arch}, {"os", "linux"}};
    return d;
  }

  //! An OCI index over `manifests`; returns its descriptor.
  json index(const std::vector<json>& manifests) {
    const json idx = {{"schemaVersion", 2}, {"mediaType", "application/vnd.oci.image.index.v1+json"}, {"manifests", manifests}};
    return blob(idx.dump(), "application/vnd.oci.image.index.v1+json");
  }

  //! Names `descriptor` `ref` in index.json (what `oci:<dir>:<ref>` finds).
  void name(json descriptor, const std::string& ref) {
    descriptor.erase("platform");
    descriptor["annotations"] = {{"org.opencontainers.image.ref.name", ref}};
    refs_.push_back(std::move(descriptor));
    std::ofstream(root_ / "index.json") << json{{"schemaVersion", 2}, {"manifests", refs_}}.dump();
  }

 private:
  std::filesystem::path root_;
  std::vector<std::string> diff_ids_;
  std::vector<std::pair<std::string, std::string>> known_diff_ids_;  // layer digest, diff id
  std::vector<json> refs_;
};

//! `skopeo copy` from `oci:<layout>:<ref>` to `docker://<dest>` over plain http; throws with skopeo's
//! output on failure.
inline void skopeo_push(const oci_layout& layout, const std::string& ref, const std::string& dest,
                        const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv = {"/usr/bin/skopeo", "--insecure-policy", "copy", "--quiet", "--dest-tls-verify=false"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back("oci:" + layout.path().string() + ":" + ref);
  argv.push_back("docker://" + dest);
  std::string output;
  if (run_command(argv, output) != 0) throw std::runtime_error("skopeo copy to " + dest + " failed: " + output);
}

//! An `image_resource` with a JSON-flavoured source mapping.
inline image_resource make_resource(const std::string& type, std::vector<std::pair<std::string, value>> source,
                                    version_map version = {}) {
  image_resource r;
  r.type = type;
  mapping m;
  for (auto& [k, v] : source) m.push_back(map_entry{value(k), std::move(v)});
  r.source.data = value(std::move(m), value::map_kind::json);
  r.version = std::move(version);
  return r;
}

//! The busybox test image's single layer: /bin/busybox, applet symlinks, /etc/passwd with `tester`.
inline std::vector<tar_entry> busybox_entries() {
  std::vector<tar_entry> e = {dir_entry("bin"), dir_entry("etc"), dir_entry("tmp", 01777), dir_entry("root", 0700), dir_entry("home"),
                              dir_entry("home/tester", 0755, 1000),
                              file_entry("bin/busybox", read_file(busybox_binary()), 0755),
                              file_entry("etc/passwd", "root:x:0:0:root:/root:/bin/sh\ntester:x:1000:1000:tester:/home/tester:/bin/sh\n"),
                              file_entry("etc/group", "root:x:0:\ntester:x:1000:\n")};
  for (const char* applet : {"sh", "echo", "cat", "ls", "id", "env"}) e.push_back(symlink_entry(std::string("bin/") + applet, "busybox"));
  return e;
}

inline nlohmann::json busybox_config() {
  return {{"Env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "IMAGE_VAR=from-image"}},
          {"User", "tester"}};
}

}  // namespace taskstep::test
