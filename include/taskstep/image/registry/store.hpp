#pragma once
//! \file
//! `registry_store`: pulls `registry-image` / `docker-image` images into a content-addressed store and
//! hands back the directory Concourse's registry-image resource would have produced (`rootfs/` and
//! `metadata.json`). Layout, under the store root:
//!
//!     sha256/<hex>/rootfs/         the unpacked image whose manifest digest is sha256:<hex>
//!     sha256/<hex>/metadata.json   {"env": [...], "user": "..."}
//!     refs/<sha256 of key>         "<digest>\n<key>\n": what a tag (or an index digest) resolved to
//!     locks/<hex>.lock             flock(2)ed by whoever builds sha256/<hex>
//!     tmp/<hex>.<pid>.<n>/         an image being built; renamed into sha256/ when complete
//!
//! A directory under `sha256/` is only ever complete (rename is atomic), so a lookup needs no lock.

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "taskstep/core/result.hpp"
#include "taskstep/core/task_config.hpp"
#include "taskstep/image/registry/client.hpp"
#include "taskstep/image/registry/reference.hpp"
#include "taskstep/image/registry/sha256.hpp"
#include "taskstep/image/registry/unpack.hpp"

namespace taskstep::image {

//! How a `registry_store` pulls.
struct registry_options {
  std::filesystem::path store_root;              //!< empty = $TMPDIR/taskstep/images (or /tmp/...)
  std::vector<std::string> insecure_registries;  //!< `host:port`s allowed over plain http (plus source.insecure_registries)
  std::string os = "linux";                      //!< platform picked from a manifest list / OCI index
  std::string architecture = "amd64";
  std::chrono::seconds timeout{60};              //!< per request; blob downloads: the longest stall allowed
};

//! An image in the store.
struct fetched_image {
  std::filesystem::path dir;  //!< holds rootfs/ and metadata.json
  std::string digest;         //!< the image manifest's digest, `sha256:...` (the platform's, for a manifest list)
  bool cached = false;        //!< true when nothing was downloaded but the manifest lookup
};

namespace detail {

//! A non-owning, non-virtual reference to the caller's progress callable.
struct progress_ref {
  void* context;
  void (*call)(void* context, const std::string& line);
  void operator()(const std::string& line) const { call(context, line); }
};

inline std::filesystem::path default_store_root() {
  const char* tmp = std::getenv("TMPDIR");
  return std::filesystem::path(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") / "taskstep" / "images";
}

inline std::string human_size(std::int64_t bytes) {
  if (bytes < 0) return "? B";
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  std::size_t u = 0;
  while (v >= 1024 && u + 1 < std::size(units)) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

inline bool supported_layer(std::string_view mt) {
  if (mt.find("+encrypted") != std::string_view::npos) return false;
  return mt.rfind("application/vnd.oci.image.layer.", 0) == 0 || mt.rfind("application/vnd.docker.image.rootfs.", 0) == 0;
}

inline bool supported_config(std::string_view mt) {
  return mt.empty() || mt == "application/vnd.oci.image.config.v1+json" || mt == "application/vnd.docker.container.image.v1+json";
}

// Removes a path without following symlinks (read-only directories included).
inline void remove_quietly(const std::filesystem::path& p) {
  unique_fd parent(::open(p.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (parent.valid()) (void)remove_tree_at(parent.get(), p.filename().c_str());
}

//! An exclusive flock(2) on a file, held while alive. Separate opens exclude each other, so it works
//! between threads of one process as well as between processes.
class file_lock {
 public:
  static result<file_lock> acquire(const std::filesystem::path& path, progress_ref progress, const std::string& waiting) {
    file_lock l;
    l.fd_ = unique_fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (!l.fd_.valid()) return fail(errc::io, fmt::format("cannot open the image store lock {}: {}", path.string(), std::strerror(errno)));
    if (::flock(l.fd_.get(), LOCK_EX | LOCK_NB) == 0) return l;
    const auto cannot_lock = [&] { return fail(errc::io, fmt::format("cannot lock {}: {}", path.string(), std::strerror(errno))); };
    if (errno != EWOULDBLOCK) return cannot_lock();
    progress(waiting);
    while (::flock(l.fd_.get(), LOCK_EX) != 0)
      if (errno != EINTR) return cannot_lock();
    return l;
  }

 private:
  unique_fd fd_;  // closing it releases the lock
};

}  // namespace detail

//! Pulls images from OCI/Docker registries into a content-addressed store (see the file comment for
//! the layout). Mirrors Concourse's registry-image resource: `source.repository`, `tag`, `username`,
//! `password`, `registry_mirror`, `insecure_registries` and `version.digest`.
//!
//! Safe to use from several threads and processes at once: pulls of one image are serialised by a
//! per-digest lock, and the later ones find the finished image.
class registry_store {
 public:
  //! Creates the store's directories; a failure to do so is reported by every `fetch`.
  explicit registry_store(registry_options options = {}) : options_(std::move(options)) {
    if (options_.store_root.empty()) options_.store_root = detail::default_store_root();
    std::error_code ec;
    for (const char* sub : {"sha256", "refs", "locks", "tmp"}) {
      std::filesystem::create_directories(options_.store_root / sub, ec);
      if (ec) {
        root_error_ = fmt::format("cannot create the image store {}: {} (choose another store root)",
                                  options_.store_root.string(), ec.message());
        return;
      }
    }
    // A canonical root keeps symlinks out of every path handed to libarchive.
    if (auto canonical = std::filesystem::canonical(options_.store_root, ec); !ec) options_.store_root = std::move(canonical);
  }

  [[nodiscard]] const registry_options& options() const noexcept { return options_; }

  //! Fetches the image `r` names (or finds it in the store). `progress` is called with human-readable
  //! lines such as `fetching 127.0.0.1:5000/busybox:latest`.
  template <class Progress>
  result<fetched_image> fetch(const image_resource& r, Progress&& progress) {
    static_assert(std::invocable<Progress&, const std::string&>,
                  "taskstep: registry_store::fetch's progress must be callable with a const std::string& line");
    using callable = std::remove_reference_t<Progress>;
    detail::progress_ref ref{const_cast<void*>(static_cast<const void*>(std::addressof(progress))),
                             [](void* c, const std::string& line) { (*static_cast<callable*>(c))(line); }};
    return fetch_with(r, ref);
  }

  //! The stored image with manifest digest `digest`, if it is complete.
  [[nodiscard]] std::optional<std::filesystem::path> find(std::string_view digest) const {
    if (!is_sha256_digest(digest)) return std::nullopt;
    const auto dir = options_.store_root / "sha256" / digest_hex(digest);
    std::error_code ec;
    if (std::filesystem::is_directory(dir / "rootfs", ec)) return dir;
    return std::nullopt;
  }

  //! `fetch` behind the template: the progress callable already type-erased.
  result<fetched_image> fetch_with(const image_resource& r, detail::progress_ref progress) {
    auto spec = parse_pull_spec(r, options_.insecure_registries);
    if (!spec) return fail(spec.error());
    if (!root_error_.empty()) return fail(errc::io, root_error_);
    const auto& ref = spec->ref;
    const std::string platform = fmt::format("{}/{}", options_.os, options_.architecture);
    progress(fmt::format("fetching {}", ref.display()));

    // A pinned digest names immutable content: when it is stored, the registry is not asked at all.
    if (!ref.digest.empty()) {
      auto known = find(ref.digest);
      std::string digest = ref.digest;
      if (!known)
        if (auto alias = read_ref(fmt::format("digest {} {}", ref.digest, platform))) {
          digest = *alias;
          known = find(digest);
        }
      if (known) {
        progress(fmt::format("using {}@{} from the image store ({})", ref.name(), digest, known->string()));
        return fetched_image{*known, digest, true};
      }
    }

    auto resolved = resolve(*spec, progress);
    if (!resolved) {
      if (resolved.error().code() == errc::io && ref.digest.empty())
        if (auto digest = read_ref(tag_key(ref, platform)))
          if (auto dir = find(*digest)) {
            progress(resolved.error().message());
            progress(fmt::format("the registry is unreachable: using the copy of {} fetched before ({}, {})", ref.tagged(),
                                 *digest, dir->string()));
            return fetched_image{*dir, *digest, true};
          }
      return fail(resolved.error());
    }
    registry_session& session = resolved->session;
    const std::string& top_digest = resolved->top_digest;
    const manifest_document& doc = resolved->manifest;
    const std::string image = fmt::format("{}@{}", ref.name(), doc.digest);

    auto remember = [&] {
      if (ref.digest.empty()) write_ref(tag_key(ref, platform), doc.digest);
      if (top_digest != doc.digest) write_ref(fmt::format("digest {} {}", top_digest, platform), doc.digest);
    };
    const auto stored = [&](const std::filesystem::path& dir) {
      remember();
      progress(fmt::format("using {} from the image store ({})", image, dir.string()));
      return fetched_image{dir, doc.digest, true};
    };
    if (auto dir = find(doc.digest)) return stored(*dir);
    const std::string hex = digest_hex(doc.digest);
    auto lock = detail::file_lock::acquire(options_.store_root / "locks" / fmt::format("{}.lock", hex), progress,
                                           fmt::format("waiting for another fetch of {} to finish", image));
    if (!lock) return fail(lock.error());
    if (auto dir = find(doc.digest)) return stored(*dir);  // the fetch we waited for stored it
    auto dir = build(session, doc, image, hex, progress);
    if (!dir) return fail(dir.error());
    remember();
    return fetched_image{*dir, doc.digest, false};
  }

 private:
  struct resolution {
    registry_session session;
    std::string top_digest;  // what the tag or pinned digest named (an index, for multi-platform images)
    manifest_document manifest;
  };

  static std::string tag_key(const image_reference& ref, const std::string& platform) {
    return fmt::format("tag {} {}", ref.tagged(), platform);
  }

  [[nodiscard]] std::optional<std::string> read_ref(const std::string& key) const {
    std::ifstream in(options_.store_root / "refs" / digest_hex(sha256_digest(key)));
    std::string digest, stored_key;
    if (!std::getline(in, digest) || !std::getline(in, stored_key) || stored_key != key || !is_sha256_digest(digest))
      return std::nullopt;
    return digest;
  }

  void write_ref(const std::string& key, const std::string& digest) const {
    static std::atomic<unsigned> counter{0};
    const auto name = digest_hex(sha256_digest(key));
    const auto final_path = options_.store_root / "refs" / name;
    const auto tmp = options_.store_root / "tmp" /
                     fmt::format("ref.{}.{}.{}", name, ::getpid(), counter++);
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << digest << '\n' << key << '\n';
      if (!out) return;  // only an optimisation for offline use: never fails the fetch
    }
    std::error_code ec;
    std::filesystem::rename(tmp, final_path, ec);
    if (ec) std::filesystem::remove(tmp, ec);
  }

  // The manifest for our platform, from the mirror first (Docker Hub names only), then the registry.
  result<resolution> resolve(const pull_spec& spec, detail::progress_ref progress) const {
    if (spec.mirror) {
      auto r = resolve_on(registry_session(*spec.mirror, spec.ref.path, spec.ref.display(), options_.timeout,
                                           "source.registry_mirror.username and source.registry_mirror.password"),
                          spec.ref);
      if (r) return r;
      progress(fmt::format("registry mirror {} failed: {}; trying {}", spec.mirror->host, r.error().message(),
                           spec.primary.host));
    }
    return resolve_on(registry_session(spec.primary, spec.ref.path, spec.ref.display(), options_.timeout), spec.ref);
  }

  result<resolution> resolve_on(registry_session session, const image_reference& ref) const {
    auto doc = session.manifest(ref.manifest_ref());
    if (!doc) return fail(doc.error());
    const std::string top = doc->digest;
    for (int depth = 0; doc->is_index(); ++depth) {
      if (depth == 2) return fail(errc::worker, fmt::format("the manifest list of {} nests too deeply", ref.display()));
      auto chosen = choose_platform(*doc, options_.os, options_.architecture, ref.display());
      if (!chosen) return fail(chosen.error());
      doc = session.manifest(*chosen);
      if (!doc) return fail(doc.error());
    }
    return resolution{std::move(session), top, std::move(*doc)};
  }

  result<std::filesystem::path> build(registry_session& session, const manifest_document& doc, const std::string& image,
                                      const std::string& hex, detail::progress_ref progress) const {
    namespace fs = std::filesystem;
    static std::atomic<unsigned> counter{0};
    const fs::path tmp_root = options_.store_root / "tmp";
    std::error_code ec;
    std::vector<fs::path> stale;  // left by a fetch that died (we hold the lock)
    for (fs::directory_iterator it(tmp_root, ec), end; !ec && it != end; it.increment(ec))
      if (it->path().filename().string().starts_with(fmt::format("{}.", hex))) stale.push_back(it->path());
    for (const auto& p : stale) detail::remove_quietly(p);
    const fs::path work = tmp_root / fmt::format("{}.{}.{}", hex, ::getpid(), counter++);
    struct cleanup {
      fs::path path;
      ~cleanup() {
        if (!path.empty()) detail::remove_quietly(path);
      }
    } guard{work};
    fs::create_directories(work / "rootfs", ec);
    if (ec) return fail(errc::io, fmt::format("cannot create {}: {}", (work / "rootfs").string(), ec.message()));

    auto manifest = parse_image_manifest(doc, image);
    if (!manifest) return fail(manifest.error());
    if (!detail::supported_config(manifest->config.media_type))
      return fail(errc::worker, fmt::format("{} is not a container image: its config has media type '{}'", image,
                                            manifest->config.media_type));
    std::int64_t total = 0;
    for (std::size_t i = 0; i < manifest->layers.size(); ++i) {
      const auto& l = manifest->layers[i];
      if (!detail::supported_layer(l.media_type))
        return fail(errc::worker, fmt::format("layer {} of {} has media type '{}', which taskstep does not support (it "
                                              "unpacks tar layers, uncompressed or compressed with gzip or zstd)",
                                              i + 1, image, l.media_type));
      total += l.size > 0 ? l.size : 0;
    }
    progress(fmt::format("downloading {} ({} layers, {})", image, manifest->layers.size(), detail::human_size(total)));
    auto config_blob = session.small_blob(manifest->config);
    if (!config_blob) return fail(config_blob.error());
    auto config = parse_image_config(*config_blob, image);
    if (!config) return fail(config.error());

    const std::size_t n = manifest->layers.size();
    for (std::size_t i = 0; i < n; ++i) {
      const auto& l = manifest->layers[i];
      const std::string what = fmt::format("layer {}/{} ({}) of {}", i + 1, n, l.digest, image);
      progress(fmt::format("layer {}/{} {} {}", i + 1, n, l.digest.substr(0, 19), detail::human_size(l.size)));
      const fs::path blob = work / "layer.blob";
      if (auto got = session.download_blob(l, blob); !got) return fail(got.error());
      auto applied = apply_layer(blob, work / "rootfs", what);
      if (!applied) return fail(applied.error());
      if (applied->skipped_devices > 0)
        progress(fmt::format("skipped {} device nodes of {} (creating them needs root)", applied->skipped_devices, what));
      fs::remove(blob, ec);
    }
    {
      const nlohmann::json metadata = {{"env", config->env}, {"user", config->user}};
      std::ofstream out(work / "metadata.json", std::ios::trunc);
      out << metadata.dump();
      if (!out) return fail(errc::io, fmt::format("cannot write {}", (work / "metadata.json").string()));
    }
    const fs::path final_dir = options_.store_root / "sha256" / hex;
    if (::rename(work.c_str(), final_dir.c_str()) != 0)
      return fail(errc::io, fmt::format("cannot move {} to {}: {}", work.string(), final_dir.string(), std::strerror(errno)));
    guard.path.clear();
    progress(fmt::format("stored {} in {}", image, final_dir.string()));
    return final_dir;
  }

  registry_options options_;
  std::string root_error_;  // why the store root could not be created, reported by every fetch
};

}  // namespace taskstep::image
