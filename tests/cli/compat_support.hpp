#pragma once
// Support for compat_test.cpp: reading the JSON Lines corpus in tests/data/compat/ and running
// `taskstep` inside a given working directory.
//
// The corpus only uses a small JSON subset (objects, arrays, strings, integers), so a tiny strict
// reader lives here instead of a JSON library dependency; it must not share code with the
// library under test.
#include <spawn.h>
#include <sys/wait.h>
#include <fcntl.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "cli/run_command.hpp"

namespace compat {

struct json {
  enum class kind { null, boolean, number, string, array, object };
  kind k = kind::null;
  bool b = false;
  long long num = 0;
  std::string str;
  std::vector<json> arr;
  std::map<std::string, json> obj;

  bool has(const std::string& key) const { return k == kind::object && obj.count(key) != 0; }
  const json& at(const std::string& key) const {
    auto it = obj.find(key);
    if (k != kind::object || it == obj.end()) throw std::runtime_error("missing field '" + key + "'");
    return it->second;
  }
  const std::string& as_string() const {
    if (k != kind::string) throw std::runtime_error("expected a JSON string");
    return str;
  }
};

class json_reader {
 public:
  explicit json_reader(std::string_view text) : s_(text) {}

  json parse_document() {
    json v = value();
    ws();
    if (i_ != s_.size()) fail("trailing characters");
    return v;
  }

 private:
  std::string_view s_;
  std::size_t i_ = 0;

  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error("JSON: " + what + " at offset " + std::to_string(i_));
  }
  void ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  char peek() {
    ws();
    if (i_ >= s_.size()) fail("unexpected end");
    return s_[i_];
  }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++i_;
  }
  bool literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }

  json value() {
    json v;
    const char c = peek();
    if (c == '{') {
      v.k = json::kind::object;
      ++i_;
      if (peek() == '}') { ++i_; return v; }
      for (;;) {
        if (peek() != '"') fail("expected an object key");
        std::string key = string();
        expect(':');
        if (!v.obj.emplace(std::move(key), value()).second) fail("duplicate key");
        if (peek() == ',') { ++i_; continue; }
        expect('}');
        return v;
      }
    }
    if (c == '[') {
      v.k = json::kind::array;
      ++i_;
      if (peek() == ']') { ++i_; return v; }
      for (;;) {
        v.arr.push_back(value());
        if (peek() == ',') { ++i_; continue; }
        expect(']');
        return v;
      }
    }
    if (c == '"') {
      v.k = json::kind::string;
      v.str = string();
      return v;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      v.k = json::kind::number;
      const bool neg = c == '-';
      if (neg) ++i_;
      if (i_ >= s_.size() || s_[i_] < '0' || s_[i_] > '9') fail("bad number");
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') v.num = v.num * 10 + (s_[i_++] - '0');
      if (neg) v.num = -v.num;
      if (i_ < s_.size() && (s_[i_] == '.' || s_[i_] == 'e' || s_[i_] == 'E')) fail("only integers are supported");
      return v;
    }
    if (literal("true")) { v.k = json::kind::boolean; v.b = true; return v; }
    if (literal("false")) { v.k = json::kind::boolean; return v; }
    if (literal("null")) return v;
    fail("unexpected character");
  }

  unsigned hex4() {
    if (i_ + 4 > s_.size()) fail("short \\u escape");
    unsigned u = 0;
    for (int n = 0; n < 4; ++n) {
      const char h = s_[i_++];
      u <<= 4;
      if (h >= '0' && h <= '9') u |= unsigned(h - '0');
      else if (h >= 'a' && h <= 'f') u |= unsigned(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') u |= unsigned(h - 'A' + 10);
      else fail("bad \\u escape");
    }
    return u;
  }

  static void put_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += char(cp);
    } else if (cp < 0x800) {
      out += char(0xC0 | (cp >> 6));
      out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += char(0xE0 | (cp >> 12));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    } else {
      out += char(0xF0 | (cp >> 18));
      out += char(0x80 | ((cp >> 12) & 0x3F));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    }
  }

  std::string string() {
    expect('"');
    std::string out;
    for (;;) {
      if (i_ >= s_.size()) fail("unterminated string");
      const char c = s_[i_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("raw control character in string");
      if (c != '\\') { out += c; continue; }
      if (i_ >= s_.size()) fail("unterminated escape");
      switch (s_[i_++]) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned cp = hex4();
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (!literal("\\u")) fail("lone high surrogate");
            const unsigned lo = hex4();
            if (lo < 0xDC00 || lo > 0xDFFF) fail("bad low surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            fail("lone low surrogate");
          }
          put_utf8(out, cp);
          break;
        }
        default: fail("bad escape");
      }
    }
  }
};

