#pragma once
//! \file
//! An image artifact's `metadata.json` (`{"env": ["K=V", ...], "user": "name"}`; other keys ignored),
//! as Concourse reads it, parsed with nlohmann-json. Every error starts with Concourse's
//! `malformed image metadata: ` and names the file, then the JSON syntax error (line and column) or
//! the field whose type is wrong (`field "env[1]": expected a string, got number`). `null` values
//! count as absent, as Go's `encoding/json` leaves the field empty.
//!
//! An image artifact is a task's output, so the file is opened without following a symlink and
//! read only when it is a regular file (no FIFO can block the read) of at most 16 MiB.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "taskstep/core/container_spec.hpp"
#include "taskstep/core/result.hpp"

namespace taskstep::image {

//! What an image contributes to the container (`taskstep::image_metadata`, kept here by its old name).
using image_metadata = taskstep::image_metadata;

//! The largest `metadata.json` read (an image's env and user; real ones are a few KiB).
inline constexpr std::size_t max_metadata_bytes = std::size_t{16} << 20;

namespace detail {

// Keeps the first syntax error of a JSON text: nlohmann's SAX interface reports it without throwing
// (so this also works with -fno-exceptions), which `parse(..., allow_exceptions = false)` does not.
struct json_syntax_error {
  using json = nlohmann::json;
  std::string message;
  bool null() { return true; }
  bool boolean(bool) { return true; }
  bool number_integer(json::number_integer_t) { return true; }
  bool number_unsigned(json::number_unsigned_t) { return true; }
  bool number_float(json::number_float_t, const json::string_t&) { return true; }
  bool string(json::string_t&) { return true; }
  bool binary(json::binary_t&) { return true; }
  bool start_object(std::size_t) { return true; }
  bool key(json::string_t&) { return true; }
  bool end_object() { return true; }
  bool start_array(std::size_t) { return true; }
  bool end_array() { return true; }
  template <class Exception>
  bool parse_error(std::size_t, const std::string&, const Exception& ex) {
    std::string_view what = ex.what();  // "[json.exception.parse_error.101] parse error at line 1, ..."
    if (auto end = what.find("] "); what.rfind("[json.exception.", 0) == 0 && end != std::string_view::npos)
      what.remove_prefix(end + 2);
    message = what;
    return false;
  }
};

// Reads `file` whole; `missing` says it does not exist (the text is then empty).
inline result<std::string> read_metadata_file(const std::filesystem::path& file, bool& missing) {
  missing = false;
  const int fd = ::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) {
      missing = true;
      return std::string();
    }
    if (err == ELOOP)
      return fail(errc::worker, fmt::format("malformed image metadata: {}: is a symbolic link (not followed)", file.string()));
    return fail(errc::worker, fmt::format("malformed image metadata: {}: {}", file.string(), std::strerror(err)));
  }
  struct closer {
    int fd;
    ~closer() { ::close(fd); }
  } close_fd{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    return fail(errc::worker, fmt::format("malformed image metadata: {}: {}", file.string(), std::strerror(errno)));
  if (!S_ISREG(st.st_mode))
    return fail(errc::worker, fmt::format("malformed image metadata: {}: not a regular file", file.string()));
  if (static_cast<std::size_t>(st.st_size) > max_metadata_bytes)
    return fail(errc::worker, fmt::format("malformed image metadata: {}: {} bytes, more than the {} read",
                                          file.string(), st.st_size, max_metadata_bytes));
  std::string text;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return fail(errc::worker, fmt::format("malformed image metadata: {}: {}", file.string(), std::strerror(errno)));
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > max_metadata_bytes)
      return fail(errc::worker, fmt::format("malformed image metadata: {}: more than {} bytes", file.string(),
                                            max_metadata_bytes));
  }
  return text;
}

}  // namespace detail

//! Parses the text of a `metadata.json`; `file` names it in errors (see the file comment).
inline result<image_metadata> parse_metadata(std::string_view text, const std::string& file) {
  using json = nlohmann::json;
  const json tree = json::parse(text, nullptr, false);
  if (tree.is_discarded()) {
    detail::json_syntax_error syntax;
    json::sax_parse(text, &syntax);
    return fail(errc::worker, fmt::format("malformed image metadata: {}: {}", file, syntax.message));
  }
  image_metadata out;
  if (tree.is_null()) return out;
  if (!tree.is_object())
    return fail(errc::worker, fmt::format("malformed image metadata: {}: expected a JSON object, got {}", file,
                                          tree.type_name()));
  if (auto env = tree.find("env"); env != tree.end() && !env->is_null()) {
    if (!env->is_array())
      return fail(errc::worker, fmt::format("malformed image metadata: {}: field \"env\": expected an array of "
                                            "strings, got {}", file, env->type_name()));
    for (std::size_t i = 0; i < env->size(); ++i) {
      const json& e = (*env)[i];
      if (e.is_null()) continue;
      if (!e.is_string())
        return fail(errc::worker, fmt::format("malformed image metadata: {}: field \"env[{}]\": expected a string, "
                                              "got {}", file, i, e.type_name()));
      out.env.push_back(e.get<std::string>());
    }
  }
  if (auto user = tree.find("user"); user != tree.end() && !user->is_null()) {
    if (!user->is_string())
      return fail(errc::worker, fmt::format("malformed image metadata: {}: field \"user\": expected a string, got {}",
                                            file, user->type_name()));
    out.user = user->get<std::string>();
  }
  return out;
}

//! Reads `<dir>/metadata.json`; a missing file gives empty metadata.
inline result<image_metadata> read_metadata(const std::filesystem::path& dir) {
  const std::filesystem::path file = dir / "metadata.json";
  bool missing = false;
  auto text = detail::read_metadata_file(file, missing);
  if (!text) return fail(text.error());
  if (missing) return image_metadata{};
  return parse_metadata(*text, file.string());
}

}  // namespace taskstep::image
