#pragma once
//! \file
//! A pipeline (`resources`, `resource_types`, `jobs`) as Concourse 6.7 reads it, and one job's plan
//! decoded into the runtime plan tree (`plan::basic_node<job::leaf>`).
//!
//! - `load_pipeline(text, vars)`: the YAML is parsed strictly (duplicate keys are errors), its
//!   `((vars))` are resolved with `vars` as `fly set-pipeline` does (undefined ones stay for the
//!   build's credentials and local vars), top-level keys other than Concourse's are ignored (6.7's
//!   `UnmarshalConfig` strips them), and jobs, resources and resource types are decoded with unknown
//!   fields rejected.
//! - `decode_job(p, name)`: the job's `plan:` as a `do` (atc/job_config.go), each step decoded with
//!   atc/steps.go's precedence: the modifiers and hooks found on one step nest, from the outside in,
//!   `ensure`, `on_error`, `on_abort`, `on_failure`, `on_success`, `across`, `attempts`, `timeout`,
//!   around the first core step (`task`, `put`, `get`, `set_pipeline`, `load_var`, `try`, `do`,
//!   `in_parallel`, `aggregate`); then the job's own hooks in the same order. Errors carry
//!   Concourse's validation context: `jobs.unit.plan.do[0].task(test): must specify either
//!   `file:` or `config:``; all of them are reported, one per line.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "taskstep/core/duration.hpp"
#include "taskstep/core/result.hpp"
#include "taskstep/core/task_config.hpp"
#include "taskstep/config/override_params.hpp"
#include "taskstep/core/value.hpp"
#include "taskstep/plan/load_var.hpp"
#include "taskstep/plan/tree.hpp"
#include "taskstep/vars/template.hpp"
#include "taskstep/yaml/decode.hpp"
#include "taskstep/yaml/parse.hpp"

namespace taskstep::job {

//! A pipeline resource (`atc.ResourceConfig`): what a `get:` or `put:` names.
struct resource {
  std::string name;
  std::string type;
  value source;  //!< null or a mapping
  std::vector<std::string> tags;
};

//! A pipeline resource type (`atc.ResourceType`).
struct resource_type {
  std::string name;
  std::string type;
  value source;
  bool privileged = false;
};

//! A job: its name, its `plan:` and its hooks, kept as YAML trees until `decode_job`.
struct job_config {
  std::string name;
  std::vector<value> plan;
  std::optional<value> on_success, on_failure, on_abort, on_error, ensure;
  std::size_t index = 0;  //!< position in `jobs:`
};

//! A loaded pipeline.
struct pipeline {
  std::vector<resource> resources;
  std::vector<resource_type> resource_types;
  std::vector<job_config> jobs;

