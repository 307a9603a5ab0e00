#pragma once
//! \file
//! `((var))` interpolation over a value tree, as Concourse 6.7's `vars.Template.Evaluate` and
//! `vars.TemplateResolver` do it.
//!
//! - A string that is exactly one reference is replaced by the value with its type; references inside
//!   a larger string take strings and integers only (`cannot interpolate non-primitive value (T) from
//!   var: x`). Map values are interpolated, then their keys.
//! - Field paths walk maps (`missing field 'f' in var: x.f`, `cannot access field ...`).
//! - Undefined references are reported by their full text, sorted: `undefined vars: a, b.c`.
//! - The deprecated `{{name}}` form is resolved first, from static sources only, with the JSON text of
//!   the value, or `null` / an `unbound variable in template` error when missing.

#include <algorithm>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "taskstep/core/json.hpp"
#include "taskstep/core/result.hpp"
#include "taskstep/core/value.hpp"
#include "taskstep/vars/reference.hpp"
#include "taskstep/vars/variables.hpp"

namespace taskstep::vars {

//! The bounds of one evaluation (defaults: `max_interpolated_bytes`, `max_interpolation_work`).
//! Smaller bounds make hostile input stop sooner (the fuzzer uses them), with messages naming the bound.
struct interpolation_limits {
  std::size_t max_bytes = std::size_t{64} << 20;  //!< see `max_interpolated_bytes`
  std::size_t max_work = std::size_t{256} << 20;  //!< see `max_interpolation_work`
};

//! How strict an evaluation is (`vars.EvaluateOpts` plus the resolver's old-style switch).
struct evaluate_options {
  bool expect_all_keys = true;         //!< undefined references are an error
  bool expect_all_used = false;        //!< unused variables are an error
  bool allow_empty_old_style = true;   //!< missing `{{x}}` become `null` instead of an error
  interpolation_limits limits{};       //!< output and work bounds
  bool old_style = true;               //!< resolve `{{x}}` at all (a dialect's `old_style_vars`; gone in 8.0)
  reference_syntax syntax = reference_syntax::concourse_6_7;  //!< how names split (a dialect's `reference_syntax`)
  //! 7.1: static vars answer only references without a source (a dialect's `sourced_refs_skip_static`).
  bool sourced_refs_unanswered = false;
};

//! go-multierror's text for a list of errors.
inline std::string multi_error_text(const std::vector<std::string>& errors) {
  if (errors.size() == 1) return "1 error occurred:\n\t* " + errors[0] + "\n\n";
  std::string out = std::to_string(errors.size()) + " errors occurred:\n\t";
  for (std::size_t i = 0; i < errors.size(); ++i) {
    if (i != 0) out += "\n\t";
    out += "* " + errors[i];
  }
  return out + "\n\n";
}

//! The most bytes one interpolated document may hold: strings that references were substituted
//! into, whole values inserted by a reference (strings plus 8 bytes per other node), `{{x}}`
//! replacements. Concourse substitutes a string's references one after another over the result, so
//! `x: ((x))((x))` doubles a string per reference; past this bound evaluation stops with
//! `interpolated config exceeds 67108864 bytes`.
inline constexpr std::size_t max_interpolated_bytes = interpolation_limits{}.max_bytes;
//! The most bytes substitution may scan and copy (intermediate strings included) in one evaluation;
//! past it: `interpolation exceeds 268435456 bytes of work`.
inline constexpr std::size_t max_interpolation_work = interpolation_limits{}.max_work;

namespace detail {

inline error interpolated_too_large(std::size_t max_bytes) {
  return error(errc::interpolation, "interpolated config exceeds " + std::to_string(max_bytes) + " bytes");
}
inline error interpolation_too_long(std::size_t max_work) {
  return error(errc::interpolation, "interpolation exceeds " + std::to_string(max_work) + " bytes of work");
}

// Bytes counted against `max_interpolated_bytes` for a value (stops counting past `limit`), and its depth.
inline std::size_t tree_bytes(const value& v, std::size_t limit) {
  if (v.is_string()) return v.as_string().size();
  std::size_t n = 8;
  if (v.is_sequence()) {
    for (const auto& e : v.as_sequence())
      if ((n += tree_bytes(e, limit)) > limit) return n;
  } else if (v.is_mapping()) {
    for (const auto& e : v.as_mapping())
      if ((n += tree_bytes(e.key, limit) + tree_bytes(e.val, limit)) > limit) return n;
  }
  return n;
}
inline int tree_depth(const value& v) {
  int d = 0;
  if (v.is_sequence())
    for (const auto& e : v.as_sequence()) d = std::max(d, tree_depth(e));
  else if (v.is_mapping())
    for (const auto& e : v.as_mapping()) d = std::max(d, std::max(tree_depth(e.key), tree_depth(e.val)));
  return v.is_sequence() || v.is_mapping() ? d + 1 : 0;
}

template <variable_source V>
class evaluator {
 public:
  explicit evaluator(const V& vars, interpolation_limits limits = {},
                     reference_syntax syntax = reference_syntax::concourse_6_7, bool sourced_refs_unanswered = false)
      : vars_(vars), limits_(limits), syntax_(syntax), sourced_refs_unanswered_(sourced_refs_unanswered) {}

