#pragma once
//! \file
//! Concourse's container paths: the working directory `/tmp/build/<8 hex digits of sha1(step name)>`
//! and clean path joining (Go's `path.Join` + `path.Clean`).

#include <string>
#include <string_view>
#include <vector>

#include "taskstep/core/detail/sha1.hpp"

namespace taskstep {

//! `/tmp/build/` + the first 4 bytes of SHA-1 of the step name in hex (`one-off` → `/tmp/build/e55deab7`).
inline std::string working_directory(std::string_view step_name) {
  static constexpr char hex[] = "0123456789abcdef";
  const auto digest = detail::sha1(step_name);
  std::string out = "/tmp/build/";
  for (int i = 0; i < 4; ++i) {
    out += hex[digest[static_cast<std::size_t>(i)] >> 4];
    out += hex[digest[static_cast<std::size_t>(i)] & 15];
  }
  return out;
}

//! Go's `path.Clean`: lexical, `/`-separated.
inline std::string clean_path(std::string_view p) {
  if (p.empty()) return ".";
  const bool rooted = p.front() == '/';
  std::vector<std::string> parts;
  std::size_t i = 0;
  while (i <= p.size()) {
    auto j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    std::string_view seg = p.substr(i, j - i);
    if (seg.empty() || seg == ".") {
    } else if (seg == "..") {
      if (!parts.empty() && parts.back() != "..") parts.pop_back();
      else if (!rooted) parts.emplace_back("..");
    } else {
      parts.emplace_back(seg);
    }
    i = j + 1;
  }
  std::string out = rooted ? "/" : "";
  for (std::size_t k = 0; k < parts.size(); ++k) {
    if (k != 0) out += '/';
    out += parts[k];
  }
  return out.empty() ? "." : out;
}

//! Go's `path.Join(a, b)` (then cleaned); an absolute `b` is treated as relative, as Concourse does.
inline std::string join_path(std::string_view a, std::string_view b) {
  if (b.empty()) return clean_path(a);
  if (a.empty()) return clean_path(b);
  return clean_path(std::string(a) + "/" + std::string(b));
}

}  // namespace taskstep
