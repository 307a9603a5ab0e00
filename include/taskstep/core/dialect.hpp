#pragma once
//! \file
//! Concourse versions as policy types. A dialect holds every difference of one Concourse version in one
//! place; the decoder (yaml/decode.hpp), validation (core/task_config.hpp), the config chain (config/)
//! and the vars engine read its members and never test a version number. Each fact here was read in
//! Concourse's source at the named tag (atc/task.go, atc/container_limits.go or
//! atc/container_limits_marshaller.go, atc/exec/task_config_source.go, vars/); docs/compatibility.md
//! lists them as a table.
//!
//! `dialect<D>` is the concept; `concourse_6_7`, `concourse_7_14` and `concourse_8_2` are the three
//! supported versions (v6.7.0, v7.14.3, v8.2.5); `concourse_default` is the newest.

#include <array>
#include <concepts>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>

#include "taskstep/core/detail/go_format.hpp"
#include "taskstep/core/result.hpp"

namespace taskstep {

//! How a dialect splits a `((reference))` name (used by vars/reference.hpp).
enum class reference_syntax {
  concourse_6_7,   //!< parseVarName: first `:` past index 0, pathRegex pieces, quotes dropped from the path only
  concourse_7,     //!< 7.0 ParseReference: unquoted `:` and `.`, segments trimmed and unquoted, quoted source refused
  concourse_8_2_5  //!< 8.2.5: as 7 plus unclosed quotes refused, quoted source accepted, segments path-cleaned
};

namespace detail {

//! Go's uint64(f) on amd64 (CVTTSD2SQ, with the 2^63 split): truncates toward zero, a negative value
//! wraps as int64 does, out-of-range values become 2^63.
inline std::uint64_t go_float_to_uint64(double f) {
  constexpr double two63 = 9223372036854775808.0;
  auto cvt = [](double x) -> std::uint64_t {
    if (!(x > -two63 && x < two63)) return std::uint64_t{1} << 63;
    return static_cast<std::uint64_t>(static_cast<std::int64_t>(x));
  };
  if (f < two63) return cvt(f);
  return cvt(f - two63) | (std::uint64_t{1} << 63);
}

//! Decimal digits to uint64 as strconv.ParseUint(s, 10, 64); `digits` is non-empty and all digits.
inline result<std::uint64_t> parse_uint64_digits(std::string_view digits) {
  std::uint64_t n = 0;
  for (char c : digits) {
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (n > (std::numeric_limits<std::uint64_t>::max() - d) / 10)
      return fail(errc::decode, "strconv.ParseUint: parsing \"" + std::string(digits) + "\": value out of range");
    n = n * 10 + d;
  }
  return n;
}

inline char ascii_upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

}  // namespace detail

//! Parses a memory limit as Concourse 6.7 does: upper-cased, then `^([0-9]+)([G|M|K|g|m|k]?[b|B])?$`
//! (the `|` inside the classes is literal); KB/MB/GB multiply by 2^10/2^20/2^30 (wrapping), any other
//! matched suffix (`B`, `|B`, `K|`...) by 1.
inline result<std::uint64_t> parse_memory_limit(std::string_view text) {
  std::string s;
  for (char c : text) s += detail::ascii_upper(c);
  std::size_t i = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  const std::string digits = s.substr(0, i);
  const std::string unit = s.substr(i);
  auto unit_ok = [&] {
    if (unit.empty()) return true;
    auto last_ok = [](char c) { return c == 'B' || c == '|'; };
    auto first_ok = [](char c) { return c == 'G' || c == 'M' || c == 'K' || c == '|'; };
    if (unit.size() == 1) return last_ok(unit[0]);
    return unit.size() == 2 && first_ok(unit[0]) && last_ok(unit[1]);
  };
  if (digits.empty() || !unit_ok()) return fail(errc::decode, "could not parse container memory limit");
  auto n = detail::parse_uint64_digits(digits);
  if (!n) return n;
  const unsigned shift = unit == "KB" ? 10 : unit == "MB" ? 20 : unit == "GB" ? 30 : 0;
  return *n << shift;
}

//! Parses a memory limit as Concourse 7.14 and 8.x do: `(?i)^([0-9]+)(([KMG])(i)?B?)?$`; K, M and G
//! (any case, with or without `i` and `B`) are binary units (2^10, 2^20, 2^30, wrapping); a bare number
//! is bytes; `1B` is refused.
inline result<std::uint64_t> parse_memory_limit_binary(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  const std::string_view digits = s.substr(0, i);
  std::string_view unit = s.substr(i);
  unsigned shift = 0;
  bool ok = !digits.empty();
  if (ok && !unit.empty()) {
    const char u = detail::ascii_upper(unit[0]);
    shift = u == 'K' ? 10 : u == 'M' ? 20 : u == 'G' ? 30 : 0;
    ok = shift != 0;
    unit.remove_prefix(1);
    if (ok && !unit.empty() && (unit[0] == 'i' || unit[0] == 'I')) unit.remove_prefix(1);
    if (ok && !unit.empty() && (unit[0] == 'b' || unit[0] == 'B')) unit.remove_prefix(1);
    ok = ok && unit.empty();
  }
  if (!ok) return fail(errc::decode, "could not parse container memory limit");
  auto n = detail::parse_uint64_digits(digits);
  if (!n) return n;
  return *n << shift;
}

namespace dialect {

//! How `container_limits` is decoded.
enum class limits_decoding {
  whole_map,  //!< 6.7: one custom unmarshaler over any JSON value; unknown keys ignored, `cpu: ~` refused
  per_field,  //!< 7.x: a struct of two custom leaves; `cpu: ~` / `memory: ~` omit the limit
};

//! Concourse v6.7.0 (2020): the behaviour taskstep was first written against.
struct concourse_6_7 {
  static constexpr std::string_view name = "6.7";
  // ---- decoding (atc.NewTaskConfig) ----
  //! yaml.UnmarshalStrict: duplicate keys are errors, unknown fields are errors at every level.
  static constexpr bool strict_yaml = true;
  //! sigs.k8s.io/yaml's type-guided conversion: YAML scalars become strings for string fields.
  static constexpr bool coerce_scalars = true;
  //! `json: unknown field "x"` at every level (DisallowUnknownFields).
  static constexpr bool unknown_field_errors = true;
  //! 8.1's own check: `unknown fields: [a b]` for unknown top-level keys (nested ones are ignored).
  static constexpr bool unknown_top_level_list = false;
  //! The Go struct name in type errors about top-level fields (`Go struct field TaskConfig.platform`).
  static constexpr std::string_view top_struct_name = "TaskConfig";
  static constexpr limits_decoding limits = limits_decoding::whole_map;
  //! cpu and memory numbers: uint64(int(f)).
  static std::uint64_t limit_from_float(double f) { return detail::go_float_to_uint_via_int(f); }
  static result<std::uint64_t> memory_limit(std::string_view s) { return parse_memory_limit(s); }
  //! `image_resource` fields, in Go's order (no `name`, no `tags` before 7.0).
  static constexpr std::array<std::string_view, 4> image_resource_fields{"type", "source", "params", "version"};
  //! `caches[]` fields (no `ttl` before 8.2).
  static constexpr std::array<std::string_view, 1> cache_fields{"path"};
  //! 8.2 `caches[].ttl`: a custom unmarshaler checks it (and wraps the entry's own errors).
  static constexpr bool cache_ttl = false;
  //! `run` is omitted from JSON when zero (8.0's `omitzero`); before, `"run":{"path":""}` always shows.
  static constexpr bool run_omit_zero = false;
  // ---- validation (TaskConfig.Validate) ----
  //! `missing path to executable to run` (8.0 made run.path optional: ENTRYPOINT/CMD of the image).
  static constexpr bool run_path_required = true;
  // ---- vars (TemplateResolver) ----
  //! Old-style `{{name}}` is resolved (from static vars only, missing ones become null).
  static constexpr bool old_style_vars = true;
  //! How `((name))` splits into source, path and fields (vars/reference.hpp).
  static constexpr taskstep::reference_syntax reference_syntax = taskstep::reference_syntax::concourse_6_7;
  //! 7.1: static vars (`-v/-y/-l`, step `vars:`) answer only references without a source.
  static constexpr bool sourced_refs_skip_static = false;
};

//! Concourse v7.14.3.
struct concourse_7_14 : concourse_6_7 {
  static constexpr std::string_view name = "7.14";
  static constexpr limits_decoding limits = limits_decoding::per_field;
  //! CPULimit(f) / MemoryLimit(f): a direct float64 → uint64 conversion.
  static std::uint64_t limit_from_float(double f) { return detail::go_float_to_uint64(f); }
  static result<std::uint64_t> memory_limit(std::string_view s) { return parse_memory_limit_binary(s); }
  //! 7.0 added `name` (always emitted, `""` for a task) and `tags`; version moved before params.
  static constexpr std::array<std::string_view, 6> image_resource_fields{"name",    "type",   "source",
                                                                         "version", "params", "tags"};
  static constexpr taskstep::reference_syntax reference_syntax = taskstep::reference_syntax::concourse_7;
  static constexpr bool sourced_refs_skip_static = true;
};

//! Concourse v8.2.5 (the newest).
struct concourse_8_2 : concourse_7_14 {
  static constexpr std::string_view name = "8.2";
  //! 8.1: yaml.Unmarshal (not strict) into a TaskConfig with its own UnmarshalJSON: duplicate keys
  //! allowed (the last wins), no scalar → string coercion, nested unknown keys ignored, unknown
  //! top-level keys (exact spelling) listed in `unknown fields: [...]`.
  static constexpr bool strict_yaml = false;
  static constexpr bool coerce_scalars = false;
  static constexpr bool unknown_field_errors = false;
  static constexpr bool unknown_top_level_list = true;
  //! The UnmarshalJSON decodes through a local alias type.
  static constexpr std::string_view top_struct_name = "taskConfigAlias";
  static constexpr std::array<std::string_view, 2> cache_fields{"path", "ttl"};
  static constexpr bool cache_ttl = true;
  static constexpr bool run_omit_zero = true;
  static constexpr bool run_path_required = false;
  //! 8.0 removed the deprecated `{{name}}` pass: the text stays as it is.
  static constexpr bool old_style_vars = false;
  //! 8.2.5: a quoted source is accepted, quoted `..` segments are cleaned, traversal-only refused.
  static constexpr taskstep::reference_syntax reference_syntax = taskstep::reference_syntax::concourse_8_2_5;
};

using concourse_default = concourse_8_2;

}  // namespace dialect

//! A Concourse dialect: a type with the members of `dialect::concourse_6_7` (see there).
template <class D>
concept dialect_policy = requires(double f, std::string_view s) {
  { D::name } -> std::convertible_to<std::string_view>;
  { D::strict_yaml } -> std::convertible_to<bool>;
  { D::coerce_scalars } -> std::convertible_to<bool>;
  { D::unknown_field_errors } -> std::convertible_to<bool>;
  { D::unknown_top_level_list } -> std::convertible_to<bool>;
  { D::top_struct_name } -> std::convertible_to<std::string_view>;
  { D::limits } -> std::convertible_to<dialect::limits_decoding>;
  { D::limit_from_float(f) } -> std::same_as<std::uint64_t>;
  { D::memory_limit(s) } -> std::same_as<result<std::uint64_t>>;
  { std::span<const std::string_view>(D::image_resource_fields) };
  { std::span<const std::string_view>(D::cache_fields) };
  { D::cache_ttl } -> std::convertible_to<bool>;
  { D::run_omit_zero } -> std::convertible_to<bool>;
  { D::run_path_required } -> std::convertible_to<bool>;
  { D::old_style_vars } -> std::convertible_to<bool>;
  { D::reference_syntax } -> std::convertible_to<reference_syntax>;
  { D::sourced_refs_skip_static } -> std::convertible_to<bool>;
};

#define TASKSTEP_DIALECT_MESSAGE \
  "taskstep: a dialect must provide the members of taskstep::dialect::concourse_6_7 (see core/dialect.hpp)"

static_assert(dialect_policy<dialect::concourse_6_7>);
static_assert(dialect_policy<dialect::concourse_7_14>);
static_assert(dialect_policy<dialect::concourse_8_2>);

//! Calls `f(D{})` with the dialect named `name` (`6.7`, `7.14`, `8.2`); false if there is none.
template <class F>
bool with_dialect(std::string_view name, F&& f) {
  if (name == dialect::concourse_6_7::name) f(dialect::concourse_6_7{});
  else if (name == dialect::concourse_7_14::name) f(dialect::concourse_7_14{});
  else if (name == dialect::concourse_8_2::name) f(dialect::concourse_8_2{});
  else return false;
  return true;
}

}  // namespace taskstep