  [[nodiscard]] const resource* find_resource(std::string_view name) const {
    for (const auto& r : resources)
      if (r.name == name) return &r;
    return nullptr;
  }
  [[nodiscard]] const job_config* find_job(std::string_view name) const {
    for (const auto& j : jobs)
      if (j.name == name) return &j;
    return nullptr;
  }
};

// ---- The leaves of a job's plan ------------------------------------------------------------------

//! `get:`: an artifact named `name` from resource `resource`.
struct get_step {
  std::string name;
  std::string resource;   //!< `resource:` or the name
  std::string type;       //!< the resource's type
  value source;           //!< the resource's source
  std::vector<std::string> ignored;  //!< the fields given that do not apply locally (version, passed...)
};

//! `put:`: not run locally; what it would have used.
struct put_step {
  std::string name;
  std::string resource;
  value inputs;  //!< null (6.7: all), "all", "detect" or a list of names
  value params;
};

//! `task:`.
struct task_step {
  std::string name;
  std::string file;                   //!< `file:` (`artifact/path.yml`)
  std::optional<task_config> config;  //!< `config:`
  task_env params;                    //!< `params:` as 6.7 reads them (strings; `((vars))` resolved at run time)
  value vars;                         //!< `vars:` for the task file's `((vars))`
  std::vector<std::string> tags;
  std::map<std::string, std::string> input_mapping, output_mapping;
  std::string image;                  //!< `image:`: an artifact
  bool privileged = false;
};

//! `set_pipeline:`: not run locally.
struct set_pipeline_step {
  std::string name;
  std::string file;
  std::vector<std::string> var_files;
};

//! `load_var:`.
struct load_var_step {
  plan::load_var_spec spec;
};

//! What a leaf does.
using step_kind = std::variant<get_step, put_step, task_step, set_pipeline_step, load_var_step>;

//! One leaf of a job's plan: the step, a stable id (its path in the job, as Concourse's validation
//! names it: `plan.do[1].in_parallel.steps[0].task(unit)`), a label (`task unit`) and whether it runs
//! beside others (inside `in_parallel`, `aggregate` or `across`).
struct leaf {
  step_kind step;
  std::string id;
  std::string label;
  bool parallel = false;
};

//! The kind word of a step (`get`, `put`, `task`, `set_pipeline`, `load_var`).
inline std::string_view kind_name(const step_kind& s) {
  switch (s.index()) {
    case 0: return "get";
    case 1: return "put";
    case 2: return "task";
    case 3: return "set_pipeline";
    default: return "load_var";
  }
}

//! A decoded job: its plan as a runtime tree over `leaf` (the leaf runs only once bound to a runner,
//! see job/build.hpp) and the warnings 6.7's validation gives (deprecated aggregate, image twice).
struct decoded_job {
  std::string name;
  plan::basic_node<leaf> root;
  std::vector<std::string> warnings;
};

namespace detail {

inline std::string key_text(const value& k) { return k.is_string() ? k.as_string() : std::string(go_type_name(k)); }

inline std::string_view json_type(const value& v) {
  switch (v.type()) {
    case value::kind::null: return "null";
    case value::kind::boolean: return "bool";
    case value::kind::string: return "string";
    case value::kind::sequence: return "array";
    case value::kind::mapping: return "object";
    default: return "number";
  }
}

// Strict field readers over one mapping; each error names the context and the field.
class fields {
 public:
  fields(const value& map, std::string ctx, std::vector<std::string>& errors)
      : map_(map), ctx_(std::move(ctx)), errors_(errors) {}

  [[nodiscard]] const value* find(std::string_view key) const {
    if (!map_.is_mapping()) return nullptr;
    for (const auto& e : map_.as_mapping())
      if (e.key.is_string() && e.key.as_string() == key) return &e.val;
    return nullptr;
  }
  bool has(std::string_view key) const { return find(key) != nullptr; }

  void error(const std::string& msg) { errors_.push_back(ctx_ + ": " + msg); }
  const std::string& context() const { return ctx_; }

