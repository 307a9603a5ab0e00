#pragma once
//! \file
//! `taskstep::value`: a dynamically typed YAML/JSON tree with go-yaml's scalar types.
//!
//! Concourse moves task configs through Go's `interface{}` trees (go-yaml v2 → sigs.k8s.io/yaml →
//! encoding/json). The distinctions that matter for compatibility are kept: signed vs unsigned
//! integers vs floats (they render differently), and whether a map came from YAML
//! (`map[interface {}]interface {}`, any key type) or from JSON (`map[string]interface {}`).

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

namespace taskstep {

//! How deeply sequences and mappings may nest in a parsed or interpolated tree. Every layer that
//! walks a tree (parse, decode, interpolation, JSON output, copies) recurses once per level; an
//! unoptimised build spends up to ~1.5 KiB of stack per level across them, so 64 levels stay under
//! 100 KiB and fit a thread with a 128 KiB stack (musl's default). Real task files nest < 10 deep.
inline constexpr int max_depth = 64;

struct value;
struct map_entry;
using sequence = std::vector<value>;
using mapping = std::vector<map_entry>;  //!< insertion-ordered; keys unique by `operator==`

//! A node of the tree. Holds one of: null, bool, int64, uint64, double, string, sequence, mapping.
struct value {
  using storage = std::variant<std::monostate, bool, std::int64_t, std::uint64_t, double, std::string,
                               sequence, mapping>;
  enum class kind : std::uint8_t { null, boolean, integer, unsigned_integer, floating, string, sequence, mapping };

  //! Where a mapping came from: YAML (`map[interface {}]interface {}`, any key type), JSON
  //! (`map[string]interface {}`), or a Go struct (a record: keys are field names, kept in order).
  enum class map_kind : std::uint8_t { yaml, json, record };

  storage data;
  map_kind origin = map_kind::yaml;

  value() = default;
  value(std::nullptr_t);
  value(bool b);
  value(int i);
  value(std::int64_t i);
  value(std::uint64_t u);
  value(double d);
  value(const char* s);
  value(std::string s);
  value(std::string_view s);
  value(sequence s);
  value(mapping m, map_kind from = map_kind::yaml);

  [[nodiscard]] kind type() const noexcept { return static_cast<kind>(data.index()); }
  [[nodiscard]] bool is_null() const noexcept { return type() == kind::null; }
  [[nodiscard]] bool is_string() const noexcept { return type() == kind::string; }
  [[nodiscard]] bool is_mapping() const noexcept { return type() == kind::mapping; }
  [[nodiscard]] bool is_sequence() const noexcept { return type() == kind::sequence; }
  [[nodiscard]] bool is_number() const noexcept {
    auto k = type();
    return k == kind::integer || k == kind::unsigned_integer || k == kind::floating;
  }

  [[nodiscard]] const std::string& as_string() const { return std::get<std::string>(data); }
  [[nodiscard]] std::string& as_string() { return std::get<std::string>(data); }
  [[nodiscard]] const sequence& as_sequence() const { return std::get<sequence>(data); }
  [[nodiscard]] sequence& as_sequence() { return std::get<sequence>(data); }
  [[nodiscard]] const mapping& as_mapping() const { return std::get<mapping>(data); }
  [[nodiscard]] mapping& as_mapping() { return std::get<mapping>(data); }

  //! The entry with key `k` in a mapping, or nullptr.
  [[nodiscard]] const value* find(const value& k) const;
  [[nodiscard]] value* find(const value& k);
  //! Sets `k` to `v` in a mapping, replacing an existing entry with an equal key.
  //! One call is O(n); to fill a mapping in a loop use `mapping_index`.
  void set(value k, value v);

  friend bool operator==(const value& a, const value& b) noexcept;
};

struct map_entry {
  value key;
  value val;
};
inline value::value(std::nullptr_t) {}
inline value::value(bool b) : data(b) {}
inline value::value(int i) : data(std::int64_t{i}) {}
inline value::value(std::int64_t i) : data(i) {}
inline value::value(std::uint64_t u) : data(u) {}
inline value::value(double d) : data(d) {}
inline value::value(const char* s) : data(std::string(s)) {}
inline value::value(std::string s) : data(std::move(s)) {}
inline value::value(std::string_view s) : data(std::string(s)) {}
inline value::value(sequence s) : data(std::move(s)) {}
inline value::value(mapping m, map_kind from) : data(std::move(m)), origin(from) {}


inline bool operator==(const value& a, const value& b) noexcept {
  if (a.data.index() != b.data.index()) return false;
  if (a.is_sequence()) {
    const auto& x = a.as_sequence();
    const auto& y = b.as_sequence();
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i)
      if (!(x[i] == y[i])) return false;
    return true;
  }
  if (a.is_mapping()) {
    const auto& x = a.as_mapping();
    const auto& y = b.as_mapping();
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i)
      if (!(x[i].key == y[i].key) || !(x[i].val == y[i].val)) return false;
    return true;
  }
  switch (a.type()) {
    case value::kind::null: return true;
    case value::kind::boolean: return std::get<bool>(a.data) == std::get<bool>(b.data);
    case value::kind::integer: return std::get<std::int64_t>(a.data) == std::get<std::int64_t>(b.data);
    case value::kind::unsigned_integer: return std::get<std::uint64_t>(a.data) == std::get<std::uint64_t>(b.data);
    case value::kind::floating: return std::get<double>(a.data) == std::get<double>(b.data);
    case value::kind::string: return a.as_string() == b.as_string();
    default: return false;
  }
}

