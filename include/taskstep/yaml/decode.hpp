#pragma once
//! \file
//! Task config ⇄ `taskstep::value`, written once for every field by reflecting the core structs
//! (Boost.Hana). Decoding reproduces Concourse's `yaml.UnmarshalStrict(bytes, &config,
//! yaml.DisallowUnknownFields)` from sigs.k8s.io/yaml, i.e. three Go layers:
//!   1. go-yaml v2 parse (yaml/parse.hpp);
//!   2. YAML → JSON conversion guided by the target struct: keys stringified, numbers and booleans
//!      stringified where the field is a string (floats at float32 precision), NaN/Inf rejected;
//!   3. encoding/json decode with unknown fields disallowed and case-insensitive key matching: keys are
//!      visited in sorted order and the first type/unknown-field error is reported, errors from custom
//!      decoders (params, container_limits) stop decoding at once.
//! Encoding is `json.Marshal(config)`: Go field order, omitempty where the Go struct has it.
//!
//! Every function takes the Concourse dialect `D` (core/dialect.hpp) as its first template
//! parameter, defaulting to 6.7: which fields exist, strictness, coercion, container limits, cache ttl.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/hana/accessors.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/string.hpp>
#include <boost/hana/first.hpp>
#include <boost/hana/second.hpp>
#include <boost/hana/concept/struct.hpp>

#include "taskstep/core/dialect.hpp"
#include "taskstep/core/duration.hpp"
#include "taskstep/core/json.hpp"
#include "taskstep/core/result.hpp"
#include "taskstep/core/task_config.hpp"
#include "taskstep/core/value.hpp"
#include "taskstep/yaml/parse.hpp"