inline std::string base64_decode(std::string_view in) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    const int v = val(c);
    if (v < 0) throw std::runtime_error("bad base64");
    acc = (acc << 6) | unsigned(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += char((acc >> bits) & 0xFF);
    }
  }
  return out;
}

//! One recorded oracle run: inputs, arguments and Concourse's exact results.
struct compat_case {
  std::string name;
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> files;  // name -> exact bytes
  std::vector<std::string> dirs;                            // empty directories to create
  int exit_code = 0;
  std::string out;
  std::string err;
};

//! A bytes field stored either as `key` (UTF-8 text) or `key_b64` (base64).
inline std::string bytes_field(const json& record, const std::string& key) {
  if (record.has(key)) return record.at(key).as_string();
  return base64_decode(record.at(key + "_b64").as_string());
}

inline compat_case to_case(const json& r) {
  compat_case c;
  c.name = r.at("name").as_string();
  for (const auto& a : r.at("args").arr) c.args.push_back(a.as_string());
  for (const auto& [fn, content] : r.at("files").obj) c.files.emplace_back(fn, content.as_string());
  if (r.has("files_b64"))
    for (const auto& [fn, content] : r.at("files_b64").obj) c.files.emplace_back(fn, base64_decode(content.as_string()));
  if (r.has("dirs"))
    for (const auto& d : r.at("dirs").arr) c.dirs.push_back(d.as_string());
  const json& exit = r.at("exit");
  if (exit.k != json::kind::number) throw std::runtime_error("'exit' is not a number");
  c.exit_code = static_cast<int>(exit.num);
  c.out = bytes_field(r, "stdout");
  c.err = bytes_field(r, "stderr");
  return c;
}

//! Every record of a JSON Lines file (blank lines ignored). Throws with the line number on errors.
inline std::vector<compat_case> load_cases(const std::filesystem::path& file) {
  const std::string text = slurp(file);
  std::vector<compat_case> cases;
  std::size_t pos = 0;
  int line_no = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    ++line_no;
    const std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    try {
      cases.push_back(to_case(json_reader(line).parse_document()));
    } catch (const std::exception& e) {
      throw std::runtime_error(file.string() + ":" + std::to_string(line_no) + ": " + e.what());
    }
  }
  return cases;
}

//! Runs taskstep with `cwd` as working directory; stdout/stderr go through files in `io_dir`.
inline command_result run_taskstep_in(const std::filesystem::path& cwd, const std::filesystem::path& io_dir,
                                      const std::vector<std::string>& args) {
  return run_taskstep_at(cwd, io_dir, args);
}

//! Drops the `[WARNING] ...` lines taskstep prints on stderr: Concourse computes those warnings
//! but never shows them, so the oracle's stderr can't contain them.
inline std::string strip_warning_lines(const std::string& err) {
  std::string out;
  std::size_t pos = 0;
  bool first = true;
  for (;;) {
    std::size_t end = err.find('\n', pos);
    const std::string line = err.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    if (line.rfind("[WARNING] ", 0) != 0) {
      if (!first) out += '\n';
      out += line;
      first = false;
    }
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return out;
}

}  // namespace compat
