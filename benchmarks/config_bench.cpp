// The config pipeline on realistic task.yml texts (small, typical, large; see bench_support.hpp):
//
//   pipeline/<size>       yaml::parse_task_config(text) (libyaml parse + strict decode + validate), then
//                         static_source | override_params(step params) | interpolate(static_vars) |
//                         validating() and fetch(): everything a step does with an embedded config.
//   yaml_cpp_load/<size>  YAML::Load(text) with yaml-cpp 0.7: parsing the same text alone into a node
//                         tree (the baseline the issue names; built only when yaml-cpp is installed).
//   taskstep_parse/<size> yaml::parse(text): the project's own parse alone (libyaml → value tree).
//   libyaml_events/<size> libyaml's event stream alone, no tree: the floor of any libyaml-based parser.
//
// Run: build/benchmarks/config_bench [--benchmark_repetitions=5]
#include "bench_support.hpp"  // first: see the note on first_fit there

#include <benchmark/benchmark.h>
#include <yaml.h>

#include <string>
#include <utility>

#include "taskstep/config/config.hpp"
#include "taskstep/vars/variables.hpp"
#include "taskstep/yaml/decode.hpp"
#include "taskstep/yaml/parse.hpp"

#ifdef TASKSTEP_BENCH_HAVE_YAML_CPP
#include <yaml-cpp/yaml.h>
#endif

using namespace taskstep;

namespace {

enum size_kind : int { small = 0, typical = 1, large = 2 };

const std::string& text_of(std::int64_t kind) {
  static const std::string large_text = bench::make_large_task();
  switch (kind) {
    case small: return bench::small_task;
    case typical: return bench::typical_task;
    default: return large_text;
  }
}

value map_of(std::initializer_list<std::pair<const char*, const char*>> kv) {
  mapping m;
  for (const auto& [k, v] : kv) m.push_back(map_entry{value(k), value(v)});
  return value(std::move(m));
}

vars::static_vars vars_for() {
  vars::static_vars v;
  v.set("greeting", value("hello"));
  v.set("channel", value("stable"));
  v.set("registry", map_of({{"user", "ci-bot"}, {"password", "s3cr3t-pa55"}, {"repo", "example/builder"}}));
  v.set("api", map_of({{"token", "tok-0123456789abcdef"}}));
  for (int i = 0; i < 200; i += 5) v.set("secret-" + std::to_string(i), value("secret value " + std::to_string(i)));
  return v;
}

task_env step_params_for(std::int64_t kind) {
  switch (kind) {
    case small: return task_env{{"GREETING", "hey"}};
    case typical: return task_env{{"RETRIES", "5"}, {"VERBOSE", "true"}, {"TIMEOUT", "1m"}};
    default: {
      task_env e;
      for (int i = 1; i < 200; i += 10) e["PARAM_" + std::to_string(i)] = "override " + std::to_string(i);
      return e;
    }
  }
}

void set_bytes(benchmark::State& state, const std::string& text) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
  state.counters["bytes"] = static_cast<double>(text.size());
}

void pipeline(benchmark::State& state) {
  const std::string& text = text_of(state.range(0));
  const auto variables = vars_for();
  const auto params = step_params_for(state.range(0));
  for (auto _ : state) {
    auto parsed = yaml::parse_task_config(text);
    if (!parsed) {
      state.SkipWithError(parsed.error().message().c_str());
      break;
    }
    auto source = config::static_source(std::move(*parsed)) | config::override_params(params) |
                  config::interpolate(variables) | config::validating();
    auto config = source.fetch();
    if (!config) {
      state.SkipWithError(config.error().message().c_str());
      break;
    }
    benchmark::DoNotOptimize(config);
  }
  set_bytes(state, text);
}

void taskstep_parse(benchmark::State& state) {
  const std::string& text = text_of(state.range(0));
  for (auto _ : state) {
    auto tree = yaml::parse(text);
    if (!tree) {
      state.SkipWithError(tree.error().message().c_str());
      break;
    }
    benchmark::DoNotOptimize(tree);
  }
  set_bytes(state, text);
}

void libyaml_events(benchmark::State& state) {
  const std::string& text = text_of(state.range(0));
  for (auto _ : state) {
    yaml_parser_t parser;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, reinterpret_cast<const unsigned char*>(text.data()), text.size());
    std::size_t events = 0;
    bool done = false;
    while (!done) {
      yaml_event_t event;
      if (!yaml_parser_parse(&parser, &event)) {
        state.SkipWithError("libyaml parse error");
        break;
      }
      done = event.type == YAML_STREAM_END_EVENT;
      ++events;
      yaml_event_delete(&event);
    }
    yaml_parser_delete(&parser);
    benchmark::DoNotOptimize(events);
  }
  set_bytes(state, text);
}

#ifdef TASKSTEP_BENCH_HAVE_YAML_CPP
void yaml_cpp_load(benchmark::State& state) {
  const std::string& text = text_of(state.range(0));
  for (auto _ : state) {
    YAML::Node node = YAML::Load(text);
    benchmark::DoNotOptimize(node);
  }
  set_bytes(state, text);
}
#endif

void sizes(benchmark::internal::Benchmark* b) {
  b->ArgName("size")->Arg(small)->Arg(typical)->Arg(large)->Unit(benchmark::kMicrosecond);
}

}  // namespace

BENCHMARK(pipeline)->Apply(sizes);
#ifdef TASKSTEP_BENCH_HAVE_YAML_CPP
BENCHMARK(yaml_cpp_load)->Apply(sizes);
#endif
BENCHMARK(taskstep_parse)->Apply(sizes);
BENCHMARK(libyaml_events)->Apply(sizes);
BENCHMARK_MAIN();
