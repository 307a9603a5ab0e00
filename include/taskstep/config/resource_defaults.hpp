#pragma once
//! \file
//! `resource_defaults`: merges default `source` keys into `image_resource.source` by resource type
//! (Concourse 6.7's `BaseResourceTypeDefaultsApplySource`: shallow, keys in the task's source win, a
//! null source becomes the defaults).

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "taskstep/config/concepts.hpp"

namespace taskstep::config {

//! Resource type name → default source (a JSON-flavoured mapping).
using resource_type_defaults = std::map<std::string, value>;

//! Decorator applying `defaults` to the fetched config. Models `config_source`.
template <class Inner>
class resource_defaults_source {
  static_assert(config_source<Inner>, TASKSTEP_CONFIG_SOURCE_MESSAGE);

 public:
  resource_defaults_source(Inner inner, resource_type_defaults defaults)
      : inner_(std::move(inner)), defaults_(std::move(defaults)) {}

  result<task_config> fetch() {
    auto config = inner_.fetch();
    if (!config || !config->image_resource) return config;
    auto it = defaults_.find(config->image_resource->type);
    if (it == defaults_.end() || !it->second.is_mapping()) return config;
    value merged = it->second;
    merged.origin = value::map_kind::json;
    const value& own = config->image_resource->source.data;
    if (own.is_mapping()) {
      mapping_index index(merged.as_mapping());
      for (const auto& e : own.as_mapping()) index.set(merged.as_mapping(), e.key, e.val);
    }
    config->image_resource->source.data = std::move(merged);
    return config;
  }
  [[nodiscard]] std::vector<std::string> warnings() const { return inner_.warnings(); }

 private:
  Inner inner_;
  resource_type_defaults defaults_;
};

//! Pipe adaptor: `source | resource_defaults(defaults)`.
inline auto resource_defaults(resource_type_defaults defaults) {
  return [defaults = std::move(defaults)]<class S>(S inner) mutable {
    return resource_defaults_source<S>(std::move(inner), std::move(defaults));
  };
}

}  // namespace taskstep::config
