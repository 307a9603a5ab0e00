#pragma once
//! \file
//! Reading an `image_resource` of type `registry-image` / `docker-image` into what to pull from where:
//! `parse_pull_spec` mirrors the source fields of Concourse's registry-image resource (repository, tag,
//! username/password, registry_mirror, insecure_registries) plus `version.digest`.

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <fmt/core.h>

#include "taskstep/core/result.hpp"
#include "taskstep/core/task_config.hpp"
#include "taskstep/core/value.hpp"
#include "taskstep/image/registry/sha256.hpp"

namespace taskstep::image {

//! Docker Hub as the registry API sees it.
inline constexpr std::string_view docker_hub_host = "registry-1.docker.io";

//! `username`/`password` for a registry; both empty means anonymous.
struct registry_credentials {
  std::string username;
  std::string password;
  [[nodiscard]] bool empty() const noexcept { return username.empty() && password.empty(); }
};

//! One registry to talk to: `host[:port]`, whether it is plain http, and its credentials.
struct registry_endpoint {
  std::string host;
  bool insecure = false;  //!< plain http instead of https
  registry_credentials credentials;

  //! `https://host` or `http://host`.
  [[nodiscard]] std::string base_url() const { return fmt::format("{}{}", insecure ? "http://" : "https://", host); }
};

//! A repository and the tag or digest wanted from it.
struct image_reference {
  std::string registry;  //!< canonical host: `registry-1.docker.io` for Docker Hub
  std::string path;      //!< repository path on that registry, e.g. `library/busybox`
  std::string tag = "latest";
  std::string digest;    //!< pinned manifest digest (`version.digest`); wins over `tag`
  bool docker_hub = false;

  //! `127.0.0.1:5000/busybox` or `docker.io/library/busybox`, for messages and store keys.
  [[nodiscard]] std::string name() const { return fmt::format("{}/{}", docker_hub ? "docker.io" : registry, path); }
  //! `name:tag`.
  [[nodiscard]] std::string tagged() const { return fmt::format("{}:{}", name(), tag); }
  //! `name@digest` when pinned, else `name:tag`.
  [[nodiscard]] std::string display() const { return digest.empty() ? tagged() : fmt::format("{}@{}", name(), digest); }
  //! What the manifest request asks for: the digest when pinned, else the tag.
  [[nodiscard]] const std::string& manifest_ref() const { return digest.empty() ? tag : digest; }
};

//! Everything a pull needs: the image, the registry that owns it and, for Docker Hub names, a mirror
//! (`source.registry_mirror`) to try first.
struct pull_spec {
  image_reference ref;
  registry_endpoint primary;
  std::optional<registry_endpoint> mirror;
};

namespace detail {

inline bool is_lower_path_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' || c == '/';
}

// A scalar of `source`: absent → nullopt; strings as they are; numbers as Go prints them (YAML turns
// `tag: 1.36` into a float, which the registry-image resource accepts as a tag).
inline result<std::optional<std::string>> source_string(const value* mapping, std::string_view key,
                                                        std::string_view where = "source") {
  if (mapping == nullptr || !mapping->is_mapping()) return std::optional<std::string>{};
  const value* v = mapping->find(value(key));
  if (v == nullptr || v->is_null()) return std::optional<std::string>{};
  if (v->is_string()) return std::optional<std::string>(v->as_string());
  if (v->is_number()) {
    char buf[64];
    std::to_chars_result r{};
    switch (v->type()) {
      case value::kind::integer: r = std::to_chars(buf, buf + sizeof buf, std::get<std::int64_t>(v->data)); break;
      case value::kind::unsigned_integer: r = std::to_chars(buf, buf + sizeof buf, std::get<std::uint64_t>(v->data)); break;
      default: r = std::to_chars(buf, buf + sizeof buf, std::get<double>(v->data)); break;
    }
    if (r.ec == std::errc()) return std::optional<std::string>(std::string(buf, r.ptr));
  }
  return fail(errc::invalid_config, fmt::format("{}.{} must be a string, not {}", where, key, go_type_name(*v)));
}

inline result<std::vector<std::string>> source_string_list(const value* mapping, std::string_view key) {
  std::vector<std::string> out;
  if (mapping == nullptr || !mapping->is_mapping()) return out;
  const value* v = mapping->find(value(key));
  if (v == nullptr || v->is_null()) return out;
  const auto not_hosts = [&] { return fail(errc::invalid_config, fmt::format("source.{} must be a list of host:port strings", key)); };
  if (!v->is_sequence()) return not_hosts();
  for (const auto& e : v->as_sequence()) {
    if (!e.is_string()) return not_hosts();
    out.push_back(e.as_string());
  }
  return out;
}

// Docker's rule: the first component names a registry when it has a '.' or ':' or is `localhost`.
inline bool looks_like_host(std::string_view component) noexcept {
  return component.find('.') != std::string_view::npos || component.find(':') != std::string_view::npos ||
         component == "localhost";
}

}  // namespace detail

