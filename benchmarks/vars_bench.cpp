// ((var)) interpolation and streaming redaction throughput (bytes/s of string data).
//
// Interpolation, over a value tree of 4,000 strings (~370 KB), a quarter holding ((var)) references
// among 100 variables (a few whole-value references, the rest inside text); shape 0 is one map of
// 4,000 keys, shape 1 is 40 maps of 100 keys:
//   evaluate            vars::evaluate(tree copy, static_vars)
//   hand_substitute     baseline: copy the tree, then a hand-written find("((") / find("))") / map
//                       lookup / splice over every string (no field paths, no typing, no errors)
//   tree_copy           the floor: copying the tree alone (evaluate takes the tree by value)
//
// Redaction, over a 1 MiB build log written in 4 KiB chunks, with 10, 100 or 1,000 secrets (~1 in 50 lines
// holds one):
//   redactor            vars::redactor (live: holds back only a possible secret prefix), as the step
//                       runs it on stdout
//   find_replace        baseline: the whole log in memory, std::string::find + replace per secret
//                       (not streaming; what one would write for a finished log)
//   copy                the floor: appending the chunks to an output string
//
// Run: build/benchmarks/vars_bench [--benchmark_repetitions=5]
#include "bench_support.hpp"  // first: see the note on first_fit there

#include <benchmark/benchmark.h>

#include <map>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "taskstep/core/value.hpp"
#include "taskstep/vars/redact.hpp"
#include "taskstep/vars/template.hpp"
#include "taskstep/vars/variables.hpp"

using namespace taskstep;

namespace {

constexpr int n_vars = 100;
constexpr int n_strings = 4000;

std::string var_value(int i) { return "value-of-variable-" + std::to_string(i); }

struct interpolation_input {
  value tree;
  vars::static_vars variables;
  std::map<std::string, std::string> flat;  // the same variables for the hand-written baseline
  std::size_t bytes = 0;
};

// shape 0: one map of 4,000 keys (a wide document); shape 1: 40 maps of 100 keys (a typical nesting).
const interpolation_input& interpolation(std::int64_t shape) {
  static std::map<std::int64_t, interpolation_input> cache;
  auto [it, inserted] = cache.try_emplace(shape);
  if (!inserted) return it->second;
  interpolation_input& r = it->second;
  for (int i = 0; i < n_vars; ++i) {
    r.variables.set("var-" + std::to_string(i), value(var_value(i)));
    r.flat["var-" + std::to_string(i)] = var_value(i);
  }
  std::mt19937 rng(7);
  const int width = shape == 0 ? n_strings : 100;
  mapping top, current;
  for (int i = 0; i < n_strings; ++i) {
    std::string s;
    const int ref = static_cast<int>(rng() % n_vars);
    switch (i % 8) {
      case 0: s = "((var-" + std::to_string(ref) + "))"; break;  // a whole-value reference
      case 1: s = "prefix text ((var-" + std::to_string(ref) + ")) and a suffix of some length here"; break;
      default: s = "plain configuration text for entry " + std::to_string(i) + " without any reference in it"; break;
    }
    r.bytes += s.size();
    current.push_back(map_entry{value("key-" + std::to_string(i)), value(std::move(s))});
    if (static_cast<int>(current.size()) == width) {
      top.push_back(map_entry{value("group-" + std::to_string(top.size())), value(std::move(current))});
      current.clear();
    }
  }
  r.tree = shape == 0 ? std::move(top.front().val) : value(std::move(top));
  return r;
}

void substitute_all(value& v, const std::map<std::string, std::string>& vars);

void evaluate(benchmark::State& state) {
  const auto& in = interpolation(state.range(0));
  for (auto _ : state) {
    auto out = vars::evaluate(in.tree, in.variables);
    if (!out) {
      state.SkipWithError(out.error().message().c_str());
      break;
    }
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * in.bytes));
}