  result<value> run(value node) {
    auto out = walk(std::move(node), 0);
    if (!out) return out;
    if (!missing_.empty()) {
      std::string msg = "undefined vars: ";
      bool first = true;
      for (const auto& m : missing_) {
        if (!first) msg += ", ";
        first = false;
        msg += m;
      }
      missing_error_ = msg;
    }
    return out;
  }

  std::optional<std::string> missing_error_;
  std::set<std::string> visited_;

 private:
  // Counts `n` produced bytes; false past the bound.
  bool produce(std::size_t n) {
    produced_ += n;
    return produced_ <= limits_.max_bytes;
  }
  bool work(std::size_t n) {
    work_ += n;
    return work_ <= limits_.max_work;
  }

  // Concourse re-tests the string built so far for being exactly one reference, once per reference,
  // over a string that may have grown to megabytes: `((name))` holds no `)` before its end, so a
  // memchr for the first `)` settles almost every case; the scan is counted as work.
  bool whole_reference(const std::string& s) {
    if (s.size() < 5 || s[0] != '(' || s[1] != '(' || s[s.size() - 2] != ')' || s.back() != ')') return false;
    const std::size_t close = s.find(')', 2);
    if (!work(close) || close != s.size() - 2) return false;
    return work(s.size()) && is_whole_reference(s);
  }

  result<value> walk(value node, int depth) {
    if (node.is_mapping()) {
      // Concourse edits the map in place: an entry whose key was interpolated replaces a literal entry
      // of the same name whatever their order, so changed keys are set last.
      value out(mapping{}, node.origin);
      mapping_index index;
      std::vector<map_entry> moved;
      for (auto& e : node.as_mapping()) {
        const value original_key = e.key;
        auto v = walk(std::move(e.val), depth + 1);
        if (!v) return v;
        auto k = walk(std::move(e.key), depth + 1);
        if (!k) return k;
        if (*k == original_key) index.set(out.as_mapping(), std::move(*k), std::move(*v));
        else moved.push_back(map_entry{std::move(*k), std::move(*v)});
      }
      for (auto& e : moved) index.set(out.as_mapping(), std::move(e.key), std::move(e.val));
      return out;
    }
    if (node.is_sequence()) {
      for (auto& e : node.as_sequence()) {
        auto v = walk(std::move(e), depth + 1);
        if (!v) return v;
        e = std::move(*v);
      }
      return node;
    }
    if (!node.is_string()) return node;
    std::string s = node.as_string();
    bool changed = false;
    for (const auto& ref : find_references(node.as_string())) {
      if (work_ > limits_.max_work) return fail(interpolation_too_long(limits_.max_work));
      auto found = get(ref.name);
      if (!found) return fail(found.error());
      if (!found->has_value()) continue;
      value& v = **found;
      if (whole_reference(s)) {
        if (!produce(tree_bytes(v, limits_.max_bytes))) return fail(interpolated_too_large(limits_.max_bytes));
        if (depth + tree_depth(v) > max_depth)
          return fail(errc::interpolation,
                      "exceeded max depth of " + std::to_string(max_depth) + " interpolating var: " + ref.name);
        return std::move(v);
      }
      std::string text;
      switch (v.type()) {
        case value::kind::string: text = v.as_string(); break;
        case value::kind::integer: text = std::to_string(std::get<std::int64_t>(v.data)); break;
        case value::kind::unsigned_integer: text = std::to_string(std::get<std::uint64_t>(v.data)); break;
        default:
          return fail(errc::interpolation, "cannot interpolate non-primitive value (" +
                                               std::string(go_type_name(v)) + ") from var: " + ref.name);
      }
      const std::string needle = "((" + ref.name + "))";
      // Size the result before building it: a string may double per reference.
      std::size_t hits = 0;
      for (auto hit = s.find(needle); hit != std::string::npos; hit = s.find(needle, hit + needle.size())) ++hits;
      if (!work(s.size())) return fail(interpolation_too_long(limits_.max_work));
      if (hits == 0) continue;
      const std::size_t room = limits_.max_bytes - std::min(produced_, limits_.max_bytes);
      const std::size_t kept = s.size() - hits * needle.size();
      if (text.size() != 0 && hits > (room - std::min(room, kept)) / text.size()) return fail(interpolated_too_large(limits_.max_bytes));
      if (kept > room) return fail(interpolated_too_large(limits_.max_bytes));
      std::string replaced;
      replaced.reserve(kept + hits * text.size());
      std::size_t pos = 0;
      for (auto hit = s.find(needle); hit != std::string::npos; hit = s.find(needle, pos)) {
        replaced.append(s, pos, hit - pos);
        replaced += text;
        pos = hit + needle.size();
      }
      replaced.append(s, pos);
      if (!work(replaced.size())) return fail(interpolation_too_long(limits_.max_work));
      s = std::move(replaced);
      changed = true;
    }
    if (changed && !produce(s.size())) return fail(interpolated_too_large(limits_.max_bytes));
    return value(std::move(s));
  }

