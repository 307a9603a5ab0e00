#pragma once
//! \file
//! Variable sources: where `((var))` values come from.
//!
//! A source models `variable_source`: `get(ref)` answers found / not found / error, `list()` names what
//! it holds. Sources chain in order with `multi_vars` (the first that finds or fails wins), credentials
//! are wrapped by `tracked_vars` so every value used is remembered for redaction.

#include <concepts>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "taskstep/core/result.hpp"
#include "taskstep/core/value.hpp"
#include "taskstep/vars/reference.hpp"

namespace taskstep::vars {

//! What a lookup returns: a value when found, nullopt when the source does not have it, or an error.
using lookup_result = result<std::optional<value>>;

//! The sentence a policy that is not a variable_source gets, first, at every entry point taking one.
#define TASKSTEP_VARIABLE_SOURCE_MESSAGE                                                             \
  "taskstep: V is not a variable_source: it needs get(const var_reference&) const -> lookup_result " \
  "and list() const -> std::vector<var_reference>"

//! A source of variable values (Concourse's `vars.Variables`).
template <class S>
concept variable_source = requires(const S& s, const var_reference& ref) {
  { s.get(ref) } -> std::same_as<lookup_result>;
  { s.list() } -> std::same_as<std::vector<var_reference>>;
};

//! Name → value, looked up by the reference's path (the source prefix is ignored, as in 6.7).
//! Also what `-v`, `-y`, `-l` and step `vars:` produce.
class static_vars {
 public:
  static_vars() = default;
  explicit static_vars(std::map<std::string, value> values) : values_(std::move(values)) {}

  void set(std::string name, value v) { values_[std::move(name)] = std::move(v); }
  [[nodiscard]] const std::map<std::string, value>& values() const noexcept { return values_; }

  [[nodiscard]] lookup_result get(const var_reference& ref) const {
    auto it = values_.find(ref.path);
    if (it == values_.end()) return std::optional<value>();
    return std::optional<value>(it->second);
  }
  [[nodiscard]] std::vector<var_reference> list() const {
    std::vector<var_reference> out;
    for (const auto& [name, v] : values_) out.push_back(var_reference{name, {}, name, {}});
    return out;
  }

 private:
  std::map<std::string, value> values_;
};

//! Several static sources, asked in order (e.g. flag vars, then vars files with the later file first).
class static_vars_list {
 public:
  static_vars_list() = default;
  explicit static_vars_list(std::vector<static_vars> sources) : sources_(std::move(sources)) {}
  void push_back(static_vars s) { sources_.push_back(std::move(s)); }
  [[nodiscard]] const std::vector<static_vars>& sources() const noexcept { return sources_; }

  [[nodiscard]] lookup_result get(const var_reference& ref) const {
    for (const auto& s : sources_) {
      auto r = s.get(ref);
      if (!r || r->has_value()) return r;
    }
    return std::optional<value>();
  }
  [[nodiscard]] std::vector<var_reference> list() const {
    std::vector<var_reference> out;
    for (const auto& s : sources_)
      for (auto& r : s.list()) out.push_back(std::move(r));
    return out;
  }

 private:
  std::vector<static_vars> sources_;
};

//! Named sources (`var_sources:`): `((name:path))` goes to source `name`; an unknown source is an
//! error, a reference without a source is not found here.
template <variable_source S>
class named_vars {
 public:
  void add(std::string name, S source) { sources_.emplace(std::move(name), std::move(source)); }

  [[nodiscard]] lookup_result get(const var_reference& ref) const {
    if (ref.source.empty()) return std::optional<value>();
    auto it = sources_.find(ref.source);
    if (it == sources_.end())
      return fail(errc::var_lookup, "missing source '" + ref.source + "' in var: " + ref.name);
    return it->second.get(ref);
  }
  [[nodiscard]] std::vector<var_reference> list() const {
    std::vector<var_reference> out;
    for (const auto& [name, s] : sources_)
      for (auto r : s.list()) {
        r.source = name;
        out.push_back(std::move(r));
      }
    return out;
  }