  std::string string(std::string_view key) {
    const value* v = find(key);
    if (v == nullptr || v->is_null()) return {};
    if (v->is_string()) return v->as_string();
    // YAML scalars such as `name: 1` are strings in Go's JSON conversion of a string field.
    if (v->type() == value::kind::integer) return std::to_string(std::get<std::int64_t>(v->data));
    if (v->type() == value::kind::unsigned_integer) return std::to_string(std::get<std::uint64_t>(v->data));
    if (v->type() == value::kind::boolean) return std::get<bool>(v->data) ? "true" : "false";
    if (v->type() == value::kind::floating) {
      auto text = config::step_param_string(*v);
      if (text) return *text;
    }
    type_error(key, *v, "string");
    return {};
  }
  bool boolean(std::string_view key) {
    const value* v = find(key);
    if (v == nullptr || v->is_null()) return false;
    if (v->type() == value::kind::boolean) return std::get<bool>(v->data);
    type_error(key, *v, "bool");
    return false;
  }
  std::optional<std::int64_t> integer(std::string_view key) {
    const value* v = find(key);
    if (v == nullptr || v->is_null()) return std::nullopt;
    if (v->type() == value::kind::integer) return std::get<std::int64_t>(v->data);
    if (v->type() == value::kind::unsigned_integer) return static_cast<std::int64_t>(std::get<std::uint64_t>(v->data));
    if (v->type() == value::kind::floating) {
      const double d = std::get<double>(v->data);
      if (d == static_cast<double>(static_cast<std::int64_t>(d))) return static_cast<std::int64_t>(d);
    }
    type_error(key, *v, "int");
    return std::nullopt;
  }
  std::vector<std::string> strings(std::string_view key) {
    std::vector<std::string> out;
    const value* v = find(key);
    if (v == nullptr || v->is_null()) return out;
    if (!v->is_sequence()) {
      type_error(key, *v, "[]string");
      return out;
    }
    for (const auto& e : v->as_sequence()) {
      if (!e.is_string()) {
        type_error(key, e, "string");
        continue;
      }
      out.push_back(e.as_string());
    }
    return out;
  }
  std::map<std::string, std::string> string_map(std::string_view key) {
    std::map<std::string, std::string> out;
    const value* v = find(key);
    if (v == nullptr || v->is_null()) return out;
    if (!v->is_mapping()) {
      type_error(key, *v, "map[string]string");
      return out;
    }
    for (const auto& e : v->as_mapping()) {
      if (!e.val.is_string()) {
        type_error(std::string(key) + "." + key_text(e.key), e.val, "string");
        continue;
      }
      out[key_text(e.key)] = e.val.as_string();
    }
    return out;
  }
  value map(std::string_view key) {
    const value* v = find(key);
    if (v == nullptr || v->is_null()) return {};
    if (!v->is_mapping()) {
      type_error(key, *v, "map");
      return {};
    }
    return *v;
  }
  //! Reports every key not in `known`: `unknown fields ["x"]`, as 6.7's validation.
  void only(std::initializer_list<std::string_view> known) {
    if (!map_.is_mapping()) return;
    std::vector<std::string> unknown;
    for (const auto& e : map_.as_mapping()) {
      const std::string k = key_text(e.key);
      if (std::find(known.begin(), known.end(), k) == known.end()) unknown.push_back("\"" + k + "\"");
    }
    if (unknown.empty()) return;
    std::string msg = "unknown fields [";
    for (std::size_t i = 0; i < unknown.size(); ++i) msg += (i ? " " : "") + unknown[i];
    error(msg + "]");
  }

 private:
  void type_error(std::string_view key, const value& v, std::string_view want) {
    error("field " + std::string(key) + " must be " + std::string(want) + ", not " + std::string(json_type(v)));
  }
  const value& map_;
  std::string ctx_;
  std::vector<std::string>& errors_;
};

// The step keys of atc/steps.go's StepPrecedence, with the fields each step type owns.
struct step_keys {
  std::string_view key;
  std::vector<std::string_view> owned;
  bool wrapper;
};
inline const std::vector<step_keys>& precedence() {
  static const std::vector<step_keys> keys = {
      {"ensure", {"ensure"}, true},
      {"on_error", {"on_error"}, true},
      {"on_abort", {"on_abort"}, true},
      {"on_failure", {"on_failure"}, true},
      {"on_success", {"on_success"}, true},
      {"across", {"across", "fail_fast"}, true},
      {"attempts", {"attempts"}, true},
      {"timeout", {"timeout"}, true},
      {"task", {"task", "privileged", "file", "config", "params", "vars", "tags", "input_mapping", "output_mapping", "image"}, false},
      {"put", {"put", "resource", "params", "inputs", "tags", "get_params"}, false},
      {"get", {"get", "resource", "version", "params", "passed", "trigger", "tags"}, false},
      {"set_pipeline", {"set_pipeline", "file", "team", "vars", "var_files"}, false},
      {"load_var", {"load_var", "file", "format", "reveal"}, false},
      {"try", {"try"}, false},
      {"do", {"do"}, false},
      {"in_parallel", {"in_parallel"}, false},
      {"aggregate", {"aggregate"}, false},
  };
  return keys;
}

using node = plan::basic_node<leaf>;

class job_decoder {
 public:
  job_decoder(const pipeline& p, std::string job_ctx, std::vector<std::string>& errors, std::vector<std::string>& warnings)
      : p_(p), job_ctx_(std::move(job_ctx)), errors_(errors), warnings_(warnings) {}