namespace taskstep::yaml {

namespace detail {

namespace hana = boost::hana;

template <class T> struct is_optional : std::false_type {};
template <class T> struct is_optional<std::optional<T>> : std::true_type {};
template <class T> struct is_vector : std::false_type {};
template <class T> struct is_vector<std::vector<T>> : std::true_type {};
template <> struct is_vector<tag_list> : std::true_type {};
template <class T> struct is_json_object : std::false_type {};
template <class Tag> struct is_json_object<json_object<Tag>> : std::true_type {};

template <class T>
concept reflected = hana::Struct<T>::value;

// Go's reflect.Type.String() of the field type, for `... of type X`.
template <class T>
std::string go_type() {
  if constexpr (std::is_same_v<T, tag_list>) return std::string(T::go_name);
  else if constexpr (std::is_same_v<T, std::string>) return "string";
  else if constexpr (std::is_same_v<T, bool>) return "bool";
  else if constexpr (std::is_same_v<T, std::uint64_t>) return "uint64";
  else if constexpr (is_optional<T>::value) return go_type<typename T::value_type>();
  else if constexpr (is_vector<T>::value) return "[]" + go_type<typename T::value_type>();
  else if constexpr (reflected<T>) return "atc." + std::string(T::go_name);
  else return std::string(T::go_name);
}

template <class T>
constexpr bool always_emitted(std::string_view field) {
  for (auto name : T::always_emitted)
    if (name == field) return true;
  return false;
}

inline constexpr bool listed(std::span<const std::string_view> names, std::string_view name) {
  for (auto n : names)
    if (n == name) return true;
  return false;
}

// The fields of T that dialect D has, in its Go order; empty = every member, in declaration order.
template <class D, class T>
constexpr std::span<const std::string_view> field_list() {
  if constexpr (std::is_same_v<T, image_resource>) return D::image_resource_fields;
  else if constexpr (std::is_same_v<T, task_cache_config>) return D::cache_fields;
  else return {};
}

template <class D, class T>
constexpr bool has_field(std::string_view name) {
  constexpr auto list = field_list<D, T>();
  return list.empty() || listed(list, name);
}

// encoding/json's field-name folding: ASCII case-insensitive, and the long s (U+017F) and the Kelvin
// sign (U+212A) fold to `s` and `k`, as Go's equalFoldRight does.
inline bool go_equal_fold(std::string_view field, std::string_view key) {
  auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
  std::size_t k = 0;
  for (char f : field) {
    if (k >= key.size()) return false;
    const auto c = static_cast<unsigned char>(key[k]);
    if (c < 0x80) {
      if (lower(f) != lower(static_cast<char>(c))) return false;
      ++k;
      continue;
    }
    const long cp = taskstep::detail::decode_utf8(key, k);
    if (cp == 0x17F && lower(f) == 's') continue;
    if (cp == 0x212A && lower(f) == 'k') continue;
    return false;
  }
  return k == key.size();
}

// Calls f(name, member) for the field of `obj` that JSON key `key` selects (exact name first, then
// the first case-insensitive match); returns false if there is none.
template <class D, reflected T, class F>
bool with_field(T& obj, std::string_view key, F&& f) {
  bool exact = false;
  hana::for_each(hana::accessors<T>(), [&](auto pair) {
    std::string_view name = hana::to<char const*>(hana::first(pair));
    if (has_field<D, T>(name) && name == key) exact = true;
  });
  bool done = false;
  hana::for_each(hana::accessors<T>(), [&](auto pair) {
    std::string_view name = hana::to<char const*>(hana::first(pair));
    if (done || !has_field<D, T>(name)) return;
    if (exact ? name == key : go_equal_fold(name, key)) {
      done = true;
      f(name, hana::second(pair)(obj));
    }
  });
  return done;
}

// ---- layer 2: YAML → JSON-able tree (sigs.k8s.io/yaml convertToJSONableObject) ----

inline result<void> stringify_keys(value& v);

template <class D, class T>
result<void> convert(value& v);

inline result<void> convert_untyped(value& v) { return stringify_keys(v); }

inline result<std::string> convert_key(map_entry& e) { return json_key_string(e.key, e.val); }

inline result<void> stringify_keys(value& v) {
  if (v.is_sequence()) {
    for (auto& e : v.as_sequence())
      if (auto r = stringify_keys(e); !r) return r;
  } else if (v.is_mapping()) {
    for (auto& e : v.as_mapping()) {
      auto k = convert_key(e);
      if (!k) return fail(k.error());
      e.key = value(std::move(*k));
      if (auto r = stringify_keys(e.val); !r) return r;
    }
  }
  return {};
}

template <class D, class T>
result<void> convert(value& v) {
  if constexpr (is_optional<T>::value) {
    return convert<D, typename T::value_type>(v);
  } else if constexpr (std::is_same_v<T, container_limits> || std::is_same_v<T, task_env> ||
                       is_json_object<T>::value || std::is_same_v<T, bool>) {
    // Custom unmarshalers and non-string leaves get no coercion; only keys are stringified.
    return convert_untyped(v);
  } else if constexpr (std::is_same_v<T, std::string>) {
    switch (v.type()) {
      case value::kind::integer: v = value(std::to_string(std::get<std::int64_t>(v.data))); break;
      case value::kind::unsigned_integer: v = value(std::to_string(std::get<std::uint64_t>(v.data))); break;
      case value::kind::floating: v = value(taskstep::detail::format_float32_g(std::get<double>(v.data))); break;
      case value::kind::boolean: v = value(std::string(std::get<bool>(v.data) ? "true" : "false")); break;
      default: return convert_untyped(v);
    }
    return {};
  } else if constexpr (is_vector<T>::value) {
    if (!v.is_sequence()) return convert_untyped(v);
    for (auto& e : v.as_sequence())
      if (auto r = convert<D, typename T::value_type>(e); !r) return r;
    return {};
  } else if constexpr (std::is_same_v<T, version_map>) {
    if (!v.is_mapping()) return convert_untyped(v);
    for (auto& e : v.as_mapping()) {
      auto k = convert_key(e);
      if (!k) return fail(k.error());
      e.key = value(std::move(*k));
      if (auto r = convert<D, std::string>(e.val); !r) return r;
    }
    return {};
  } else {
    static_assert(reflected<T>, "taskstep: every task config field type needs a conversion rule");
    if (!v.is_mapping()) return convert_untyped(v);
    T probe{};
    for (auto& e : v.as_mapping()) {
      auto k = convert_key(e);
      if (!k) return fail(k.error());
      e.key = value(*k);
      result<void> r{};
      const bool known = with_field<D>(probe, *k, [&](std::string_view, auto& member) {
        r = convert<D, std::remove_cvref_t<decltype(member)>>(e.val);
      });
      if (!known) r = convert_untyped(e.val);
      if (!r) return r;
    }
    return {};
  }
}

// ---- layer 3: encoding/json decode ----

inline std::string_view json_kind(const value& v) {
  switch (v.type()) {
    case value::kind::null: return "null";
    case value::kind::boolean: return "bool";
    case value::kind::string: return "string";
    case value::kind::sequence: return "array";
    case value::kind::mapping: return "object";
    default: return "number";
  }
}

struct decode_state {
  std::optional<std::string> saved;  // first error encoding/json would save and report at the end
  std::optional<std::string> fatal;  // an error returned by a custom unmarshaler: stops decoding
  std::vector<std::string_view> fields;
  std::string_view struct_name;
  std::optional<std::string_view> pinned_struct;  // a nested decode whose errors name the outer struct
  std::vector<std::string> unknown_top;           // 8.1: top-level keys no field has (exact spelling)

