#pragma once
//! \file
//! `registry_session`: the Docker Registry HTTP API v2 as a puller uses it — manifests (OCI index, OCI
//! manifest, Docker manifest list, Docker schema 2), the config blob and layer blobs, each checked
//! against its sha256 digest — with the token (`Bearer`) and `Basic` authentication a 401 asks for.
//! Failures read as sentences naming the image, the registry and what to change; a registry that
//! cannot be reached is `errc::io`, every other failure `errc::worker`.

#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "taskstep/core/result.hpp"
#include "taskstep/image/registry/http.hpp"
#include "taskstep/image/registry/reference.hpp"
#include "taskstep/image/registry/sha256.hpp"

namespace taskstep::image {

//! The manifest media types taskstep understands.
namespace media_types {
inline constexpr std::string_view oci_index = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view oci_manifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view docker_list = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view docker_manifest = "application/vnd.docker.distribution.manifest.v2+json";
}  // namespace media_types

//! A manifest as the registry served it, with the digest of its exact bytes.
struct manifest_document {
  std::string media_type;
  std::string digest;
  std::string body;
  [[nodiscard]] bool is_index() const {
    return media_type == media_types::oci_index || media_type == media_types::docker_list;
  }
};

//! A content descriptor: what a manifest says about a blob.
struct blob_descriptor {
  std::string media_type;
  std::string digest;
  std::int64_t size = -1;
};

//! The parts of an image manifest a puller needs.
struct image_manifest {
  blob_descriptor config;
  std::vector<blob_descriptor> layers;
};

//! The parts of an image config that become `metadata.json`.
struct image_config {
  std::vector<std::string> env;
  std::string user;
};

namespace detail {

using json = nlohmann::json;

inline std::string json_string(const json& j, const char* key) {
  if (!j.is_object()) return {};
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

inline blob_descriptor json_descriptor(const json& j) {
  blob_descriptor d;
  d.media_type = json_string(j, "mediaType");
  d.digest = json_string(j, "digest");
  if (j.is_object())
    if (const auto it = j.find("size"); it != j.end() && it->is_number_integer()) d.size = it->get<std::int64_t>();
  return d;
}

// "MANIFEST_UNKNOWN: manifest unknown" from a registry error body, else a snippet of the body.
inline std::string registry_error_text(const std::string& body) {
  const json j = json::parse(body, nullptr, false);
  std::vector<std::string> errors;
  if (j.is_object())
    if (const auto it = j.find("errors"); it != j.end() && it->is_array())
      for (const auto& e : *it) {
        const auto m = json_string(e, "message");
        errors.push_back(m.empty() ? json_string(e, "code") : fmt::format("{}: {}", json_string(e, "code"), m));
      }
  std::string out = fmt::format("{}", fmt::join(errors, "; "));
  if (out.empty()) out = body.substr(0, 200);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

// `Bearer realm="...",service="...",scope="..."` → scheme "bearer" and its parameters.
struct auth_challenge {
  std::string scheme;
  std::vector<std::pair<std::string, std::string>> params;
  [[nodiscard]] std::string param(std::string_view name) const {
    for (const auto& [k, v] : params)
      if (k == name) return v;
    return {};
  }
};

inline auth_challenge parse_challenge(std::string_view header) {
  auth_challenge c;
  std::size_t i = 0;
  auto lower = [](std::string s) {
    for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return s;
  };
  while (i < header.size() && header[i] == ' ') ++i;
  const auto sp = header.find(' ', i);
  c.scheme = lower(std::string(header.substr(i, sp == std::string_view::npos ? std::string_view::npos : sp - i)));
  i = sp == std::string_view::npos ? header.size() : sp + 1;
  while (i < header.size()) {
    while (i < header.size() && (header[i] == ' ' || header[i] == ',')) ++i;
    const auto eq = header.find('=', i);
    if (eq == std::string_view::npos) break;
    std::string key = lower(http_impl::trim(header.substr(i, eq - i)));
    i = eq + 1;
    std::string val;
    if (i < header.size() && header[i] == '"') {
      for (++i; i < header.size() && header[i] != '"'; ++i) {
        if (header[i] == '\\' && i + 1 < header.size()) ++i;
        val += header[i];
      }
      ++i;
    } else {
      const auto comma = header.find(',', i);
      val = http_impl::trim(header.substr(i, comma == std::string_view::npos ? std::string_view::npos : comma - i));
      i = comma == std::string_view::npos ? header.size() : comma;
    }
    c.params.emplace_back(std::move(key), std::move(val));
  }
  return c;
}

inline std::string strip_media_parameters(std::string ct) {
  if (const auto semi = ct.find(';'); semi != std::string::npos) ct.resize(semi);
  return http_impl::trim(ct);
}

}  // namespace detail

//! Reads an image manifest (OCI or Docker schema 2).
inline result<image_manifest> parse_image_manifest(const manifest_document& doc, std::string_view image) {
  const auto j = detail::json::parse(doc.body, nullptr, false);
  if (!j.is_object()) return fail(errc::worker, fmt::format("the manifest of {} is not a JSON object", image));
  image_manifest m;
  m.config = detail::json_descriptor(j.contains("config") ? j["config"] : detail::json());
  if (!is_sha256_digest(m.config.digest))
    return fail(errc::worker, fmt::format("the manifest of {} names no sha256 config blob", image));
  if (const auto it = j.find("layers"); it != j.end() && it->is_array())
    for (const auto& l : *it) {
      m.layers.push_back(detail::json_descriptor(l));
      if (!is_sha256_digest(m.layers.back().digest))
        return fail(errc::worker, fmt::format("the manifest of {} has a layer without a sha256 digest ('{}')", image,
                                              m.layers.back().digest));
    }
  return m;
}

//! Picks the manifest for `os`/`architecture` from an OCI index or Docker manifest list.
inline result<std::string> choose_platform(const manifest_document& doc, std::string_view os,
                                           std::string_view architecture, std::string_view image) {
  const auto j = detail::json::parse(doc.body, nullptr, false);
  std::vector<std::string> available;
  if (j.is_object())
    if (const auto it = j.find("manifests"); it != j.end() && it->is_array())
      for (const auto& m : *it) {
        const auto platform = m.contains("platform") ? m["platform"] : detail::json();
        const auto p_os = detail::json_string(platform, "os");
        const auto p_arch = detail::json_string(platform, "architecture");
        if (p_os == os && p_arch == architecture && is_sha256_digest(detail::json_string(m, "digest")))
          return detail::json_string(m, "digest");
        if (!p_os.empty() && p_os != "unknown") available.push_back(fmt::format("{}/{}", p_os, p_arch));
      }
  return fail(errc::worker, fmt::format("image {} has no {}/{} manifest in its manifest list (it has: {})", image, os,
                                        architecture, available.empty() ? "none" : fmt::format("{}", fmt::join(available, ", "))));
}

//! Reads `Env` and `User` from an image config blob (`config.Env`, `config.User`).
inline result<image_config> parse_image_config(const std::string& body, std::string_view image) {
  const auto j = detail::json::parse(body, nullptr, false);
  if (!j.is_object()) return fail(errc::worker, fmt::format("the config blob of {} is not a JSON object", image));
  image_config c;
  if (const auto cfg = j.find("config"); cfg != j.end() && cfg->is_object()) {
    c.user = detail::json_string(*cfg, "User");
    if (const auto env = cfg->find("Env"); env != cfg->end() && env->is_array())
      for (const auto& e : *env)
        if (e.is_string()) c.env.push_back(e.get<std::string>());
  }
  return c;
}

//! One conversation with one registry about one repository. Remembers the token or basic
//! credentials a 401 asked for, so only the first request pays for authentication.
class registry_session {
 public:
  //! `image` names the image in messages; `credential_fields` names where credentials come from.
  registry_session(registry_endpoint endpoint, std::string path, std::string image, std::chrono::seconds timeout,
                   std::string credential_fields = "source.username and source.password")
      : endpoint_(std::move(endpoint)),
        path_(std::move(path)),
        image_(std::move(image)),
        timeout_(timeout),
        credential_fields_(std::move(credential_fields)) {}

  [[nodiscard]] const registry_endpoint& endpoint() const noexcept { return endpoint_; }

  //! The manifest `reference` (a tag or a digest), its media type and the digest of its bytes.
  result<manifest_document> manifest(const std::string& reference) {
    detail::http_request req;
    req.url = fmt::format("{}/v2/{}/manifests/{}", endpoint_.base_url(), path_, reference);
    req.headers.push_back(fmt::format("Accept: {}, {}, {}, {}", media_types::oci_index, media_types::oci_manifest,
                                      media_types::docker_list, media_types::docker_manifest));
    auto r = get(req);
    if (!r) return fail(r.error());
    if (r->status == 404)
      return fail(errc::worker, fmt::format("image {} not found: registry {} answered 404 ({}); check source.repository and {}",
                                            image_, endpoint_.host, detail::registry_error_text(r->body),
                                            is_sha256_digest(reference) ? "version.digest" : "source.tag"));
    if (r->status != 200) return unexpected_status(*r, "the manifest");
    manifest_document doc;
    doc.body = std::move(r->body);
    doc.media_type = detail::strip_media_parameters(r->header("content-type"));
    if (doc.media_type.empty() || doc.media_type == "application/json" || doc.media_type == "text/plain") {
      const auto j = detail::json::parse(doc.body, nullptr, false);
      doc.media_type = detail::json_string(j, "mediaType");
      if (doc.media_type.empty() && j.is_object())
        doc.media_type = std::string(j.contains("manifests") ? media_types::oci_index : media_types::oci_manifest);
    }
    if (doc.media_type != media_types::oci_index && doc.media_type != media_types::oci_manifest &&
        doc.media_type != media_types::docker_list && doc.media_type != media_types::docker_manifest)
      return fail(errc::worker, fmt::format("the manifest of {} has media type '{}', which taskstep does not support (it "
                                            "pulls OCI images and indexes and Docker schema 2 manifests and manifest "
                                            "lists; re-push the image with a current client)",
                                            image_, doc.media_type));
    doc.digest = sha256_digest(doc.body);
    if (is_sha256_digest(reference) && doc.digest != reference)
      return fail(digest_mismatch("the manifest", reference, doc.digest));
    if (const auto claimed = r->header("docker-content-digest"); is_sha256_digest(claimed) && claimed != doc.digest)
      return fail(digest_mismatch("the manifest", claimed, doc.digest));
    return doc;
  }

  //! A small blob (the image config) in memory, digest checked.
  result<std::string> small_blob(const blob_descriptor& d) {
    detail::http_request req;
    req.url = fmt::format("{}/v2/{}/blobs/{}", endpoint_.base_url(), path_, d.digest);
    auto r = get(req);
    if (!r) return fail(r.error());
    if (r->status != 200) return blob_status_error(*r, d);
    if (const auto got = sha256_digest(r->body); got != d.digest)
      return fail(digest_mismatch(fmt::format("blob {}", d.digest), d.digest, got));
    return std::move(r->body);
  }

  //! Downloads a blob to `to`, checking its size and sha256 while it streams.
  result<void> download_blob(const blob_descriptor& d, const std::filesystem::path& to) {
    struct sink_state {
      std::ofstream out;
      sha256_hasher hash;
      std::int64_t bytes = 0;
    } state;
    state.out.open(to, std::ios::binary | std::ios::trunc);
    if (!state.out) return fail(errc::io, fmt::format("cannot write {}", to.string()));
    detail::http_request req;
    req.url = fmt::format("{}/v2/{}/blobs/{}", endpoint_.base_url(), path_, d.digest);
    req.stall_timeout = true;
    req.sink.context = &state;
    req.sink.write = [](void* ctx, const char* data, std::size_t n) {
      auto* s = static_cast<sink_state*>(ctx);
      s->hash.update(data, n);
      s->bytes += static_cast<std::int64_t>(n);
      s->out.write(data, static_cast<std::streamsize>(n));
      return static_cast<bool>(s->out);
    };
    auto r = get(req);
    if (!r) return fail(r.error());
    if (r->status != 200) return blob_status_error(*r, d);
    state.out.close();
    if (!state.out) return fail(errc::io, fmt::format("cannot write {}", to.string()));
    if (d.size >= 0 && state.bytes != d.size)
      return fail(errc::worker, fmt::format("blob {} of {} from registry {} has {} bytes, not the {} its manifest says: "
                                            "the download is corrupt or the registry is misbehaving; try again",
                                            d.digest, image_, endpoint_.host, state.bytes, d.size));
    if (const auto got = fmt::format("sha256:{}", state.hash.hex_digest()); got != d.digest)
      return fail(digest_mismatch(fmt::format("blob {}", d.digest), d.digest, got));
    return {};
  }

 private:
  error digest_mismatch(const std::string& what, const std::string& expected, const std::string& got) const {
    return error(errc::worker, fmt::format("digest mismatch: {} of {} from registry {} should have digest {} but has {}: "
                                           "the download is corrupt or the registry is misbehaving; try again",
                                           what, image_, endpoint_.host, expected, got));
  }

  tl::unexpected<error> unexpected_status(const detail::http_response& r, const std::string& what) const {
    return fail(errc::worker, fmt::format("registry {} answered HTTP {} for {} of {}: {}", endpoint_.host, r.status, what,
                                          image_, detail::registry_error_text(r.body)));
  }

  tl::unexpected<error> blob_status_error(const detail::http_response& r, const blob_descriptor& d) const {
    if (r.status == 404)
      return fail(errc::worker, fmt::format("blob {} of {} is missing from registry {} ({}): the image was pushed incompletely",
                                            d.digest, image_, endpoint_.host, detail::registry_error_text(r.body)));
    return unexpected_status(r, fmt::format("blob {}", d.digest));
  }

  error unreachable(const detail::http_failure& f, const std::string& url) const {
    const bool tls = f.code == CURLE_SSL_CONNECT_ERROR || f.code == CURLE_PEER_FAILED_VERIFICATION ||
                     f.code == CURLE_SSL_CACERT_BADFILE || f.code == CURLE_SSL_CERTPROBLEM;
    const std::string hint = tls && !endpoint_.insecure
                                 ? fmt::format("if {} serves plain http, list it in source.insecure_registries", endpoint_.host)
                                 : "check the network and the registry host and port in source.repository";
    return error(errc::io, fmt::format("cannot reach registry {} to pull {}: {} (GET {}); {}", endpoint_.host, image_,
                                       f.message, url, hint));
  }

  error auth_error(std::string_view detail_text) const {
    if (endpoint_.credentials.empty())
      return error(errc::worker, fmt::format("authentication required to pull {} from registry {} ({}): set {} (a public "
                                             "registry also answers this way for a repository that does not exist)",
                                             image_, endpoint_.host, detail_text, credential_fields_));
    return error(errc::worker, fmt::format("registry {} rejected the credentials for {} ({}): check {}", endpoint_.host,
                                           image_, detail_text, credential_fields_));
  }

  // One GET with whatever authentication the registry asked for; a 401 triggers one authentication and
  // one retry.
  result<detail::http_response> get(detail::http_request req) {
    req.timeout = timeout_;
    const auto base_headers = req.headers;
    for (int attempt = 0;; ++attempt) {
      req.headers = base_headers;
      if (!bearer_.empty()) req.headers.push_back(fmt::format("Authorization: Bearer {}", bearer_));
      if (basic_) {
        req.basic_user = endpoint_.credentials.username;
        req.basic_password = endpoint_.credentials.password;
      }
      auto r = detail::http_get(req);
      if (!r) return fail(unreachable(r.error(), req.url));
      if (r->status != 401) return std::move(*r);
      if (attempt > 0) return fail(auth_error(fmt::format("HTTP 401: {}", detail::registry_error_text(r->body))));
      if (auto a = authenticate(r->header("www-authenticate")); !a) return fail(a.error());
    }
  }

  result<void> authenticate(const std::string& header) {
    const auto challenge = detail::parse_challenge(header);
    if (challenge.scheme == "basic") {
      if (endpoint_.credentials.empty()) return fail(auth_error("it asks for basic authentication"));
      basic_ = true;
      return {};
    }
    if (challenge.scheme != "bearer")
      return fail(errc::worker, fmt::format("registry {} answered 401 for {} with an authentication scheme taskstep does "
                                            "not support: '{}'",
                                            endpoint_.host, image_, header));
    const auto realm = challenge.param("realm");
    if (realm.empty())
      return fail(errc::worker,
                  fmt::format("registry {} asked for a token without naming a realm: '{}'", endpoint_.host, header));
    auto scope = challenge.param("scope");
    if (scope.empty()) scope = fmt::format("repository:{}:pull", path_);
    detail::http_request req;
    req.url = fmt::format("{}{}scope={}", realm, realm.find('?') == std::string::npos ? '?' : '&', detail::url_escape(scope));
    if (const auto service = challenge.param("service"); !service.empty())
      req.url += fmt::format("&service={}", detail::url_escape(service));
    req.timeout = timeout_;
    req.basic_user = endpoint_.credentials.username;
    req.basic_password = endpoint_.credentials.password;
    auto r = detail::http_get(req);
    if (!r)
      return fail(errc::io, fmt::format("cannot reach the token service {} of registry {} to pull {}: {}", realm,
                                        endpoint_.host, image_, r.error().message));
    if (r->status == 401 || r->status == 403)
      return fail(auth_error(fmt::format("the token service {} answered HTTP {}", realm, r->status)));
    if (r->status != 200)
      return fail(errc::worker, fmt::format("the token service {} of registry {} answered HTTP {}: {}", realm,
                                            endpoint_.host, r->status, detail::registry_error_text(r->body)));
    const auto j = detail::json::parse(r->body, nullptr, false);
    bearer_ = detail::json_string(j, "token");
    if (bearer_.empty()) bearer_ = detail::json_string(j, "access_token");
    if (bearer_.empty())
      return fail(errc::worker, fmt::format("the token service {} of registry {} returned no token", realm, endpoint_.host));
    return {};
  }

  registry_endpoint endpoint_;
  std::string path_;
  std::string image_;
  std::chrono::seconds timeout_;
  std::string credential_fields_;
  std::string bearer_;
  bool basic_ = false;
};

}  // namespace taskstep::image