  // `path` is the step's context below the job (`.plan.do[0]`), `parallel` whether it runs beside others.
  node step(const value& v, const std::string& path, bool parallel) {
    const std::string ctx = job_ctx_ + path;
    if (!v.is_mapping()) {
      errors_.push_back(ctx + ": a step must be a map, not " + std::string(json_type(v)));
      return empty();
    }
    fields f(v, ctx, errors_);
    std::vector<std::string_view> wrappers;
    std::string_view core;
    std::set<std::string> owned;
    for (const auto& k : precedence()) {
      if (!f.has(k.key)) continue;
      for (auto o : k.owned) owned.insert(std::string(o));
      if (k.wrapper) {
        wrappers.push_back(k.key);
        continue;
      }
      core = k.key;
      break;
    }
    if (wrappers.empty() && core.empty()) {
      errors_.push_back(ctx + ": no step configured");
      return empty();
    }
    if (core.empty()) {
      errors_.push_back(ctx + ": no core step type declared (e.g. get, put, task, etc.)");
      return empty();
    }
    std::vector<std::string> unknown;
    for (const auto& e : v.as_mapping()) {
      const std::string k = key_text(e.key);
      if (!owned.count(k)) unknown.push_back("\"" + k + "\"");
    }
    if (!unknown.empty()) {
      std::string msg = "unknown fields [";
      for (std::size_t i = 0; i < unknown.size(); ++i) msg += (i ? " " : "") + unknown[i];
      errors_.push_back(ctx + ": " + msg + "]");
    }
    const bool in_across = std::find(wrappers.begin(), wrappers.end(), "across") != wrappers.end();
    node n = core_step(f, core, path, parallel || in_across);
    // Innermost first: timeout, attempts, across, then the hooks out to ensure.
    for (auto it = wrappers.rbegin(); it != wrappers.rend(); ++it) n = wrap(f, *it, std::move(n), path, parallel);
    return n;
  }

 private:
  static node empty() { return plan::do_node<leaf>({}); }

  node wrap(fields& f, std::string_view key, node inner, const std::string& path, bool parallel) {
    if (key == "timeout") {
      const std::string text = f.string("timeout");
      auto d = parse_duration(text);
      if (!d) {
        errors_.push_back(job_ctx_ + path + ".timeout: invalid duration '" + text + "'");
        return inner;
      }
      return plan::timeout_node(*d, std::move(inner));
    }
    if (key == "attempts") {
      auto n = f.integer("attempts");
      if (!n) return inner;
      if (*n <= 0) {
        errors_.push_back(job_ctx_ + path + ".attempts: must be greater than 0");
        return inner;
      }
      return plan::attempts_node(static_cast<std::size_t>(*n), std::move(inner));
    }
    if (key == "across") return across(f, std::move(inner), path);
    const std::string hook_path = path + "." + std::string(key);
    node hook = step(*f.find(key), hook_path, parallel);
    plan::hook_kind kind = key == "ensure"       ? plan::hook_kind::ensure
                           : key == "on_error"   ? plan::hook_kind::on_error
                           : key == "on_abort"   ? plan::hook_kind::on_abort
                           : key == "on_failure" ? plan::hook_kind::on_failure
                                                 : plan::hook_kind::on_success;
    return plan::hook_node(kind, std::move(inner), std::move(hook));
  }

  node across(fields& f, node inner, const std::string& path) {
    const std::string ctx = job_ctx_ + path + ".across";
    const value& list = *f.find("across");
    const bool fail_fast = f.boolean("fail_fast");
    std::vector<plan::across_var> vars;
    if (!list.is_sequence()) {
      errors_.push_back(ctx + ": must be a list of vars, not " + std::string(json_type(list)));
      return inner;
    }
    if (list.as_sequence().empty()) errors_.push_back(ctx + ": no vars specified");
    std::set<std::string> names;
    for (std::size_t i = 0; i < list.as_sequence().size(); ++i) {
      const value& item = list.as_sequence()[i];
      const std::string ictx = ctx + "[" + std::to_string(i) + "]";
      if (!item.is_mapping()) {
        errors_.push_back(ictx + ": must be a map, not " + std::string(json_type(item)));
        continue;
      }
      fields vf(item, ictx, errors_);
      vf.only({"var", "values", "max_in_flight"});
      plan::across_var var;
      var.name = vf.string("var");
      if (!names.insert(var.name).second) errors_.push_back(ictx + ": repeated var name");
      if (const value* values = vf.find("values"); values != nullptr && !values->is_null()) {
        if (values->is_sequence()) var.values = values->as_sequence();
        else errors_.push_back(ictx + ": field values must be a list, not " + std::string(json_type(*values)));
      }
      if (const value* m = vf.find("max_in_flight"); m != nullptr && !m->is_null()) {
        if (m->is_string()) {
          if (m->as_string() == "all") var.max_in_flight = 0;
          else errors_.push_back(ictx + ": invalid max_in_flight \"" + m->as_string() + "\"");
        } else if (auto n = vf.integer("max_in_flight")) {
          if (*n <= 0) errors_.push_back(ictx + ".max_in_flight: must be greater than 0");
          else var.max_in_flight = static_cast<std::size_t>(*n);
        }
      }
      vars.push_back(std::move(var));
    }
    return plan::across_node(std::move(vars), fail_fast, std::move(inner));
  }