  [[nodiscard]] std::string type_error(std::string_view kind, const std::string& type) const {
    if (struct_name.empty() && fields.empty())
      return "json: cannot unmarshal " + std::string(kind) + " into Go value of type " + type;
    std::string path;
    for (auto f : fields) {
      if (!path.empty()) path += '.';
      path += f;
    }
    return "json: cannot unmarshal " + std::string(kind) + " into Go struct field " + std::string(struct_name) +
           "." + path + " of type " + type;
  }
  void save(std::string msg) {
    if (!saved) saved = std::move(msg);
  }
  template <class T>
  void mismatch(const value& v) {
    save(type_error(json_kind(v), go_type<T>()));
  }
};

// JSON object entries as encoding/json meets them: unique keys (a later duplicate wins), sorted.
// Keys are strings here (layer 2 stringified them). O(n log n): a stable sort puts the last of equal
// keys last in its run, and only that one is kept.
inline std::vector<const map_entry*> sorted_entries(const value& v) {
  std::vector<const map_entry*> out;
  out.reserve(v.as_mapping().size());
  for (const auto& e : v.as_mapping()) out.push_back(&e);
  std::stable_sort(out.begin(), out.end(),
                   [](const map_entry* a, const map_entry* b) { return a->key.as_string() < b->key.as_string(); });
  std::size_t kept = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (i + 1 < out.size() && out[i + 1]->key.as_string() == out[i]->key.as_string()) continue;
    out[kept++] = out[i];
  }
  out.resize(kept);
  return out;
}

// A JSON value as Go's json.Unmarshal into interface{} holds it: numbers float64, maps string-keyed.
inline value to_go_interface(const value& v) {
  switch (v.type()) {
    case value::kind::integer: return value(static_cast<double>(std::get<std::int64_t>(v.data)));
    case value::kind::unsigned_integer: return value(static_cast<double>(std::get<std::uint64_t>(v.data)));
    case value::kind::sequence: {
      sequence s;
      for (const auto& e : v.as_sequence()) s.push_back(to_go_interface(e));
      return value(std::move(s));
    }
    case value::kind::mapping: {
      mapping m;
      for (const map_entry* e : sorted_entries(v)) m.push_back(map_entry{e->key, to_go_interface(e->val)});
      return value(std::move(m), value::map_kind::json);
    }
    default: return v;
  }
}

// atc.ParseContainerLimits over the generic JSON value (6.7: one unmarshaler for the whole map).
template <class D>
result<container_limits> parse_container_limits(const value& v) {
  container_limits c;
  if (!v.is_mapping()) return c;
  const value go = to_go_interface(v);
  if (const value* cpu = go.find(value("cpu"))) {
    if (cpu->type() != value::kind::floating) return fail(errc::decode, "cpu limit must be an integer");
    c.cpu = D::limit_from_float(std::get<double>(cpu->data));
  }
  if (const value* mem = go.find(value("memory"))) {
    if (mem->is_string()) {
      auto bytes = D::memory_limit(mem->as_string());
      if (!bytes) return fail(bytes.error());
      c.memory = *bytes;
    } else if (mem->type() == value::kind::floating) {
      c.memory = D::limit_from_float(std::get<double>(mem->data));
    } else {
      c.memory = 0;  // null, bools, lists, maps: present but zero
    }
  }
  return c;
}

//! atc.CoercedString: strings verbatim, null empty, everything else as its JSON text.
inline std::string coerced_string(const value& v) {
  if (v.is_string()) return v.as_string();
  if (v.is_null()) return {};
  auto json = to_json(v);
  return json ? *json : std::string();
}

template <class D, class T>
void decode(const value& v, T& out, decode_state& st);

// The Go struct name type errors about T's fields carry.
template <class D, class T>
constexpr std::string_view struct_name_of() {
  if constexpr (std::is_same_v<T, task_config>) return D::top_struct_name;
  else return T::go_name;
}

template <class D, reflected T>
void decode_struct(const value& v, T& out, decode_state& st) {
  const auto outer = st.struct_name;
  for (const map_entry* e : sorted_entries(v)) {
    const std::string& key = e->key.as_string();
    const bool known = with_field<D>(out, key, [&](std::string_view name, auto& member) {
      st.fields.push_back(name);
      st.struct_name = st.pinned_struct ? *st.pinned_struct : struct_name_of<D, T>();
      decode<D>(e->val, member, st);
      st.fields.pop_back();
      st.struct_name = outer;
    });
    if constexpr (D::unknown_field_errors) {
      if (!known) st.save("json: unknown field " + taskstep::detail::go_quote(key));
    }
    if constexpr (D::unknown_top_level_list && std::is_same_v<T, task_config>) {
      // deleteKnownFields: only the exact json names count as known (`Platform` decodes and is unknown).
      bool exact = false;
      hana::for_each(hana::accessors<T>(), [&](auto pair) {
        if (hana::to<char const*>(hana::first(pair)) == key) exact = true;
      });
      if (!exact) st.unknown_top.push_back(key);
    }
    if (st.fatal) return;
  }
}

// 7.x container limits: a struct of two custom leaves (CPULimit, MemoryLimit) behind pointers.
template <class D>
void decode_limits_per_field(const value& v, std::optional<container_limits>& out, decode_state& st) {
  if (!v.is_mapping()) {
    st.mismatch<container_limits>(v);
    return;
  }
  if (!out) out.emplace();
  for (const map_entry* e : sorted_entries(v)) {
    const std::string& key = e->key.as_string();
    const bool known = with_field<D>(*out, key, [&](std::string_view name, std::optional<std::uint64_t>& member) {
      const value& x = e->val;
      if (x.is_null()) {
        member.reset();  // a null pointer: the limit is omitted
        return;
      }
      const bool number = x.type() == value::kind::integer || x.type() == value::kind::unsigned_integer ||
                          x.type() == value::kind::floating;
      const double f = !number ? 0.0
                       : x.type() == value::kind::integer
                           ? static_cast<double>(std::get<std::int64_t>(x.data))
                           : x.type() == value::kind::unsigned_integer
                                 ? static_cast<double>(std::get<std::uint64_t>(x.data))
                                 : std::get<double>(x.data);
      if (name == "cpu") {
        if (!number) {
          st.fatal = "cpu limit must be an integer";
          return;
        }
        member = D::limit_from_float(f);
      } else if (number) {
        member = D::limit_from_float(f);
      } else if (x.is_string()) {
        auto bytes = D::memory_limit(x.as_string());
        if (!bytes) st.fatal = bytes.error().message();
        else member = *bytes;
      } else {
        member = 0;  // bools, lists, maps: the unmarshaler ignores them, the pointer stays set
      }
    });
    if constexpr (D::unknown_field_errors) {
      if (!known) st.save("json: unknown field " + taskstep::detail::go_quote(key));
    }
    if (st.fatal) return;
  }
}

// 8.2 TaskCacheConfig.UnmarshalJSON: a fresh json.Unmarshal into a local alias type (its errors end
// the outer decode, re-labelled with the outer struct and field path), then the ttl check.
template <class D>
void decode_cache_with_ttl(const value& v, task_cache_config& out, decode_state& st) {
  if (v.is_null()) return;
  decode_state inner;
  inner.pinned_struct = st.struct_name;
  inner.struct_name = st.struct_name;
  inner.fields = st.fields;
  task_cache_config a;
  if (v.is_mapping()) {
    decode_struct<D>(v, a, inner);
  } else {
    inner.save(inner.type_error(json_kind(v), "atc.alias"));
  }
  if (inner.fatal || inner.saved) {
    st.fatal = inner.fatal ? *inner.fatal : *inner.saved;
    return;
  }
  if (!a.ttl.empty()) {
    auto d = parse_duration(a.ttl);
    if (!d) {
      st.fatal = "invalid cache ttl '" + a.ttl + "': " + d.error().message();
      return;
    }
    if (*d < std::chrono::seconds(1)) {
      st.fatal = "cache ttl must be at least 1s, got '" + a.ttl + "'";
      return;
    }
  }
  out = std::move(a);
}

template <class D, class T>
void decode(const value& v, T& out, decode_state& st) {
  if constexpr (std::is_same_v<T, std::optional<container_limits>>) {
    if (v.is_null()) {
      out.reset();
      return;
    }
    if constexpr (D::limits == dialect::limits_decoding::per_field) {
      decode_limits_per_field<D>(v, out, st);
    } else {
      auto limits = parse_container_limits<D>(v);
      if (!limits) st.fatal = limits.error().message();
      else out = *limits;
    }
  } else if constexpr (std::is_same_v<T, task_cache_config> && D::cache_ttl) {
    decode_cache_with_ttl<D>(v, out, st);
  } else if constexpr (is_optional<T>::value) {
    if (v.is_null()) {
      out.reset();
      return;
    }
    if (!out) out.emplace();
    decode<D>(v, *out, st);
  } else if constexpr (std::is_same_v<T, task_env>) {
    // TaskEnv.UnmarshalJSON: json.Unmarshal into map[string]CoercedString; its type error gets the
    // outer field context and ends decoding.
    if (v.is_null()) {
      out.clear();
      return;
    }
    if (!v.is_mapping()) {
      st.fatal = st.type_error(json_kind(v), go_type<task_env>());
      return;
    }
    out.clear();
    for (const map_entry* e : sorted_entries(v)) out[e->key.as_string()] = coerced_string(e->val);
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (v.is_string()) out = v.as_string();
    else if (!v.is_null()) st.mismatch<T>(v);
  } else if constexpr (std::is_same_v<T, bool>) {
    if (v.type() == value::kind::boolean) out = std::get<bool>(v.data);
    else if (!v.is_null()) st.mismatch<T>(v);
  } else if constexpr (is_vector<T>::value) {
    if (v.is_null()) {
      out.clear();
    } else if (v.is_sequence()) {
      // encoding/json decodes into the existing elements (a case-folded duplicate key merges).
      out.resize(v.as_sequence().size());
      for (std::size_t i = 0; i < out.size(); ++i) {
        decode<D>(v.as_sequence()[i], out[i], st);
        if (st.fatal) return;
      }
    } else {
      st.mismatch<T>(v);
    }
  } else if constexpr (std::is_same_v<T, version_map>) {
    if (v.is_null()) {
      out.clear();
    } else if (v.is_mapping()) {
      for (const map_entry* e : sorted_entries(v)) {
        std::string s;
        decode<D>(e->val, s, st);
        out[e->key.as_string()] = std::move(s);
      }
    } else {
      st.mismatch<T>(v);
    }
  } else if constexpr (is_json_object<T>::value) {
    if (v.is_null()) {
      out.data = value();
    } else if (v.is_mapping()) {
      value decoded = to_go_interface(v);
      if (!out.data.is_mapping()) {
        out.data = std::move(decoded);
      } else {  // decoding into an existing map adds to it, as encoding/json does
        mapping_index index(out.data.as_mapping());
        for (auto& e : decoded.as_mapping()) index.set(out.data.as_mapping(), std::move(e.key), std::move(e.val));
      }
    } else {
      st.mismatch<T>(v);
    }
  } else {
    static_assert(reflected<T>, "taskstep: every task config field type needs a decoding rule");
    if (v.is_mapping()) decode_struct<D>(v, out, st);
    else if (!v.is_null()) st.mismatch<T>(v);
  }
}

// ---- encoding: json.Marshal of the struct ----

template <class T>
bool is_empty_value(const T& v) {
  if constexpr (std::is_same_v<T, bool>) return !v;
  else if constexpr (is_optional<T>::value) return !v.has_value();
  else if constexpr (is_json_object<T>::value) return v.data.is_null() || (v.data.is_mapping() && v.data.as_mapping().empty());
  else if constexpr (reflected<T>) return false;  // omitempty never drops a struct value
  else return v.empty();
}

// encoding/json's omitzero (8.0 `run`): every member at its zero value.
template <class T>
bool is_zero_struct(const T& v) {
  bool zero = true;
  hana::for_each(hana::accessors<T>(), [&](auto pair) {
    const auto& member = hana::second(pair)(v);
    if constexpr (std::is_same_v<std::remove_cvref_t<decltype(member)>, bool>) zero = zero && !member;
    else zero = zero && member.empty();
  });
  return zero;
}

template <class D, class T>
value encode(const T& v) {
  if constexpr (is_optional<T>::value) {
    return v ? encode<D>(*v) : value();
  } else if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, bool> ||
                       std::is_same_v<T, std::uint64_t>) {
    return value(v);
  } else if constexpr (is_vector<T>::value) {
    sequence s;
    for (const auto& e : v) s.push_back(encode<D>(e));
    return value(std::move(s));
  } else if constexpr (std::is_same_v<T, version_map> || std::is_same_v<T, task_env>) {
    mapping m;
    for (const auto& [k, val] : v) m.push_back(map_entry{value(k), value(val)});
    return value(std::move(m), value::map_kind::json);
  } else if constexpr (is_json_object<T>::value) {
    return v.data;
  } else {
    static_assert(reflected<T>, "taskstep: every task config field type needs an encoding rule");
    mapping m;
    hana::for_each(hana::accessors<T>(), [&](auto pair) {
      std::string_view name = hana::to<char const*>(hana::first(pair));
      const auto& member = hana::second(pair)(v);
      if (!has_field<D, T>(name)) return;
      if constexpr (std::is_same_v<std::remove_cvref_t<decltype(member)>, task_run_config>) {
        if (D::run_omit_zero && is_zero_struct(member)) return;
      }
      if (!always_emitted<T>(name) && is_empty_value(member)) return;
      m.push_back(map_entry{value(name), encode<D>(member)});
    });
    constexpr auto order = field_list<D, T>();
    if constexpr (!order.empty()) {  // the dialect's Go field order
      mapping sorted;
      for (auto name : order)
        for (auto& e : m)
          if (e.key.as_string() == name) sorted.push_back(std::move(e));
      m = std::move(sorted);
    }
    return value(std::move(m), value::map_kind::record);
  }
}

