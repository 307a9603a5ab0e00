#pragma once
//! \file
//! `yaml_node_source`: a config source for embedders who already hold a yaml-cpp `YAML::Node`. The node
//! is turned into the tree go-yaml v2 would have built (`taskstep::value`, with go-yaml's YAML 1.1 scalar
//! resolution, merge keys and strict duplicate-key errors) and decoded by the same strict decoder as task
//! files, so it is accepted and rejected with the same messages. Part of the `taskstep::yaml_cpp` CMake
//! target (links yaml-cpp); the rest of the library never includes yaml-cpp.
//!
//! yaml-cpp throws; its exceptions are caught here and become error values.

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "taskstep/config/concepts.hpp"
#include "taskstep/core/json.hpp"
#include "taskstep/core/value.hpp"
#include "taskstep/yaml/convert.hpp"
#include "taskstep/yaml/decode.hpp"
#include "taskstep/yaml/parse.hpp"

namespace taskstep::config {

namespace detail {

// Walks a YAML::Node the way yaml::parse's composer walks libyaml's events.
class yaml_cpp_reader {
 public:
  result<value> run(const YAML::Node& root) {
    value out;
    if (!read(root, out, 0)) return fail(errc::yaml_syntax, "yaml: " + error_);
    if (!duplicates_.empty()) {
      std::string msg = "yaml: unmarshal errors:";
      for (const auto& e : duplicates_) msg += "\n  " + e;
      return fail(errc::yaml_syntax, msg);
    }
    return out;
  }

 private:
  static constexpr int max_depth = 2000;  // yaml-cpp's own parser stops there (depthguard.h)
  static constexpr std::size_t max_nodes = 50'000'000;  // shared (aliased) nodes expand like aliases

  static int line_of(const YAML::Node& n) {
    const YAML::Mark m = n.Mark();
    return m.is_null() ? 0 : m.line + 1;
  }

  // yaml-cpp's tags: "?" for a plain scalar, "!" for a quoted or block one, "" for a node built in
  // C++ (read as plain, as yaml-cpp's emitter would write it), else the resolved tag.
  static bool is_plain(const YAML::Node& n) { return n.Tag().empty() || n.Tag() == "?"; }

  static bool is_merge(const YAML::Node& key) {
    return key.IsScalar() && key.Scalar() == "<<" && (is_plain(key) || key.Tag() == "tag:yaml.org,2002:merge");
  }

  bool read(const YAML::Node& n, value& out, int depth) {
    if (++count_ > max_nodes) return failed("document contains excessive aliasing");
    if (depth >= max_depth)
      return failed("line " + std::to_string(line_of(n)) + ": exceeded max depth of " + std::to_string(max_depth));
    switch (n.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null: out = value(); return true;
      case YAML::NodeType::Scalar: {
        auto v = yaml::resolve_scalar(n.Scalar(), is_plain(n), !is_plain(n) && n.Tag() != "!" ? n.Tag() : std::string());
        if (!v) return failed(v.error().message());
        out = std::move(*v);
        return true;
      }
      case YAML::NodeType::Sequence: {
        if (!enter(n)) return false;
        sequence s;
        s.reserve(n.size());
        for (const auto& child : n) {
          value v;
          if (!read(child, v, depth + 1)) return false;
          s.push_back(std::move(v));
        }
        ancestors_.pop_back();
        out = value(std::move(s));
        return true;
      }
      case YAML::NodeType::Map: {
        if (!enter(n)) return false;
        out = value(mapping{});
        if (!read_into(n, out, depth)) return false;
        ancestors_.pop_back();
        return true;
      }
    }
    return failed("unknown yaml-cpp node type");
  }