 private:
  std::map<std::string, S> sources_;
};

//! The credential values a build used, by dotted name (`vars.tracker`). Shared by the sources that
//! record into it and the redactors that read it.
class credential_tracker {
 public:
  //! Records `v` under `ref.path` + fields: strings directly, maps recursively, other leaves not at all.
  void track(const std::string& name, const value& v) {
    std::lock_guard lock(mutex_);
    track_locked(name, v);
  }
  //! A copy of every recorded value, by name.
  [[nodiscard]] std::map<std::string, std::string> values() const {
    std::lock_guard lock(mutex_);
    return values_;
  }

 private:
  void track_locked(const std::string& name, const value& v) {
    if (v.is_string()) {
      values_[name] = v.as_string();
    } else if (v.is_mapping()) {
      for (const auto& e : v.as_mapping())
        if (e.key.is_string()) track_locked(name + "." + e.key.as_string(), e.val);
    }
  }
  mutable std::mutex mutex_;
  std::map<std::string, std::string> values_;
};

//! Wraps a credential source so every value it finds is recorded for redaction.
template <variable_source S>
class tracked_vars {
 public:
  tracked_vars(S source, std::shared_ptr<credential_tracker> tracker)
      : source_(std::move(source)), tracker_(std::move(tracker)) {}

  [[nodiscard]] lookup_result get(const var_reference& ref) const {
    auto r = source_.get(ref);
    if (r && r->has_value() && tracker_) {
      // Concourse records the looked-up value under the path (fields are walked afterwards).
      tracker_->track(ref.path, **r);
    }
    return r;
  }
  [[nodiscard]] std::vector<var_reference> list() const { return source_.list(); }
  [[nodiscard]] const std::shared_ptr<credential_tracker>& tracker() const noexcept { return tracker_; }

 private:
  S source_;
  std::shared_ptr<credential_tracker> tracker_;
};

//! Sources asked in order; the first that finds the variable or fails wins (`vars.MultiVars`).
template <variable_source... S>
class multi_vars {
 public:
  explicit multi_vars(S... sources) : sources_(std::move(sources)...) {}

  [[nodiscard]] lookup_result get(const var_reference& ref) const {
    lookup_result out = std::optional<value>();
    std::apply([&](const auto&... s) { (void)((ask(s, ref, out)) || ...); }, sources_);
    return out;
  }
  [[nodiscard]] std::vector<var_reference> list() const {
    std::vector<var_reference> out;
    std::apply([&](const auto&... s) { (append(out, s.list()), ...); }, sources_);
    return out;
  }
  [[nodiscard]] const std::tuple<S...>& sources() const noexcept { return sources_; }

 private:
  template <class Src>
  static bool ask(const Src& s, const var_reference& ref, lookup_result& out) {
    auto r = s.get(ref);
    if (!r || r->has_value()) {
      out = std::move(r);
      return true;
    }
    return false;
  }
  static void append(std::vector<var_reference>& out, std::vector<var_reference> more) {
    for (auto& r : more) out.push_back(std::move(r));
  }
  std::tuple<S...> sources_;
};

//! No variables at all.
struct no_vars {
  [[nodiscard]] lookup_result get(const var_reference&) const { return std::optional<value>(); }
  [[nodiscard]] std::vector<var_reference> list() const { return {}; }
};

static_assert(variable_source<static_vars>);
static_assert(variable_source<static_vars_list>);
static_assert(variable_source<no_vars>);

namespace detail {

// The static values a source exposes to the deprecated `{{var}}` pass (only static sources count).
inline void collect_statics(const static_vars& s, std::vector<const static_vars*>& out) { out.push_back(&s); }
inline void collect_statics(const static_vars_list& s, std::vector<const static_vars*>& out) {
  for (const auto& x : s.sources()) out.push_back(&x);
}
template <class S>
void collect_statics(const S&, std::vector<const static_vars*>&) {}
template <class... S>
void collect_statics(const multi_vars<S...>& m, std::vector<const static_vars*>& out) {
  std::apply([&](const auto&... s) { (collect_statics(s, out), ...); }, m.sources());
}

}  // namespace detail

}  // namespace taskstep::vars