  node add_leaf(step_kind s, const std::string& path, std::string_view name, bool parallel) {
    leaf l;
    l.label = std::string(kind_name(s)) + " " + std::string(name);
    l.id = (path.empty() ? std::string() : path.substr(1)) + "." + std::string(kind_name(s)) + "(" + std::string(name) + ")";
    l.step = std::move(s);
    l.parallel = parallel;
    return plan::leaf_node(std::move(l));
  }

  std::vector<node> list(const value& v, const std::string& path, const std::string& item_prefix, bool parallel,
                         std::string_view what) {
    std::vector<node> out;
    if (v.is_null()) return out;
    if (!v.is_sequence()) {
      errors_.push_back(job_ctx_ + path + ": " + std::string(what) + " must be a list of steps, not " +
                        std::string(json_type(v)));
      return out;
    }
    for (std::size_t i = 0; i < v.as_sequence().size(); ++i)
      out.push_back(step(v.as_sequence()[i], path + item_prefix + "[" + std::to_string(i) + "]", parallel));
    return out;
  }

  node core_step(fields& f, std::string_view core, const std::string& path, bool parallel) {
    if (core == "task") return task(f, path, parallel);
    if (core == "get") return get(f, path, parallel);
    if (core == "put") {
      put_step s;
      s.name = f.string("put");
      s.resource = f.string("resource");
      if (s.resource.empty()) s.resource = s.name;
      if (const value* in = f.find("inputs")) s.inputs = *in;
      s.params = f.map("params");
      (void)f.map("get_params");
      (void)f.strings("tags");
      if (p_.find_resource(s.resource) == nullptr)
        errors_.push_back(job_ctx_ + path + ".put(" + s.name + "): unknown resource '" + s.resource + "'");
      std::string name = s.name;
      return add_leaf(std::move(s), path, name, parallel);
    }
    if (core == "set_pipeline") {
      set_pipeline_step s;
      s.name = f.string("set_pipeline");
      s.file = f.string("file");
      s.var_files = f.strings("var_files");
      (void)f.string("team");
      (void)f.map("vars");
      if (s.file.empty()) errors_.push_back(job_ctx_ + path + ".set_pipeline(" + s.name + "): no file specified");
      std::string name = s.name;
      return add_leaf(std::move(s), path, name, parallel);
    }
    if (core == "load_var") {
      load_var_step s;
      s.spec.name = f.string("load_var");
      s.spec.file = f.string("file");
      s.spec.format = f.string("format");
      s.spec.reveal = f.boolean("reveal");
      const std::string ctx = job_ctx_ + path + ".load_var(" + s.spec.name + ")";
      if (s.spec.file.empty()) errors_.push_back(ctx + ": no file specified");
      if (!s.spec.format.empty() && !plan::detail::valid_load_var_format(s.spec.format))
        errors_.push_back(ctx + ": invalid format " + s.spec.format);
      std::string name = s.spec.name;
      return add_leaf(std::move(s), path, name, parallel);
    }
    if (core == "try") return plan::try_node(step(*f.find("try"), path + ".try", parallel));
    if (core == "do") return plan::do_node(list(*f.find("do"), path + ".do", "", parallel, "do"));
    if (core == "aggregate") {
      warnings_.push_back(job_ctx_ + path + ".aggregate: the aggregate step is deprecated and will be removed in a future version");
      return plan::in_parallel_node(list(*f.find("aggregate"), path + ".aggregate", "", true, "aggregate"));
    }
    // in_parallel: a list of steps, or {steps, limit, fail_fast}
    const value& v = *f.find("in_parallel");
    const std::string ip = path + ".in_parallel";
    if (v.is_mapping()) {
      fields pf(v, job_ctx_ + ip, errors_);
      auto limit = pf.integer("limit");
      const bool fail_fast = pf.boolean("fail_fast");
      std::vector<node> steps;
      if (const value* s = pf.find("steps")) steps = list(*s, ip, ".steps", true, "in_parallel.steps");
      return plan::in_parallel_node(std::move(steps), limit && *limit > 0 ? static_cast<std::size_t>(*limit) : 0, fail_fast);
    }
    if (!v.is_sequence() && !v.is_null()) {
      errors_.push_back(job_ctx_ + ip + ": wrong type for parallel config: " + std::string(json_type(v)));
      return empty();
    }
    return plan::in_parallel_node(list(v, ip, ".steps", true, "in_parallel"));
  }

