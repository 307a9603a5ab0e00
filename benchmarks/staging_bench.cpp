// Input staging on this machine: the local worker's two copy-on-write strategies for a tree of small
// files — a full copy (`artifact::copy_tree`) and an overlay mount (O(1), root only) — against `cp -a`.
// Run: build/benchmarks/staging_bench [--benchmark_min_time=0.1]
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "taskstep/artifact/staging.hpp"

namespace fs = std::filesystem;

namespace {

fs::path make_tree(int files) {
  const fs::path root = fs::temp_directory_path() / ("taskstep-bench-tree-" + std::to_string(files));
  if (fs::exists(root / "done")) return root;
  fs::remove_all(root);
  for (int i = 0; i < files; ++i) {
    const fs::path dir = root / "src" / ("d" + std::to_string(i / 100));
    fs::create_directories(dir);
    std::ofstream(dir / ("f" + std::to_string(i))) << std::string(4096, 'x');
  }
  std::ofstream(root / "done") << "";
  return root;
}

void copy_tree(benchmark::State& state) {
  const fs::path root = make_tree(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    const fs::path dst = root / "copy";
    auto r = taskstep::artifact::copy_tree(root / "src", dst);
    if (!r) state.SkipWithError(r.error().message().c_str());
    state.PauseTiming();
    fs::remove_all(dst);
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void cp_a(benchmark::State& state) {
  const fs::path root = make_tree(static_cast<int>(state.range(0)));
  const std::string cmd = "cp -a " + (root / "src").string() + " " + (root / "cpa").string();
  for (auto _ : state) {
    if (std::system(cmd.c_str()) != 0) state.SkipWithError("cp -a failed");
    state.PauseTiming();
    fs::remove_all(root / "cpa");
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void overlay(benchmark::State& state) {
  if (geteuid() != 0 || !taskstep::artifact::overlay_available()) {
    state.SkipWithError("SKIPPED: overlay mounts need root and overlayfs");
    return;
  }
  const fs::path root = make_tree(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    const fs::path base = root / "ovl";
    fs::create_directories(base / "upper");
    fs::create_directories(base / "work");
    fs::create_directories(base / "merged");
    auto r = taskstep::artifact::mount_overlay(root / "src", base / "upper", base / "work", base / "merged");
    if (!r) {
      state.SkipWithError(r.error().message().c_str());
      break;
    }
    (void)taskstep::artifact::unmount(base / "merged");
    state.PauseTiming();
    fs::remove_all(base);
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

}  // namespace

BENCHMARK(copy_tree)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(cp_a)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(overlay)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_MAIN();