inline const value* value::find(const value& k) const {
  for (const auto& e : as_mapping())
    if (e.key == k) return &e.val;
  return nullptr;
}
inline value* value::find(const value& k) {
  for (auto& e : as_mapping())
    if (e.key == k) return &e.val;
  return nullptr;
}
inline void value::set(value k, value v) {
  if (value* existing = find(k)) {
    *existing = std::move(v);
    return;
  }
  as_mapping().push_back(map_entry{std::move(k), std::move(v)});
}

namespace detail {

// A hash consistent with `operator==` on keys (0.0 and -0.0 are equal; NaN equals nothing anyway).
inline std::size_t key_hash(const value& k) noexcept {
  std::size_t h = k.data.index() * 0x9e3779b97f4a7c15ULL;
  auto mix = [&](std::size_t x) { h ^= x + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2); };
  switch (k.type()) {
    case value::kind::null: break;
    case value::kind::boolean: mix(std::get<bool>(k.data) ? 1 : 2); break;
    case value::kind::integer: mix(std::hash<std::int64_t>{}(std::get<std::int64_t>(k.data))); break;
    case value::kind::unsigned_integer: mix(std::hash<std::uint64_t>{}(std::get<std::uint64_t>(k.data))); break;
    case value::kind::floating: {
      const double d = std::get<double>(k.data);
      mix(d == 0 ? 0 : std::hash<double>{}(d));
      break;
    }
    case value::kind::string: mix(std::hash<std::string>{}(k.as_string())); break;
    case value::kind::sequence:
      for (const auto& e : k.as_sequence()) mix(key_hash(e));
      break;
    case value::kind::mapping:
      for (const auto& e : k.as_mapping()) {
        mix(key_hash(e.key));
        mix(key_hash(e.val));
      }
      break;
  }
  return h;
}

}  // namespace detail

//! A hash index over the keys of one `mapping`, so that filling or probing it in a loop costs O(1)
//! per key instead of `value::find`'s O(n). The index refers to positions: it stays valid while the
//! mapping only grows through `set` / `add` (or entries' values change); any other edit needs a new one.
class mapping_index {
 public:
  mapping_index() = default;
  explicit mapping_index(const mapping& m) {
    for (std::size_t i = 0; i < m.size(); ++i) add_position(m, i);
  }

  //! The entry of `m` with key `k`, or nullptr.
  [[nodiscard]] const map_entry* find(const mapping& m, const value& k) const {
    auto [b, e] = positions_.equal_range(detail::key_hash(k));
    for (auto it = b; it != e; ++it)
      if (m[it->second].key == k) return &m[it->second];
    return nullptr;
  }
  [[nodiscard]] map_entry* find(mapping& m, const value& k) const {
    return const_cast<map_entry*>(find(static_cast<const mapping&>(m), k));
  }
  //! Appends an entry whose key is not in `m` yet.
  void add(mapping& m, value k, value v) {
    m.push_back(map_entry{std::move(k), std::move(v)});
    add_position(m, m.size() - 1);
  }
  //! `value::set` in O(1): replaces the value of an equal key, or appends.
  void set(mapping& m, value k, value v) {
    if (map_entry* e = find(m, k)) e->val = std::move(v);
    else add(m, std::move(k), std::move(v));
  }

 private:
  void add_position(const mapping& m, std::size_t i) { positions_.emplace(detail::key_hash(m[i].key), i); }
  std::unordered_multimap<std::size_t, std::size_t> positions_;
};

//! Go's `%T` of the value as go-yaml / encoding/json would have produced it (for error messages).
inline std::string_view go_type_name(const value& v) noexcept {
  switch (v.type()) {
    case value::kind::null: return "<nil>";
    case value::kind::boolean: return "bool";
    case value::kind::integer: return "int";
    case value::kind::unsigned_integer: return "uint64";
    case value::kind::floating: return "float64";
    case value::kind::string: return "string";
    case value::kind::sequence: return "[]interface {}";
    case value::kind::mapping: return v.origin == value::map_kind::yaml ? "map[interface {}]interface {}" : "map[string]interface {}";
  }
  return "";
}

}  // namespace taskstep
