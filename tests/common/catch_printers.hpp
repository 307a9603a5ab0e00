#pragma once
// Catch2 printers for taskstep types that Catch cannot show by itself.

#include <catch2/catch.hpp>

#include <string>

#include "taskstep/core/task_config.hpp"

namespace Catch {

template <>
struct StringMaker<taskstep::task_env> {
  static std::string convert(const taskstep::task_env& env) {
    std::string out = "{";
    bool first = true;
    for (const auto& [k, v] : env) {
      if (!first) out += ", ";
      first = false;
      out += k + "=" + Catch::Detail::stringify(v);
    }
    return out + "}";
  }
};

}  // namespace Catch