// A JSON-encoded tree as go-yaml reads it back (sigs.k8s.io/yaml JSONToYAML, then yaml.Unmarshal):
// every map becomes a YAML map.
inline value as_yaml_tree(value v) {
  if (v.is_sequence()) {
    for (auto& e : v.as_sequence()) e = as_yaml_tree(std::move(e));
  } else if (v.is_mapping()) {
    v.origin = value::map_kind::yaml;
    for (auto& e : v.as_mapping()) e.val = as_yaml_tree(std::move(e.val));
  }
  return v;
}

// go-yaml's reader rejects these code points in its input ("control characters are not allowed").
inline bool yaml_printable(long cp) {
  return cp == 0x09 || cp == 0x0A || cp == 0x0D || (cp >= 0x20 && cp <= 0x7E) || cp == 0x85 ||
         (cp >= 0xA0 && cp <= 0xD7FF) || (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

// A string written by Go's JSON encoder and read back by go-yaml as a double-quoted scalar:
// invalid UTF-8 bytes became U+FFFD; characters the encoder leaves raw but go-yaml refuses (DEL,
// C1 controls except NEL, U+FFFE/U+FFFF) are an error; a raw NEL (U+0085) is a line break there, so
// it folds (one break → a space, n breaks → n-1 newlines, white space around breaks dropped).
inline bool reread_json_string(std::string& s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t next = i;
    const long cp = taskstep::detail::decode_utf8(s, next);
    if (cp < 0) {
      out += "\xEF\xBF\xBD";
    } else if (cp == 0x85) {
      while (!out.empty() && (out.back() == ' ' || out.back() == '\t')) out.pop_back();
      int breaks = 0;
      while (i < s.size()) {
        std::size_t j = i;
        const long c = taskstep::detail::decode_utf8(s, j);
        if (c == 0x85) ++breaks;
        else if (c != ' ' && c != '\t') break;
        i = j;
      }
      if (breaks == 1) out += ' ';
      else out.append(static_cast<std::size_t>(breaks - 1), '\n');
      continue;
    } else if (cp >= 0x7F && !yaml_printable(cp)) {
      return false;
    } else {
      out.append(s, i, next - i);
    }
    i = next;
  }
  s = std::move(out);
  return true;
}

// Strings as encoding/json hands them back: invalid UTF-8 bytes became U+FFFD on the way through JSON.
inline void sanitize_utf8(value& v) {
  if (v.is_string()) {
    std::string& s = v.as_string();
    std::size_t i = 0;
    bool clean = true;
    while (i < s.size() && clean) clean = taskstep::detail::decode_utf8(s, i) >= 0;
    if (clean) return;
    std::string out;
    i = 0;
    while (i < s.size()) {
      const std::size_t start = i;
      if (taskstep::detail::decode_utf8(s, i) < 0) out += "\xEF\xBF\xBD";
      else out.append(s, start, i - start);
    }
    s = std::move(out);
  } else if (v.is_sequence()) {
    for (auto& e : v.as_sequence()) sanitize_utf8(e);
  } else if (v.is_mapping()) {
    for (auto& e : v.as_mapping()) {
      sanitize_utf8(e.key);
      sanitize_utf8(e.val);
    }
  }
}

// A float as go-yaml reads back the text Go wrote for it (JSON or YAML): integral values come back as
// integers, so -0 becomes 0.
inline value reread_float(const value& v, bool from_json) {
  const double d = std::get<double>(v.data);
  if (!std::isfinite(d)) return v;
  const std::string text = from_json ? taskstep::detail::format_json_float(d) : taskstep::detail::format_g(d);
  return resolve_plain(text);
}

inline result<void> json_to_yaml_roundtrip(value& v) {
  if (v.is_string()) {
    if (!reread_json_string(v.as_string()))
      return fail(errc::decode, "yaml: control characters are not allowed");
  } else if (v.type() == value::kind::floating) {
    v = reread_float(v, true);
  } else if (v.is_sequence()) {
    for (auto& e : v.as_sequence())
      if (auto r = json_to_yaml_roundtrip(e); !r) return r;
  } else if (v.is_mapping()) {
    for (auto& e : v.as_mapping()) {
      if (auto r = json_to_yaml_roundtrip(e.key); !r) return r;
      if (auto r = json_to_yaml_roundtrip(e.val); !r) return r;
    }
  }
  return {};
}

inline void yaml_marshal_roundtrip(value& v) {
  if (v.type() == value::kind::floating) {
    v = reread_float(v, false);
  } else if (v.is_sequence()) {
    for (auto& e : v.as_sequence()) yaml_marshal_roundtrip(e);
  } else if (v.is_mapping()) {
    for (auto& e : v.as_mapping()) {
      yaml_marshal_roundtrip(e.key);
      yaml_marshal_roundtrip(e.val);
    }
  }
}

}  // namespace detail

