#pragma once
// Shared by the benchmarks: an in-memory artifact repository (the idea of tests/step's
// memory_artifacts, copied here so benchmarks never include tests/) and the task.yml texts.
#include <cstddef>
#include <filesystem>
#include <map>
#include <functional>
#include <string>
#include <string_view>

// GCC 12 at -O3 (Release) reports a false -Warray-bounds inside `first_fit::narrow_in_place`
// (`candidates.resize(1)` when size() > 1: it believes the growing branch of resize() is reachable).
// Scoped to that header; include bench_support.hpp before any other taskstep header.
// (A fix in the header: `candidates.erase(candidates.begin() + 1, candidates.end())`.)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Warray-bounds"
#endif
#include "taskstep/placement/first_fit.hpp"
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#include "taskstep/core/result.hpp"

namespace bench {

// The build's artifacts: name → (fake) directory. Models taskstep::artifact_repository.
struct memory_artifacts {
  std::map<std::string, std::filesystem::path, std::less<>> dirs;
  const std::filesystem::path* find(std::string_view name) const {
    auto it = dirs.find(name);
    return it == dirs.end() ? nullptr : &it->second;
  }
  bool contains(std::string_view name) const { return find(name) != nullptr; }
  taskstep::result<std::string> read_file(std::string_view, std::string_view path) const {
    return taskstep::fail(taskstep::errc::config_not_found, "file not found: " + std::string(path));
  }
  void add(std::string name, std::filesystem::path dir) { dirs[std::move(name)] = std::move(dir); }
};

// A small task.yml: what `fly execute` examples look like.
inline const std::string small_task = R"(platform: linux
run:
  path: echo
  args: [hello, ((greeting))]
params:
  GREETING: hi
)";

// A typical pipeline task: image, a few inputs/outputs/caches/params, limits, ((vars)).
inline const std::string typical_task = R"(---
platform: linux

image_resource:
  type: registry-image
  source:
    repository: golang
    tag: "1.15"
    username: ((registry.user))
    password: ((registry.password))

inputs:
- name: source
- name: version
  optional: true
- name: ci
  path: ci-scripts

outputs:
- name: built
- name: reports
  path: out/reports

caches:
- path: go/pkg/mod
- path: .cache/go-build

params:
  GOFLAGS: -mod=readonly
  CGO_ENABLED: 0
  VERBOSE: false
  RELEASE_CHANNEL: ((channel))
  API_TOKEN: ((api.token))
  RETRIES: 3
  TIMEOUT: 30s
  TARGETS: linux/amd64 linux/arm64

container_limits:
  cpu: 512
  memory: 1GB

run:
  path: ci-scripts/build.sh
  dir: source
  args:
  - --output
  - ../built
  - --channel
  - ((channel))
)";

// A large task: many params, inputs, outputs and caches (generated, deterministic).
inline std::string make_large_task(int params = 200, int inputs = 50, int outputs = 20, int caches = 10) {
  std::string t = "platform: linux\nimage_resource:\n  type: registry-image\n  source:\n"
                  "    repository: ((registry.repo))\n    tag: latest\n";
  t += "inputs:\n";
  for (int i = 0; i < inputs; ++i) {
    t += "- name: input-" + std::to_string(i) + "\n";
    if (i % 3 == 0) t += "  path: inputs/in-" + std::to_string(i) + "\n";
    if (i % 5 == 0) t += "  optional: true\n";
  }
  t += "outputs:\n";
  for (int i = 0; i < outputs; ++i) t += "- name: output-" + std::to_string(i) + "\n";
  t += "caches:\n";
  for (int i = 0; i < caches; ++i) t += "- path: cache/dir-" + std::to_string(i) + "\n";
  t += "params:\n";
  for (int i = 0; i < params; ++i) {
    t += "  PARAM_" + std::to_string(i) + ": ";
    switch (i % 5) {
      case 0: t += "((secret-" + std::to_string(i) + "))\n"; break;
      case 1: t += std::to_string(i * 7) + "\n"; break;
      case 2: t += "\"quoted value " + std::to_string(i) + "\"\n"; break;
      case 3: t += "plain value with some words " + std::to_string(i) + "\n"; break;
      default: t += "true\n"; break;
    }
  }
  t += "container_limits: {cpu: 1024, memory: 2GB}\n";
  t += "run:\n  path: sh\n  args:\n  - -exc\n  - |\n";
  for (int i = 0; i < 40; ++i) t += "    echo step " + std::to_string(i) + " && make target-" + std::to_string(i) + "\n";
  return t;
}

}  // namespace bench