  node task(fields& f, const std::string& path, bool parallel) {
    task_step s;
    s.name = f.string("task");
    const std::string ctx = job_ctx_ + path + ".task(" + s.name + ")";
    s.file = f.string("file");
    s.privileged = f.boolean("privileged");
    s.tags = f.strings("tags");
    s.input_mapping = f.string_map("input_mapping");
    s.output_mapping = f.string_map("output_mapping");
    s.image = f.string("image");
    if (const value* p = f.find("params"); p != nullptr && !p->is_null()) {
      if (p->is_mapping()) {
        for (const auto& e : p->as_mapping()) {
          auto text = config::step_param_string(e.val);
          if (!text) errors_.push_back(ctx + ": params." + key_text(e.key) + ": " + text.error().message());
          else s.params[key_text(e.key)] = *text;
        }
      } else errors_.push_back(ctx + ": field params must be a map, not " + std::string(json_type(*p)));
    }
    if (const value* p = f.find("vars"); p != nullptr && !p->is_null()) {
      if (p->is_mapping()) s.vars = *p;
      else errors_.push_back(ctx + ": field vars must be a map, not " + std::string(json_type(*p)));
    }
    if (const value* c = f.find("config"); c != nullptr && !c->is_null()) {
      auto decoded = yaml::decode_task_config(*c);
      if (!decoded) errors_.push_back(ctx + ".config: " + decoded.error().message());
      else s.config = std::move(*decoded);
    }
    if (!s.config && s.file.empty()) errors_.push_back(ctx + ": must specify either `file:` or `config:`");
    if (s.config && !s.file.empty()) errors_.push_back(ctx + ": must specify one of `file:` or `config:`, not both");
    if (s.config && !s.image.empty() && (!s.config->rootfs_uri.empty() || s.config->image_resource))
      warnings_.push_back(ctx + ": specifies image: on the step but also specifies an image under config: - the image: on "
                                "the step takes precedence");
    std::string name = s.name;
    return add_leaf(std::move(s), path, name, parallel);
  }

  node get(fields& f, const std::string& path, bool parallel) {
    get_step s;
    s.name = f.string("get");
    const std::string ctx = job_ctx_ + path + ".get(" + s.name + ")";
    s.resource = f.string("resource");
    if (s.resource.empty()) s.resource = s.name;
    for (std::string_view k : {"version", "passed", "trigger", "params", "tags"})
      if (const value* v = f.find(k); v != nullptr && !v->is_null()) s.ignored.emplace_back(k);
    (void)f.strings("passed");
    (void)f.boolean("trigger");
    (void)f.map("params");
    (void)f.strings("tags");
    if (!seen_gets_.insert(s.name).second) errors_.push_back(ctx + ": repeated name");
    if (const resource* r = p_.find_resource(s.resource)) {
      s.type = r->type;
      s.source = r->source;
    } else {
      errors_.push_back(ctx + ": unknown resource '" + s.resource + "'");
    }
    std::string name = s.name;
    return add_leaf(std::move(s), path, name, parallel);
  }