//! The config as Concourse's interpolation sees it: `yaml.Marshal(config)` (JSON, then JSON → YAML)
//! read back by go-yaml. Strings with characters go-yaml refuses fail as Concourse fails
//! (`failed to marshal task config: error converting JSON to YAML: yaml: control characters are not
//! allowed`), a raw U+0085 folds to a space, integral floats come back as integers.
template <class D = dialect::concourse_6_7>
result<value> to_interpolation_tree(const task_config& c) {
  value tree = detail::as_yaml_tree(detail::encode<D>(c));
  if (auto r = detail::json_to_yaml_roundtrip(tree); !r)
    return fail(r.error().prefixed("failed to marshal task config: error converting JSON to YAML: "));
  return tree;
}

//! An interpolated tree as `NewTaskConfig(yaml.Marshal(tree))` reads it back: floats are re-read from
//! go-yaml's text (an integral float becomes an integer).
inline value after_interpolation(value tree) {
  detail::yaml_marshal_roundtrip(tree);
  return tree;
}

//! Decodes a go-yaml tree into a task config (no validation), with Concourse's error texts:
//! `error converting YAML to JSON: ...` or `error unmarshaling JSON: while decoding JSON: ...`;
//! from 8.1 also `unknown fields: [a b]` for unknown top-level keys.
template <class D = dialect::concourse_6_7>
result<task_config> decode_task_config(value tree) {
  static_assert(dialect_policy<D>, TASKSTEP_DIALECT_MESSAGE);
  if constexpr (D::coerce_scalars) {
    if (auto r = detail::convert<D, task_config>(tree); !r)
      return fail(r.error().prefixed("error converting YAML to JSON: "));
  } else {
    if (auto r = detail::stringify_keys(tree); !r) return fail(r.error().prefixed("error converting YAML to JSON: "));
  }
  if (auto json = to_json(tree); !json)
    return fail(json.error().prefixed("error converting YAML to JSON: "));
  detail::sanitize_utf8(tree);
  constexpr std::string_view prefix = "error unmarshaling JSON: while decoding JSON: ";
  if constexpr (D::unknown_top_level_list) {
    // TaskConfig.UnmarshalJSON first reads the document as map[string]*json.RawMessage.
    if (!tree.is_mapping() && !tree.is_null())
      return fail(errc::decode, std::string(prefix) + "json: cannot unmarshal " +
                                    std::string(detail::json_kind(tree)) +
                                    " into Go value of type map[string]*json.RawMessage");
  }
  task_config config;
  detail::decode_state st;
  detail::decode<D>(tree, config, st);
  if (st.fatal) return fail(errc::decode, std::string(prefix) + *st.fatal);
  if (st.saved) return fail(errc::decode, std::string(prefix) + *st.saved);
  if (!st.unknown_top.empty()) {
    // Go lists them in map order (random); sorted here, so one run equals another.
    std::sort(st.unknown_top.begin(), st.unknown_top.end());
    std::string msg = "unknown fields: [";
    for (std::size_t i = 0; i < st.unknown_top.size(); ++i) msg += (i ? " " : "") + st.unknown_top[i];
    return fail(errc::decode, msg + "]");
  }
  return config;
}

