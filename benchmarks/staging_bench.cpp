// Input staging on this machine: the local worker's two copy-on-write strategies for a tree of small
// files — a full copy (`artifact::copy_tree`) and an overlay mount (O(1), root only) — against `cp -a`
// (coreutils 9 defaults to --reflink=auto, so `cp -a` reflinks where the filesystem can; ext4 and tmpfs
// here cannot).
// The same three over one big file (argument 0): its size is $TASKSTEP_BENCH_BIG_FILE_MIB MiB (default
// 16, so the smoke test stays short; run_all.sh sets 1024). Skipped when the disk lacks 3x that space.
// Untimed between iterations: removing the copy and sync(2) (see settle()). Arguments: the number
// of small files, or 0 for the big file.
// Run: build/benchmarks/staging_bench [--benchmark_min_time=0.1]
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>

#include "taskstep/artifact/staging.hpp"

namespace fs = std::filesystem;

namespace {

// Untimed, between iterations: write back what the last iteration left dirty (and the removal), so
// that an iteration never pays for its predecessor's writeback (the disk here is slow, and / is
// mounted with `discard`). Each iteration then measures staging into the page cache from a clean start.
void settle() { ::sync(); }

fs::path make_tree(int files) {
  const fs::path root = fs::temp_directory_path() / ("taskstep-bench-tree-" + std::to_string(files));
  if (fs::exists(root / "done")) return root;
  fs::remove_all(root);
  for (int i = 0; i < files; ++i) {
    // (path / "d" += number: GCC 12 gives a false -Wrestrict for `"d" + std::to_string(n)` at -O3.)
    fs::path dir = root / "src" / "d";
    dir += std::to_string(i / 100);
    fs::create_directories(dir);
    fs::path file = dir / "f";
    file += std::to_string(i);
    std::ofstream(file) << std::string(4096, 'x');
  }
  std::ofstream(root / "done") << "";
  settle();
  return root;
}

std::uint64_t big_file_mib() {
  const char* env = std::getenv("TASKSTEP_BENCH_BIG_FILE_MIB");
  const long v = env != nullptr ? std::atol(env) : 0;
  return v > 0 ? static_cast<std::uint64_t>(v) : 16;
}

// A directory `src` holding one file of `mib` MiB (non-zero bytes, so nothing is sparse); nullopt-like
// empty path when the disk lacks room for it and two copies.
fs::path make_big(std::uint64_t mib) {
  const fs::path root = fs::temp_directory_path() / ("taskstep-bench-big-" + std::to_string(mib));
  if (fs::exists(root / "done")) return root;
  std::error_code ec;
  const auto space = fs::space(fs::temp_directory_path(), ec);
  if (ec || space.available < 3 * mib * 1024 * 1024 + (1ull << 30)) return {};
  fs::remove_all(root);
  fs::create_directories(root / "src");
  {
    std::ofstream out(root / "src" / "big.bin", std::ios::binary);
    std::string block(1 << 20, '\0');
    for (std::size_t i = 0; i < block.size(); ++i) block[i] = static_cast<char>('a' + (i * 7919) % 26);
    for (std::uint64_t i = 0; i < mib; ++i) {
      block[0] = static_cast<char>(i);
      out.write(block.data(), static_cast<std::streamsize>(block.size()));
    }
  }
  std::ofstream(root / "done") << "";
  settle();
  return root;
}

fs::path root_for(benchmark::State& state) {
  if (state.range(0) > 0) return make_tree(static_cast<int>(state.range(0)));
  return make_big(big_file_mib());
}

void label(benchmark::State& state) {
  if (state.range(0) > 0) state.SetItemsProcessed(state.iterations() * state.range(0));
  else state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * big_file_mib() * 1024 * 1024));
}

void copy_tree(benchmark::State& state) {
  const fs::path root = root_for(state);
  if (root.empty()) {
    state.SkipWithError("SKIPPED: not enough free disk space for the big file and two copies");
    return;
  }
  for (auto _ : state) {
    const fs::path dst = root / "copy";
    auto r = taskstep::artifact::copy_tree(root / "src", dst);
    if (!r) state.SkipWithError(r.error().message().c_str());
    state.PauseTiming();
    fs::remove_all(dst);
    settle();
    state.ResumeTiming();
  }
  label(state);
}

void cp_a(benchmark::State& state) {
  const fs::path root = root_for(state);
  if (root.empty()) {
    state.SkipWithError("SKIPPED: not enough free disk space for the big file and two copies");
    return;
  }
  const std::string cmd = "cp -a " + (root / "src").string() + " " + (root / "cpa").string();
  for (auto _ : state) {
    if (std::system(cmd.c_str()) != 0) state.SkipWithError("cp -a failed");
    state.PauseTiming();
    fs::remove_all(root / "cpa");
    settle();
    state.ResumeTiming();
  }
  label(state);
}

void overlay(benchmark::State& state) {
  if (geteuid() != 0 || !taskstep::artifact::overlay_available()) {
    state.SkipWithError("SKIPPED: overlay mounts need root and overlayfs");
    return;
  }
  const fs::path root = root_for(state);
  if (root.empty()) {
    state.SkipWithError("SKIPPED: not enough free disk space for the big file and two copies");
    return;
  }
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
    settle();
    state.ResumeTiming();
  }
  label(state);
}

}  // namespace

// Arg: number of small files (4 KiB each, 100 per directory), or 0 for the one big file. The smoke
// test (TASKSTEP_BENCH_SMOKE set by CMake) skips the 10,000-file tree to stay within a few seconds.
int main(int argc, char** argv) {
  const bool smoke = std::getenv("TASKSTEP_BENCH_SMOKE") != nullptr;
  for (auto [name, fn] : {std::pair{"copy_tree", &copy_tree}, std::pair{"cp_a", &cp_a}, std::pair{"overlay", &overlay}}) {
    auto* b = benchmark::RegisterBenchmark(name, fn)->ArgName("files")->Arg(1000);
    if (!smoke) b->Arg(10000);
    b->Arg(0)->Unit(benchmark::kMillisecond)->UseRealTime();
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  // The small-file trees stay in $TMPDIR for the next run; the big file is too big to leave behind.
  std::error_code ec;
  fs::remove_all(fs::temp_directory_path() / ("taskstep-bench-big-" + std::to_string(big_file_mib())), ec);
  return 0;
}