  // varsTracker.Get: look the path up, then walk the fields.
  lookup_result get(const std::string& name) {
    if (syntax_ != reference_syntax::concourse_6_7) return get_v7(name);
    const var_reference ref = parse_reference(name);
    visited_.insert(identifier(ref));
    auto r = vars_.get(ref);
    if (!r || !r->has_value()) {
      missing_.insert(ref.name);
      return r;
    }
    value v = std::move(**r);
    for (const auto& seg : ref.fields) {
      if (!v.is_mapping())
        return fail(errc::var_lookup, "cannot access field '" + seg + "' of non-map value ('" +
                                          std::string(go_type_name(v)) + "') from var: " + name);
      const value* next = v.find(value(seg));
      if (next == nullptr) return fail(errc::var_lookup, "missing field '" + seg + "' in var: " + name);
      value tmp = *next;
      v = std::move(tmp);
    }
    return std::optional<value>(std::move(v));
  }

  // 7.x tracker.Get: ParseReference (its errors end the evaluation), missing names and field errors
  // named by Reference.String(), fields walked by the static source (same messages).
  lookup_result get_v7(const std::string& name) {
    auto parsed = parse_reference(name, syntax_);
    if (!parsed) return fail(parsed.error());
    const var_reference& ref = *parsed;
    const std::string shown = reference_string(ref);
    visited_.insert(identifier(ref));
    lookup_result r = std::optional<value>();
    if (!(sourced_refs_unanswered_ && !ref.source.empty())) r = vars_.get(ref);
    if (!r || !r->has_value()) {
      missing_.insert(shown);
      return r;
    }
    value v = std::move(**r);
    for (const auto& seg : ref.fields) {
      if (!v.is_mapping())
        return fail(errc::var_lookup, "cannot access field '" + seg + "' of non-map value ('" +
                                          std::string(go_type_name(v)) + "') from var: " + shown);
      const value* next = v.find(value(seg));
      if (next == nullptr) return fail(errc::var_lookup, "missing field '" + seg + "' in var: " + shown);
      value tmp = *next;
      v = std::move(tmp);
    }
    return std::optional<value>(std::move(v));
  }