void substitute(std::string& s, const std::map<std::string, std::string>& vars) {
  std::size_t pos = 0;
  while ((pos = s.find("((", pos)) != std::string::npos) {
    const std::size_t end = s.find("))", pos + 2);
    if (end == std::string::npos) return;
    auto it = vars.find(s.substr(pos + 2, end - pos - 2));
    if (it == vars.end()) {
      pos = end + 2;
      continue;
    }
    s.replace(pos, end + 2 - pos, it->second);
    pos += it->second.size();
  }
}

void substitute_all(value& v, const std::map<std::string, std::string>& vars) {
  if (v.is_string()) substitute(v.as_string(), vars);
  else if (v.is_mapping())
    for (auto& e : v.as_mapping()) substitute_all(e.val, vars);
}

void hand_substitute(benchmark::State& state) {
  const auto& in = interpolation(state.range(0));
  for (auto _ : state) {
    value out = in.tree;
    substitute_all(out, in.flat);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * in.bytes));
}

void tree_copy(benchmark::State& state) {
  const auto& in = interpolation(state.range(0));
  for (auto _ : state) {
    value out = in.tree;
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * in.bytes));
}

// ---------------------------------------------------------------------------------------------
constexpr std::size_t log_size = 1 << 20;
constexpr std::size_t chunk_size = 4096;

struct redaction_input {
  std::string log;
  std::vector<std::string> secrets;  // as the step gets them: vars::redaction_pieces
};

const redaction_input& redaction(int secrets) {
  static std::map<int, redaction_input> cache;
  auto [it, inserted] = cache.try_emplace(secrets);
  if (!inserted) return it->second;
  redaction_input& r = it->second;
  std::map<std::string, std::string> creds;
  std::mt19937 rng(11);
  for (int i = 0; i < secrets; ++i) {
    std::string v;
    for (int k = 0; k < 24; ++k) v += static_cast<char>('a' + rng() % 26);
    creds["secret-" + std::to_string(i)] = v + std::to_string(i);
  }
  r.secrets = vars::redaction_pieces(creds);
  std::vector<std::string> values;
  for (const auto& [k, v] : creds) values.push_back(v);
  int line = 0;
  while (r.log.size() < log_size) {
    r.log += "[" + std::to_string(line) + "] compiling module src/pkg/component_" + std::to_string(line % 97) +
             ".cpp with flags -O2 -Wall";
    if (line % 50 == 0) r.log += " token=" + values[static_cast<std::size_t>(line / 50) % values.size()];
    r.log += '\n';
    ++line;
  }
  r.log.resize(log_size);
  return r;
}

template <class F>
void chunks(const std::string& log, F&& f) {
  for (std::size_t pos = 0; pos < log.size(); pos += chunk_size)
    f(std::string_view(log).substr(pos, chunk_size));
}

void redactor(benchmark::State& state) {
  const auto& in = redaction(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    vars::redactor r(in.secrets);
    std::string out;
    chunks(in.log, [&](std::string_view c) { out += r.write(c); });
    out += r.flush();
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * in.log.size()));
}

void find_replace(benchmark::State& state) {
  const auto& in = redaction(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    std::string out;
    chunks(in.log, [&](std::string_view c) { out += c; });
    for (const auto& s : in.secrets) {
      std::size_t pos = 0;
      while ((pos = out.find(s, pos)) != std::string::npos) {
        out.replace(pos, s.size(), vars::redacted_text);
        pos += vars::redacted_text.size();
      }
    }
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * in.log.size()));
}

void copy(benchmark::State& state) {
  const auto& in = redaction(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    std::string out;
    chunks(in.log, [&](std::string_view c) { out += c; });
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * in.log.size()));
}

}  // namespace

BENCHMARK(evaluate)->ArgName("shape")->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);
BENCHMARK(hand_substitute)->ArgName("shape")->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);
BENCHMARK(tree_copy)->ArgName("shape")->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);
BENCHMARK(redactor)->ArgName("secrets")->Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMillisecond);
BENCHMARK(find_replace)->ArgName("secrets")->Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMillisecond);
BENCHMARK(copy)->ArgName("secrets")->Arg(10)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