  // The entries of map `n` into the existing map `out` (merge keys reuse it, as go-yaml does).
  bool read_into(const YAML::Node& n, value& out, int depth) {
    for (const auto& entry : n) {
      if (is_merge(entry.first)) {
        if (!merge(entry.second, out, depth)) return false;
        continue;
      }
      value k;
      if (!read(entry.first, k, depth + 1)) return false;
      if (k.is_mapping() || k.is_sequence()) return failed("invalid map key: " + go_sharp_v(k));
      value v;
      if (!read(entry.second, v, depth + 1)) return false;
      if (out.find(k) != nullptr) {
        duplicates_.push_back("line " + std::to_string(line_of(entry.second)) + ": key " + go_sharp_v(k) +
                              " already set in map");
        continue;
      }
      out.as_mapping().push_back(map_entry{std::move(k), std::move(v)});
    }
    return true;
  }

  bool merge(const YAML::Node& n, value& out, int depth) {
    if (n.IsMap()) return read_into(n, out, depth + 1);
    if (n.IsSequence()) {
      for (std::size_t i = n.size(); i-- > 0;) {
        if (!n[i].IsMap()) return failed("map merge requires map or sequence of maps as the value");
        if (!read_into(n[i], out, depth + 1)) return false;
      }
      return true;
    }
    return failed("map merge requires map or sequence of maps as the value");
  }

  // A node built in C++ can contain itself (`n["a"] = n`); a parsed document cannot.
  bool enter(const YAML::Node& n) {
    for (const auto& a : ancestors_)
      if (a.is(n)) return failed("line " + std::to_string(line_of(n)) + ": a node contains itself");
    ancestors_.push_back(n);
    return true;
  }

  bool failed(std::string message) {
    error_ = std::move(message);
    return false;
  }

  std::size_t count_ = 0;
  std::string error_;
  std::vector<std::string> duplicates_;
  std::vector<YAML::Node> ancestors_;
};

}  // namespace detail

//! `node` as the tree `yaml::parse` (strict) gives for the same document: go-yaml's YAML 1.1 scalar
//! types (a plain `yes` is `true`, a quoted one a string; a scalar set from C++ without a tag counts as
//! plain), merge keys, `yaml: unmarshal errors: ... key "k" already set in map`. yaml-cpp's exceptions
//! come back as `errc::yaml_syntax` errors with yaml-cpp's message.
[[nodiscard]] inline result<value> yaml_cpp_tree(const YAML::Node& node) noexcept {
  try {
    return detail::yaml_cpp_reader().run(node);
  } catch (const YAML::Exception& e) {
    return fail(errc::yaml_syntax, std::string("yaml-cpp: ") + e.what());
  } catch (const std::exception& e) {
    return fail(errc::yaml_syntax, std::string("yaml-cpp: ") + e.what());
  }
}

//! A task config held as a `YAML::Node`, decoded as `atc.NewTaskConfig` decodes a task file (strict
//! decode, then validation). Models `config_source`. Messages equal a task file's; with an `origin`
//! (e.g. `ci/task.yml`) they carry `file_source`'s prefix, `failed to create task config from bytes
//! <origin>: `, so the two sources are interchangeable.
class yaml_node_source {
 public:
  explicit yaml_node_source(YAML::Node node, std::string origin = {})
      : node_(std::move(node)), origin_(std::move(origin)) {}

  result<task_config> fetch() {
    auto config = decoded();
    if (!config && !origin_.empty())
      return fail(config.error().prefixed("failed to create task config from bytes " + origin_ + ": "));
    return config;
  }
  [[nodiscard]] std::vector<std::string> warnings() const { return {}; }

 private:
  result<task_config> decoded() const {
    auto tree = yaml_cpp_tree(node_);
    if (!tree) return fail(tree.error().prefixed("error converting YAML to JSON: "));
    auto config = yaml::decode_task_config(std::move(*tree));
    if (!config) return config;
    if (auto ok = validate(*config); !ok) return fail(ok.error());
    return config;
  }

  YAML::Node node_;
  std::string origin_;
};

static_assert(config_source<yaml_node_source>);

}  // namespace taskstep::config