  const V& vars_;
  interpolation_limits limits_;
  reference_syntax syntax_;
  bool sourced_refs_unanswered_;
  std::set<std::string> missing_;
  std::size_t produced_ = 0;
  std::size_t work_ = 0;
};

inline constexpr bool old_style_char(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '-';
}

// Calls f(begin, end, name) for each `{{name}}` (name: `[-\w\p{L}]+`) in s, leftmost first.
template <class F>
void for_each_old_style(std::string_view s, F&& f) {
  std::size_t i = 0;
  while (i + 1 < s.size()) {
    if (s[i] != '{' || s[i + 1] != '{') {
      ++i;
      continue;
    }
    std::size_t j = i + 2;
    while (j < s.size()) {
      const auto c = static_cast<unsigned char>(s[j]);
      if (c < 0x80) {
        if (!old_style_char(c)) break;
        ++j;
      } else {
        std::size_t k = j;
        const long cp = taskstep::detail::decode_utf8(s, k);
        if (cp < 0 || !taskstep::detail::is_unicode_letter(static_cast<std::uint32_t>(cp))) break;
        j = k;
      }
    }
    if (j > i + 2 && j + 1 < s.size() && s[j] == '}' && s[j + 1] == '}') {
      f(i, j + 2, std::string(s.substr(i + 2, j - i - 2)));
      i = j + 2;
    } else {
      ++i;
    }
  }
}

inline bool holds_yaml_map(const value& v) {
  if (v.is_mapping())
    return v.origin == value::map_kind::yaml ||
           std::any_of(v.as_mapping().begin(), v.as_mapping().end(), [](const map_entry& e) { return holds_yaml_map(e.val); });
  if (v.is_sequence())
    return std::any_of(v.as_sequence().begin(), v.as_sequence().end(), [](const value& e) { return holds_yaml_map(e); });
  return false;
}

inline bool has_old_style(const value& v) {
  if (v.is_string()) {
    bool found = false;
    for_each_old_style(v.as_string(), [&](auto, auto, const std::string&) { found = true; });
    return found;
  }
  if (v.is_sequence())
    return std::any_of(v.as_sequence().begin(), v.as_sequence().end(), [](const value& e) { return has_old_style(e); });
  if (v.is_mapping())
    return std::any_of(v.as_mapping().begin(), v.as_mapping().end(),
                       [](const map_entry& e) { return has_old_style(e.key) || has_old_style(e.val); });
  return false;
}

inline value resolve_old_style(value v, const std::vector<const static_vars*>& statics, bool allow_empty,
                               std::vector<std::string>& errors, std::size_t& produced, std::size_t max_bytes) {
  if (v.is_string()) {
    if (produced > max_bytes) return v;  // already failed
    const std::string& s = v.as_string();
    std::string out;
    std::size_t pos = 0;
    for_each_old_style(s, [&](std::size_t b, std::size_t e, const std::string& name) {
      out.append(s, pos, b - pos);
      pos = e;
      for (const static_vars* src : statics) {  // the first static source that has it wins
        auto it = src->values().find(name);
        if (it != src->values().end()) {
          // json.Marshal fails on go-yaml maps and NaN/Inf; Concourse then inserts nothing.
          auto json = holds_yaml_map(it->second) ? result<std::string>(fail(errc::decode, "")) : to_json(it->second);
          if (json && produced <= max_bytes) {
            if (produced + out.size() + json->size() > max_bytes) {
              produced = max_bytes + 1;
              errors.push_back(interpolated_too_large(max_bytes).message());
              return;
            }
            out += *json;
          }
          return;
        }
      }
      if (!allow_empty) {
        errors.push_back("unbound variable in template: '" + name + "'");
        out.append(s, b, e - b);
        return;
      }
      out += "null";
    });
    out.append(s, pos);
    if (pos != 0 && produced <= max_bytes) produced += out.size();
    return value(std::move(out));
  }
  if (v.is_sequence()) {
    for (auto& e : v.as_sequence()) e = resolve_old_style(std::move(e), statics, allow_empty, errors, produced, max_bytes);
  } else if (v.is_mapping()) {
    value out(mapping{}, v.origin);
    mapping_index index;
    for (auto& e : v.as_mapping()) {
      auto key = resolve_old_style(std::move(e.key), statics, allow_empty, errors, produced, max_bytes);
      index.set(out.as_mapping(), std::move(key),
                resolve_old_style(std::move(e.val), statics, allow_empty, errors, produced, max_bytes));
    }
    return out;
  }
  return v;
}

}  // namespace detail

//! Resolves `{{name}}` and `((name))` references in `tree` with `vars` (`TemplateResolver.Resolve`).
template <class V>
result<value> evaluate(value tree, const V& vars, evaluate_options opts = {}) {
  static_assert(variable_source<V>, TASKSTEP_VARIABLE_SOURCE_MESSAGE);
  if (opts.old_style && detail::has_old_style(tree)) {
    std::vector<const static_vars*> statics;
    detail::collect_statics(vars, statics);
    std::vector<std::string> errors;
    std::size_t produced = 0;
    tree = detail::resolve_old_style(std::move(tree), statics, opts.allow_empty_old_style, errors, produced,
                                     opts.limits.max_bytes);
    if (!errors.empty()) return fail(errc::undefined_vars, multi_error_text(errors));
  }
  detail::evaluator<V> ev(vars, opts.limits, opts.syntax, opts.sourced_refs_unanswered);
  auto out = ev.run(std::move(tree));
  if (!out) return out;
  std::optional<std::string> unused;
  if (opts.expect_all_used) {
    std::set<std::string> names;
    for (const auto& ref : vars.list())
      if (!ev.visited_.count(identifier(ref))) names.insert(identifier(ref));
    if (!names.empty()) {
      std::string msg = "unused vars: ";
      bool first = true;
      for (const auto& n : names) {
        if (!first) msg += ", ";
        first = false;
        msg += n;
      }
      unused = msg;
    }
  }
  std::optional<std::string> missing = opts.expect_all_keys ? ev.missing_error_ : std::nullopt;
  if (missing && unused) return fail(errc::undefined_vars, multi_error_text({*missing, *unused}));
  if (missing) return fail(errc::undefined_vars, *missing);
  if (unused) return fail(errc::undefined_vars, *unused);
  return out;
}

}  // namespace taskstep::vars