//! `atc.NewTaskConfig(bytes)`: YAML decode (strict before 8.1), then validation.
template <class D = dialect::concourse_6_7>
result<task_config> parse_task_config(std::string_view text) {
  auto tree = parse(text, /*strict=*/D::strict_yaml);
  if (!tree) return fail(tree.error().prefixed("error converting YAML to JSON: "));
  auto config = decode_task_config<D>(std::move(*tree));
  if (!config) return config;
  if (auto ok = validate<D>(*config); !ok) return fail(ok.error());
  return config;
}

//! The config as `json.Marshal` would build it (records keep Go's field order).
template <class D = dialect::concourse_6_7>
value encode_task_config(const task_config& c) { return detail::encode<D>(c); }

//! The config as compact JSON with Concourse's field names, byte-for-byte as `json.Marshal`.
template <class D = dialect::concourse_6_7>
std::string to_json(const task_config& c) {
  auto json = taskstep::to_json(encode_task_config<D>(c));
  return json ? *json : std::string();
}

//! The config as the YAML tree Concourse interpolates (`yaml.Marshal(config)` read back by go-yaml).
template <class D = dialect::concourse_6_7>
value to_yaml_tree(const task_config& c) { return detail::as_yaml_tree(encode_task_config<D>(c)); }

}  // namespace taskstep::yaml