  const pipeline& p_;
  std::string job_ctx_;
  std::vector<std::string>& errors_;
  std::vector<std::string>& warnings_;
  std::set<std::string> seen_gets_;
};

inline void collect_leaves(const node& n, std::vector<const leaf*>& out) {
  std::visit(
      [&](const auto& x) {
        using X = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<X, leaf>) {
          out.push_back(&x);
        } else if constexpr (std::is_same_v<X, node::kinds::do_node> || std::is_same_v<X, node::kinds::in_parallel_node>) {
          for (const auto& c : x.steps) collect_leaves(c, out);
        } else if constexpr (std::is_same_v<X, node::kinds::load_var_node>) {
        } else {
          for (const auto& c : x.step) collect_leaves(c, out);
        }
      },
      n.kind);
}

}  // namespace detail

//! The leaves of `n` in plan order (pointers into `n`).
inline std::vector<const leaf*> leaves_of(const plan::basic_node<leaf>& n) {
  std::vector<const leaf*> out;
  detail::collect_leaves(n, out);
  return out;
}

namespace detail {

inline std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += (out.empty() ? "" : "\n") + l;
  return out;
}

inline void decode_job_fields(const value& v, const std::string& ctx, job_config& j, std::vector<std::string>& errors) {
  fields f(v, ctx, errors);
  f.only({"name", "old_name", "public", "disable_manual_trigger", "serial", "interruptible", "serial_groups",
          "max_in_flight", "build_logs_to_retain", "build_log_retention", "on_success", "on_failure", "on_abort",
          "on_error", "ensure", "plan"});
  j.name = f.string("name");
  (void)f.string("old_name");
  (void)f.boolean("public");
  (void)f.boolean("disable_manual_trigger");
  (void)f.boolean("serial");
  (void)f.boolean("interruptible");
  (void)f.strings("serial_groups");
  (void)f.integer("max_in_flight");
  (void)f.integer("build_logs_to_retain");
  (void)f.map("build_log_retention");
  auto hook = [&](std::string_view k, std::optional<value>& out) {
    if (const value* h = f.find(k); h != nullptr && !h->is_null()) out = *h;
  };
  hook("on_success", j.on_success);
  hook("on_failure", j.on_failure);
  hook("on_abort", j.on_abort);
  hook("on_error", j.on_error);
  hook("ensure", j.ensure);
  if (const value* p = f.find("plan"); p != nullptr && !p->is_null()) {
    if (p->is_sequence()) j.plan = p->as_sequence();
    else f.error("field plan must be a list of steps, not " + std::string(json_type(*p)));
  }
}

inline std::string identifier(std::string_view what, std::size_t i, const std::string& name) {
  return name.empty() ? std::string(what) + "[" + std::to_string(i) + "]" : std::string(what) + "." + name;
}

}  // namespace detail