//! Splits `source.repository` into registry host and path (Docker Hub names get `library/` when they
//! have no slash), taking a `:tag` or `@sha256:...` suffix when present.
inline result<image_reference> parse_repository(std::string_view repository) {
  auto bad = [&](std::string_view why) {
    return fail(errc::invalid_config, fmt::format("source.repository '{}' is not a valid repository: {}", repository, why));
  };
  image_reference ref;
  std::string rest(repository);
  if (rest.empty()) return bad("it is empty");
  if (const auto at = rest.find('@'); at != std::string::npos) {
    ref.digest = rest.substr(at + 1);
    rest.resize(at);
    if (!is_sha256_digest(ref.digest)) return bad("the part after '@' is not a sha256:<64 hex> digest");
  }
  std::string host;
  if (const auto slash = rest.find('/'); slash != std::string::npos && detail::looks_like_host(rest.substr(0, slash))) {
    host = rest.substr(0, slash);
    rest.erase(0, slash + 1);
  }
  if (const auto colon = rest.rfind(':'); colon != std::string::npos) {
    ref.tag = rest.substr(colon + 1);
    rest.resize(colon);
    if (ref.tag.empty()) return bad("the tag after ':' is empty");
  }
  if (rest.empty() || rest.front() == '/' || rest.back() == '/' || rest.find("//") != std::string::npos)
    return bad("the path must be slash-separated names such as 'team/app'");
  if (!std::all_of(rest.begin(), rest.end(), detail::is_lower_path_char))
    return bad("repository paths may hold only lowercase letters, digits, '.', '_', '-' and '/'");
  if (host.empty() || host == "docker.io" || host == "index.docker.io" || host == docker_hub_host) {
    ref.docker_hub = true;
    ref.registry = std::string(docker_hub_host);
    ref.path = rest.find('/') == std::string::npos ? fmt::format("library/{}", rest) : rest;
  } else {
    ref.registry = host;
    ref.path = rest;
  }
  return ref;
}

//! Reads an `image_resource` into a `pull_spec`. `extra_insecure` are `host:port`s allowed over plain
//! http in addition to `source.insecure_registries`.
inline result<pull_spec> parse_pull_spec(const image_resource& r, const std::vector<std::string>& extra_insecure) {
  if (r.type != "registry-image" && r.type != "docker-image")
    return fail(errc::invalid_config, fmt::format("image_resource type '{}' is not supported: taskstep fetches images of "
                                                  "type registry-image or docker-image",
                                                  r.type));
  const value* src = &r.source.data;
  if (!src->is_null() && !src->is_mapping())
    return fail(errc::invalid_config, fmt::format("image_resource.source must be a mapping, not {}", go_type_name(*src)));

  auto repository = detail::source_string(src, "repository");
  if (!repository) return fail(repository.error());
  if (!*repository || (*repository)->empty())
    return fail(errc::invalid_config, fmt::format("image_resource of type {} needs source.repository (e.g. 'busybox' or "
                                                  "'registry.example.com:5000/team/app')",
                                                  r.type));
  auto ref = parse_repository(**repository);
  if (!ref) return fail(ref.error());
  pull_spec spec;
  spec.ref = std::move(*ref);

  auto tag = detail::source_string(src, "tag");
  if (!tag) return fail(tag.error());
  if (*tag && !(*tag)->empty()) spec.ref.tag = **tag;
  if (const auto d = r.version.find("digest"); d != r.version.end() && !d->second.empty()) {
    if (!is_sha256_digest(d->second))
      return fail(errc::invalid_config,
                  fmt::format("image_resource.version.digest '{}' is not a sha256:<64 hex> digest", d->second));
    spec.ref.digest = d->second;
  }

  auto insecure = detail::source_string_list(src, "insecure_registries");
  if (!insecure) return fail(insecure.error());
  insecure->insert(insecure->end(), extra_insecure.begin(), extra_insecure.end());
  auto is_insecure = [&](const std::string& host) {
    return std::find(insecure->begin(), insecure->end(), host) != insecure->end();
  };

  auto username = detail::source_string(src, "username");
  if (!username) return fail(username.error());
  auto password = detail::source_string(src, "password");
  if (!password) return fail(password.error());
  spec.primary.host = spec.ref.registry;
  spec.primary.insecure = is_insecure(spec.ref.registry);
  spec.primary.credentials = {username->value_or(""), password->value_or("")};

  if (src->is_mapping()) {
    if (const value* m = src->find(value("registry_mirror")); m != nullptr && !m->is_null()) {
      if (!m->is_mapping()) return fail(errc::invalid_config, "source.registry_mirror must be a mapping with host, username, password");
      auto host = detail::source_string(m, "host", "source.registry_mirror");
      if (!host) return fail(host.error());
      auto mu = detail::source_string(m, "username", "source.registry_mirror");
      if (!mu) return fail(mu.error());
      auto mp = detail::source_string(m, "password", "source.registry_mirror");
      if (!mp) return fail(mp.error());
      if (!*host || (*host)->empty()) return fail(errc::invalid_config, "source.registry_mirror needs a host");
      // Used only for Docker Hub names, as the registry-image resource does. A scheme is tolerated:
      // `http://` means the mirror is plain http.
      std::string mirror_host = **host;
      bool plain = false;
      if (mirror_host.rfind("https://", 0) == 0) {
        mirror_host.erase(0, 8);
      } else if (mirror_host.rfind("http://", 0) == 0) {
        mirror_host.erase(0, 7);
        plain = true;
      }
      while (!mirror_host.empty() && mirror_host.back() == '/') mirror_host.pop_back();
      if (spec.ref.docker_hub)
        spec.mirror = registry_endpoint{mirror_host, plain || is_insecure(mirror_host), {mu->value_or(""), mp->value_or("")}};
    }
  }
  return spec;
}

}  // namespace taskstep::image
