#pragma once
//! \file
//! YAML text → `taskstep::value`, the way go-yaml v2 (`yaml.Unmarshal` / `yaml.UnmarshalStrict` into
//! `interface{}`) reads it. Parsing is done by libyaml, the C library go-yaml v2 is a line-by-line port
//! of, so syntax errors carry the same problem text and line numbers. Scalars are resolved with
//! go-yaml's YAML 1.1 rules (yes/no/on/off, 0x/0o/0b/legacy octal, `_` separators, timestamps kept as
//! strings), merge keys (`<<`) and anchors are honoured, and strict mode reports duplicate keys as
//! `yaml: unmarshal errors:\n  line N: key "k" already set in map`.

#include <yaml.h>

#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "taskstep/core/detail/go_format.hpp"
#include "taskstep/core/json.hpp"
#include "taskstep/core/result.hpp"
#include "taskstep/core/value.hpp"

namespace taskstep::yaml {

namespace detail {

struct node {
  enum class kind { scalar, sequence, mapping, alias } k = kind::scalar;
  std::string tag;
  std::string text;
  bool implicit = false;  // plain scalar without a tag
  int line = 0;           // 0-based, as libyaml's marks
  std::size_t index = 0;  // byte offset of the node's start
  bool flow = false;      // a flow collection (`[...]`, `{...}`)
  std::vector<node*> children;
  node* target = nullptr;  // for aliases
};

constexpr std::string_view tag_prefix = "tag:yaml.org,2002:";

inline std::string short_tag(std::string_view tag) {
  if (tag.substr(0, tag_prefix.size()) == tag_prefix) return "!!" + std::string(tag.substr(tag_prefix.size()));
  return std::string(tag);
}

// go-yaml's yamlStyleFloat: ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$
inline bool yaml_style_float(std::string_view s) {
  std::size_t i = 0;
  auto digits = [&] {
    std::size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i - start;
  };
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (digits() == 0) return false;
  } else {
    if (digits() == 0) return false;
    if (i < s.size() && s[i] == '.') {
      ++i;
      digits();
    }
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    if (digits() == 0) return false;
  }
  return i == s.size();
}

//! go-yaml v2's `resolve` for an untagged plain scalar.
inline value resolve_plain(std::string_view in) {
  static const std::unordered_map<std::string_view, int> words = {
      {"y", 1}, {"Y", 1}, {"yes", 1}, {"Yes", 1}, {"YES", 1}, {"true", 1}, {"True", 1}, {"TRUE", 1},
      {"on", 1}, {"On", 1}, {"ON", 1}, {"n", 0}, {"N", 0}, {"no", 0}, {"No", 0}, {"NO", 0},
      {"false", 0}, {"False", 0}, {"FALSE", 0}, {"off", 0}, {"Off", 0}, {"OFF", 0},
      {"", 2}, {"~", 2}, {"null", 2}, {"Null", 2}, {"NULL", 2},
      {".nan", 3}, {".NaN", 3}, {".NAN", 3},
      {".inf", 4}, {".Inf", 4}, {".INF", 4}, {"+.inf", 4}, {"+.Inf", 4}, {"+.INF", 4},
      {"-.inf", 5}, {"-.Inf", 5}, {"-.INF", 5}};
  char hint = 'N';
  if (!in.empty()) {
    const char c = in[0];
    if (c == '+' || c == '-') hint = 'S';
    else if (c >= '0' && c <= '9') hint = 'D';
    else if (std::string_view("yYnNtTfFoO~").find(c) != std::string_view::npos) hint = 'M';
    else if (c == '.') hint = '.';
    else hint = 0;
  }
  if (hint == 0) return value(in);
  if (auto it = words.find(in); it != words.end()) {
    switch (it->second) {
      case 0: return value(false);
      case 1: return value(true);
      case 2: return value(nullptr);
      case 3: return value(std::numeric_limits<double>::quiet_NaN());
      case 4: return value(std::numeric_limits<double>::infinity());
      default: return value(-std::numeric_limits<double>::infinity());
    }
  }
  if (hint == '.') {
    if (auto f = taskstep::detail::parse_go_float(in)) return value(*f);
  } else if (hint == 'D' || hint == 'S') {
    std::string plain;
    for (char c : in)
      if (c != '_') plain += c;
    if (auto i = taskstep::detail::parse_go_int(plain)) return value(*i);
    if (auto u = taskstep::detail::parse_go_uint(plain)) return value(*u);
    if (yaml_style_float(plain))
      if (auto f = taskstep::detail::parse_go_float(plain)) return value(*f);
    // "-0b…" / "0b…" beyond ParseInt's reach fall through to a string, as in go-yaml.
  }
  return value(in);
}

// go-yaml's parseTimestamp layouts: 2006-1-2, then optional [Tt ]15:4:5[.fraction][Z|±hh[:mm]].
inline bool looks_like_timestamp(std::string_view s) {
  std::size_t i = 0;
  auto digits = [&](std::size_t min, std::size_t max) {
    std::size_t n = 0;
    while (i < s.size() && n < max && s[i] >= '0' && s[i] <= '9') ++i, ++n;
    return n >= min;
  };
  auto lit = [&](char c) { return i < s.size() && s[i] == c ? (++i, true) : false; };
  if (!(digits(4, 4) && lit('-') && digits(1, 2) && lit('-') && digits(1, 2))) return false;
  if (i == s.size()) return true;
  if (!(lit('T') || lit('t') || lit(' '))) return false;
  if (!(digits(1, 2) && lit(':') && digits(1, 2) && lit(':') && digits(1, 2))) return false;
  if (lit('.') && !digits(1, 9)) return false;
  if (i == s.size() || lit('Z')) return i == s.size();
  if (!(lit('+') || lit('-'))) return false;
  if (!digits(1, 2)) return false;
  if (lit(':') && !digits(2, 2)) return false;
  return i == s.size();
}

// The tag go-yaml gives a resolved value (for `cannot decode !!x ... as a !!y`).
inline std::string_view resolved_tag(const value& v) {
  switch (v.type()) {
    case value::kind::null: return "!!null";
    case value::kind::boolean: return "!!bool";
    case value::kind::integer:
    case value::kind::unsigned_integer: return "!!int";
    case value::kind::floating: return "!!float";
    default: return v.is_string() && looks_like_timestamp(v.as_string()) ? "!!timestamp" : "!!str";
  }
}

// Go's base64.StdEncoding.DecodeString, which skips \r and \n.
inline bool decode_base64(std::string_view in, std::string& out) {
  std::string clean;
  for (char c : in)
    if (c != '\r' && c != '\n') clean += c;
  if (clean.size() % 4 != 0) return false;
  auto sextet = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  for (std::size_t i = 0; i < clean.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = clean[i + static_cast<std::size_t>(k)];
      if (c == '=' && i + 4 == clean.size() && k >= 2) {
        v[k] = 0;
        ++pad;
        continue;
      }
      if (pad > 0) return false;
      v[k] = sextet(c);
      if (v[k] < 0) return false;
    }
    const unsigned n = (static_cast<unsigned>(v[0]) << 18) | (static_cast<unsigned>(v[1]) << 12) |
                       (static_cast<unsigned>(v[2]) << 6) | static_cast<unsigned>(v[3]);
    out += static_cast<char>((n >> 16) & 0xff);
    if (pad < 2) out += static_cast<char>((n >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(n & 0xff);
  }
  return true;
}

//! go-yaml's resolution of one scalar node, including explicit tags (`!!str`, `!!int`, `!!binary`…);
//! a tag its text does not fit is `cannot decode !!str `abc` as a !!int`.
inline result<value> resolve_scalar(const node& n) {
  if (n.tag.empty() || n.tag == "!") {
    if (!n.implicit) return value(n.text);
    return resolve_plain(n.text);
  }
  const std::string t = short_tag(n.tag);
  if (t == "!!str") return value(n.text);
  if (t == "!!binary") {
    std::string bytes;
    if (!decode_base64(n.text, bytes)) return fail(errc::yaml_syntax, "!!binary value contains invalid base64 data");
    return value(std::move(bytes));
  }
  if (t == "!!null" || t == "!!bool" || t == "!!int" || t == "!!float" || t == "!!timestamp") {
    value v = resolve_plain(n.text);
    const std::string_view rtag = resolved_tag(v);
    if (rtag == t) return v;
    if (t == "!!float" && v.type() == value::kind::integer)
      return value(static_cast<double>(std::get<std::int64_t>(v.data)));
    return fail(errc::yaml_syntax, "cannot decode " + std::string(rtag) + " `" + n.text + "` as a " + t);
  }
  return value(n.text);  // other tags decode as their text
}

class composer {
 public:
  explicit composer(bool strict) : strict_(strict) {}

  result<value> run(std::string_view text) {
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) return fail(errc::yaml_syntax, "yaml: out of memory");
    if (text.data() == nullptr) text = std::string_view("", 0);  // libyaml asserts on a null input
    yaml_parser_set_input_string(&parser, reinterpret_cast<const unsigned char*>(text.data()), text.size());
    text_view_ = text;
    parser_ = &parser;
    node* root = nullptr;
    bool ok = next() && expect(YAML_STREAM_START_EVENT);
    if (ok) {
      ok = next();
      if (ok && event_type_ == YAML_DOCUMENT_START_EVENT) {
        ok = next() && (root = parse_node()) != nullptr;
        ok = ok && next() && expect(YAML_DOCUMENT_END_EVENT);
      }
    }
    yaml_parser_delete(&parser);
    if (!ok) return fail(errc::yaml_syntax, "yaml: " + error_);
    if (root == nullptr) return value();
    value out;
    if (!decode(*root, out)) return fail(errc::yaml_syntax, "yaml: " + error_);
    if (!terrors_.empty()) {
      std::string msg = "yaml: unmarshal errors:";
      for (const auto& e : terrors_) msg += "\n  " + e;
      return fail(errc::yaml_syntax, msg);
    }
    return out;
  }

 private:
  bool next() {
    yaml_event_t ev;
    if (!yaml_parser_parse(parser_, &ev)) {
      parser_error();
      return false;
    }
    event_type_ = ev.type;
    line_ = static_cast<int>(ev.start_mark.line);
    index_ = ev.start_mark.index;
    flow_ = (ev.type == YAML_SEQUENCE_START_EVENT && ev.data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE) ||
            (ev.type == YAML_MAPPING_START_EVENT && ev.data.mapping_start.style == YAML_FLOW_MAPPING_STYLE);
    tag_.clear();
    anchor_.clear();
    text_.clear();
    implicit_ = false;
    auto str = [](const yaml_char_t* p) { return p ? std::string(reinterpret_cast<const char*>(p)) : std::string(); };
    switch (ev.type) {
      case YAML_SCALAR_EVENT:
        text_.assign(reinterpret_cast<const char*>(ev.data.scalar.value), ev.data.scalar.length);
        tag_ = str(ev.data.scalar.tag);
        anchor_ = str(ev.data.scalar.anchor);
        implicit_ = ev.data.scalar.plain_implicit != 0;
        break;
      case YAML_SEQUENCE_START_EVENT:
        tag_ = str(ev.data.sequence_start.tag);
        anchor_ = str(ev.data.sequence_start.anchor);
        break;
      case YAML_MAPPING_START_EVENT:
        tag_ = str(ev.data.mapping_start.tag);
        anchor_ = str(ev.data.mapping_start.anchor);
        break;
      case YAML_ALIAS_EVENT: anchor_ = str(ev.data.alias.anchor); break;
      default: break;
    }
    yaml_event_delete(&ev);
    return true;
  }

  // go-yaml's parser.fail(): parser errors report the 0-based problem line, scanner errors 1-based.
  void parser_error() {
    int line = 0;
    if (parser_->problem_mark.line != 0) {
      line = static_cast<int>(parser_->problem_mark.line);
      if (parser_->error == YAML_SCANNER_ERROR) ++line;
    } else if (parser_->context_mark.line != 0) {
      line = static_cast<int>(parser_->context_mark.line);
    }
    error_.clear();
    if (line != 0) error_ = "line " + std::to_string(line) + ": ";
    error_ += parser_->problem ? parser_->problem : "unknown problem parsing YAML content";
  }

  bool expect(yaml_event_type_t t) {
    if (event_type_ == t) return true;
    error_ = "did not find expected event";
    return false;
  }

  node* make(node::kind k) {
    nodes_.emplace_back();
    node* n = &nodes_.back();
    n->k = k;
    n->tag = tag_;
    n->line = line_;
    n->index = index_;
    n->flow = flow_;
    if (!anchor_.empty()) anchors_[anchor_] = n;
    return n;
  }

  node* parse_node() {
    switch (event_type_) {
      case YAML_SCALAR_EVENT: {
        node* n = make(node::kind::scalar);
        n->text = text_;
        n->implicit = implicit_;
        return n;
      }
      case YAML_ALIAS_EVENT: {
        auto it = anchors_.find(anchor_);
        if (it == anchors_.end()) {
          error_ = "unknown anchor '" + anchor_ + "' referenced";
          return nullptr;
        }
        node* n = make_alias(it->second);
        return n;
      }
      case YAML_SEQUENCE_START_EVENT:
      case YAML_MAPPING_START_EVENT: {
        if (depth_ >= max_depth) {  // go-yaml stops at 10000 levels; our stack budget is smaller
          error_ = "line " + std::to_string(line_ + 1) + ": exceeded max depth of " + std::to_string(max_depth);
          return nullptr;
        }
        struct depth_guard {
          int& d;
          explicit depth_guard(int& x) : d(++x) {}
          ~depth_guard() { --d; }
        } guard(depth_);
        const bool is_map = event_type_ == YAML_MAPPING_START_EVENT;
        node* n = make(is_map ? node::kind::mapping : node::kind::sequence);
        const auto end = is_map ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT;
        while (true) {
          if (!next()) return nullptr;
          if (event_type_ == end) break;
          node* child = parse_node();
          if (child == nullptr) return nullptr;
          if (is_map && n->children.size() % 2 == 0 && !implicit_key_ok(*child)) {
            error_ = (child->line != 0 ? "line " + std::to_string(child->line) + ": " : std::string()) +
                     (n->flow ? "did not find expected ',' or '}'" : "did not find expected key");
            return nullptr;
          }
          n->children.push_back(child);
        }
        return n;
      }
      default: error_ = "unexpected event"; return nullptr;
    }
  }

  // go-yaml's older libyaml does not take an empty flow collection (`[]`, `{}`) as an implicit
  // (`?`-less) key; libyaml 0.2.5 does. Reject it the way go-yaml's parser does.
  bool implicit_key_ok(const node& key) const {
    if (!key.flow || !key.children.empty()) return true;
    std::size_t i = key.index;
    while (i > 0 && (text_view_[i - 1] == ' ' || text_view_[i - 1] == '\t')) --i;
    return i > 0 && text_view_[i - 1] == '?';
  }

  node* make_alias(node* target) {
    nodes_.emplace_back();
    node* n = &nodes_.back();
    n->k = node::kind::alias;
    n->line = line_;
    n->text = anchor_;
    n->target = target;
    return n;
  }

  static bool is_merge(const node& n) {
    return n.k == node::kind::scalar && n.text == "<<" && (n.implicit || short_tag(n.tag) == "!!merge");
  }

  // go-yaml v3's allowed share of alias-expanded nodes: 99% up to 400,000 decoded nodes, falling
  // linearly to 10% at 4,000,000, so a small document cannot expand into a large tree.
  static double allowed_alias_ratio(std::size_t decoded) {
    constexpr double low = 400'000, high = 4'000'000;
    const auto d = static_cast<double>(decoded);
    if (d <= low) return 0.99;
    if (d >= high) return 0.10;
    return 0.99 - 0.89 * ((d - low) / (high - low));
  }

  bool excessive_aliasing() {
    error_ = "document contains excessive aliasing";
    return false;
  }

  // Counts one decoded node (go-yaml's decodeCount/aliasCount) and fails early on an alias bomb.
  bool count_node(const node& n) {
    ++decode_count_;
    if (alias_depth_ > 0) {
      ++alias_count_;
      if (n.k == node::kind::scalar) alias_bytes_ += n.text.size();
    }
    if (alias_count_ > 100 && decode_count_ > 1000 &&
        static_cast<double>(alias_count_) / static_cast<double>(decode_count_) > allowed_alias_ratio(decode_count_))
      return excessive_aliasing();
    // go-yaml shares strings between alias copies; we copy them, so bound the bytes copied too.
    if (alias_bytes_ > max_alias_bytes) return excessive_aliasing();
    return true;
  }

  // Enters the anchor an alias names, refusing one that contains itself.
  bool enter_alias(const node& alias) {
    for (const node* a : active_aliases_)
      if (a == alias.target) {
        error_ = "anchor '" + alias.text + "' value contains itself";
        return false;
      }
    active_aliases_.push_back(alias.target);
    ++alias_depth_;
    return true;
  }
  void leave_alias() {
    active_aliases_.pop_back();
    --alias_depth_;
  }

  bool decode(const node& n, value& out) {
    if (!count_node(n)) return false;
    switch (n.k) {
      case node::kind::scalar: {
        auto v = resolve_scalar(n);
        if (!v) {
          error_ = v.error().message();
          return false;
        }
        out = std::move(*v);
        return true;
      }
      case node::kind::alias: {
        if (!enter_alias(n)) return false;
        const bool ok = decode(*n.target, out);
        leave_alias();
        return ok;
      }
      default: break;
    }
    // Aliases can nest a tree deeper than the text does: bound the depth of the result too.
    if (value_depth_ >= max_depth) {
      error_ = "exceeded max depth of " + std::to_string(max_depth);
      return false;
    }
    ++value_depth_;
    const bool ok = decode_collection(n, out);
    --value_depth_;
    return ok;
  }

  bool decode_collection(const node& n, value& out) {
    switch (n.k) {
      case node::kind::sequence: {
        sequence seq;
        seq.reserve(n.children.size());
        for (const node* c : n.children) {
          seq.emplace_back();
          if (!decode(*c, seq.back())) return false;
        }
        out = value(std::move(seq));
        return true;
      }
      case node::kind::mapping: {
        out = value(mapping{});
        mapping_index index;
        return decode_into(n, out, index);
      }
      default: return true;
    }
  }

  // Decodes mapping node `n` into the existing map `out` (merge keys reuse it, as go-yaml does);
  // `index` indexes the keys of `out`.
  bool decode_into(const node& n, value& out, mapping_index& index) {
    for (std::size_t i = 0; i + 1 < n.children.size(); i += 2) {
      const node& kn = *n.children[i];
      const node& vn = *n.children[i + 1];
      if (is_merge(kn)) {
        if (!merge(vn, out, index)) return false;
        continue;
      }
      value k;
      if (!decode(kn, k)) return false;
      if (k.is_mapping() || k.is_sequence()) {
        error_ = "invalid map key: " + go_sharp_v(k);
        return false;
      }
      value v;
      if (!decode(vn, v)) return false;
      if (map_entry* existing = index.find(out.as_mapping(), k)) {
        if (strict_) {
          terrors_.push_back("line " + std::to_string(vn.line + 1) + ": key " + go_sharp_v(k) +
                             " already set in map");
        } else {
          existing->val = std::move(v);
        }
        continue;
      }
      index.add(out.as_mapping(), std::move(k), std::move(v));
    }
    return true;
  }

  // Merges one aliased map into `out`, counted and checked like any alias.
  bool merge_alias(const node& alias, value& out, mapping_index& index) {
    if (!count_node(alias) || !enter_alias(alias)) return false;
    const bool ok = count_node(*alias.target) && decode_into(*alias.target, out, index);
    leave_alias();
    return ok;
  }

  bool merge(const node& n, value& out, mapping_index& index) {
    auto want_map = [&] {
      error_ = "map merge requires map or sequence of maps as the value";
      return false;
    };
    auto resolved = [](const node& x) -> const node& { return x.k == node::kind::alias ? *x.target : x; };
    switch (n.k) {
      case node::kind::mapping: return count_node(n) && decode_into(n, out, index);
      case node::kind::alias:
        if (resolved(n).k != node::kind::mapping) return want_map();
        return merge_alias(n, out, index);
      case node::kind::sequence:
        for (std::size_t i = n.children.size(); i-- > 0;) {
          const node& c = *n.children[i];
          if (resolved(c).k != node::kind::mapping) return want_map();
          const bool ok = c.k == node::kind::alias ? merge_alias(c, out, index)
                                                   : count_node(c) && decode_into(c, out, index);
          if (!ok) return false;
        }
        return true;
      default: return want_map();
    }
  }

  bool strict_;
  yaml_parser_t* parser_ = nullptr;
  yaml_event_type_t event_type_ = YAML_NO_EVENT;
  int line_ = 0;
  std::size_t index_ = 0;
  bool flow_ = false;
  std::string_view text_view_;
  std::string tag_, anchor_, text_;
  bool implicit_ = false;
  std::string error_;
  std::deque<node> nodes_;
  std::unordered_map<std::string, node*> anchors_;
  std::vector<const node*> active_aliases_;
  std::vector<std::string> terrors_;
  std::size_t decode_count_ = 0;
  std::size_t alias_count_ = 0;
  std::size_t alias_bytes_ = 0;
  int alias_depth_ = 0;
  static constexpr int max_depth = taskstep::max_depth;
  int depth_ = 0;        // nesting of the text
  int value_depth_ = 0;  // nesting of the decoded tree (aliases included)

 public:
  //! Scalar bytes that alias expansion may copy before `document contains excessive aliasing`.
  static constexpr std::size_t max_alias_bytes = std::size_t{64} << 20;
};

}  // namespace detail

//! Reads the first YAML document of `text` as go-yaml v2 does into `interface{}`.
//! `strict` = `yaml.UnmarshalStrict` (duplicate keys are errors); otherwise later keys win.
//! An empty document is a null value. Errors read `yaml: ...` as go-yaml's do.
inline result<value> parse(std::string_view text, bool strict = true) {
  return detail::composer(strict).run(text);
}

}  // namespace taskstep::yaml