//! Loads a pipeline (see the file comment); `vars` (a `vars::variable_source`) are the
//! `-v`/`-y`/`-l` values. Every problem found is reported, one per line.
template <class V>
result<pipeline> load_pipeline(std::string_view text, const V& vars) {
  auto tree = yaml::parse(text, true);
  if (!tree) return fail(tree.error());
  if (tree->is_null()) return fail(errc::decode, "the pipeline is empty");
  if (!tree->is_mapping()) return fail(errc::decode, "a pipeline must be a map, not " + std::string(detail::json_type(*tree)));
  vars::evaluate_options opts;
  opts.expect_all_keys = false;  // the rest are credentials or local vars, resolved when a step runs
  opts.allow_empty_old_style = false;  // fly set-pipeline: `unbound variable in template: 'x'`
  auto evaluated = vars::evaluate(std::move(*tree), vars, opts);
  if (!evaluated) return fail(evaluated.error());
  std::vector<std::string> errors;
  pipeline p;
  detail::fields top(*evaluated, "pipeline", errors);
  auto section = [&](std::string_view key) -> const sequence* {
    const value* v = top.find(key);
    if (v == nullptr || v->is_null()) return nullptr;
    if (!v->is_sequence()) {
      errors.push_back(std::string(key) + ": must be a list, not " + std::string(detail::json_type(*v)));
      return nullptr;
    }
    return &v->as_sequence();
  };
  if (const sequence* rs = section("resources")) {
    for (std::size_t i = 0; i < rs->size(); ++i) {
      const value& v = (*rs)[i];
      resource r;
      detail::fields f(v, "resources[" + std::to_string(i) + "]", errors);
      if (!v.is_mapping()) {
        f.error("must be a map");
        continue;
      }
      r.name = f.string("name");
      const std::string id = detail::identifier("resources", i, r.name);
      detail::fields g(v, id, errors);
      g.only({"name", "old_name", "public", "webhook_token", "type", "source", "check_every", "check_timeout", "tags",
              "version", "icon"});
      r.type = g.string("type");
      r.source = g.map("source");
      r.tags = g.strings("tags");
      if (r.name.empty()) errors.push_back(id + " has no name");
      if (r.type.empty()) errors.push_back(id + " has no type");
      p.resources.push_back(std::move(r));
    }
  }
  if (const sequence* ts = section("resource_types")) {
    for (std::size_t i = 0; i < ts->size(); ++i) {
      const value& v = (*ts)[i];
      resource_type t;
      detail::fields f(v, "resource_types[" + std::to_string(i) + "]", errors);
      if (!v.is_mapping()) {
        f.error("must be a map");
        continue;
      }
      t.name = f.string("name");
      const std::string id = detail::identifier("resource_types", i, t.name);
      detail::fields g(v, id, errors);
      g.only({"name", "type", "source", "defaults", "privileged", "check_every", "tags", "params", "check_setup_error",
              "check_error", "unique_version_history"});
      t.type = g.string("type");
      t.source = g.map("source");
      t.privileged = g.boolean("privileged");
      if (t.name.empty()) errors.push_back(id + " has no name");
      if (t.type.empty()) errors.push_back(id + " has no type");
      p.resource_types.push_back(std::move(t));
    }
  }
  if (const sequence* js = section("jobs")) {
    std::set<std::string> names;
    for (std::size_t i = 0; i < js->size(); ++i) {
      const value& v = (*js)[i];
      job_config j;
      j.index = i;
      if (!v.is_mapping()) {
        errors.push_back("jobs[" + std::to_string(i) + "]: must be a map");
        continue;
      }
      detail::fields f(v, "jobs[" + std::to_string(i) + "]", errors);
      const std::string id = detail::identifier("jobs", i, f.string("name"));
      detail::decode_job_fields(v, id, j, errors);
      if (j.name.empty()) errors.push_back(id + " has no name");
      else if (!names.insert(j.name).second) errors.push_back("jobs." + j.name + ": duplicate job name");
      p.jobs.push_back(std::move(j));
    }
  }
  if (!errors.empty()) return fail(errc::decode, detail::joined(errors));
  return p;
}

//! Decodes job `name` of `p` into a plan tree (see the file comment). An unknown job is
//! `unknown job 'x' (jobs: a, b)`.
inline result<decoded_job> decode_job(const pipeline& p, std::string_view name) {
  const job_config* j = p.find_job(name);
  if (j == nullptr) {
    std::string names;
    for (const auto& x : p.jobs) names += (names.empty() ? "" : ", ") + x.name;
    return fail(errc::usage, "unknown job '" + std::string(name) + "' (jobs: " + (names.empty() ? "none" : names) + ")");
  }
  std::vector<std::string> errors, warnings;
  detail::job_decoder d(p, "jobs." + j->name, errors, warnings);
  std::vector<detail::node> steps;
  for (std::size_t i = 0; i < j->plan.size(); ++i) steps.push_back(d.step(j->plan[i], ".plan.do[" + std::to_string(i) + "]", false));
  detail::node root = plan::do_node<leaf>(std::move(steps));
  // atc/job_config.go: on_success, on_failure, on_abort, on_error, then ensure outermost.
  auto hook = [&](const std::optional<value>& h, std::string_view key, plan::hook_kind kind) {
    if (!h) return;
    root = plan::hook_node(kind, std::move(root), d.step(*h, ".plan." + std::string(key), false));
  };
  hook(j->on_success, "on_success", plan::hook_kind::on_success);
  hook(j->on_failure, "on_failure", plan::hook_kind::on_failure);
  hook(j->on_abort, "on_abort", plan::hook_kind::on_abort);
  hook(j->on_error, "on_error", plan::hook_kind::on_error);
  hook(j->ensure, "ensure", plan::hook_kind::ensure);
  if (!errors.empty()) return fail(errc::decode, detail::joined(errors));
  return decoded_job{j->name, std::move(root), std::move(warnings)};
}

}  // namespace taskstep::job
