// Area 7: a container run of `true` in a busybox image (wall time per run):
//   raw_runc               baseline: `runc run` of a ready bundle (rootfs directory + config.json with
//                          the same namespaces and mounts, no user namespace), spawned and waited for:
//                          what any runc-based runner pays at least
//   worker_run/userns:U/tmpfs:T
//                          worker::oci_runc::run alone: run directory, overlay rootfs, config.json,
//                          runc run, cleanup. U=1 adds the user namespace (uid-shifting the rootfs
//                          through the overlay); T=1 puts the run directories on tmpfs (/dev/shm)
// Needs root and runc; otherwise each benchmark reports "SKIPPED: <reason>".
//
// Run: build/benchmarks/container_run_bench [--benchmark_repetitions=5]
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stop_token>
#include <string>

#include "taskstep/worker/detail/command.hpp"
#include "taskstep/worker/oci/bundle.hpp"
#include "taskstep/worker/oci_runc.hpp"

using namespace taskstep;
namespace fs = std::filesystem;

namespace {

const fs::path bench_root = fs::temp_directory_path() / "taskstep-bench-container";

std::string unavailable() {
  if (::geteuid() != 0) return "SKIPPED: containers need root";
  if (!worker::detail::find_program("runc", worker::detail::default_path, "/")) return "SKIPPED: runc is not installed";
  if (!fs::exists("/bin/busybox")) return "SKIPPED: /bin/busybox (busybox-static) is missing";
  return {};
}

// A busybox image: rootfs/ (busybox, sh, true) + metadata.json.
fs::path image() {
  const fs::path dir = bench_root / "image";
  if (fs::exists(dir / "metadata.json")) return dir;
  fs::create_directories(dir / "rootfs/bin");
  fs::create_directories(dir / "rootfs/etc");
  fs::copy_file("/bin/busybox", dir / "rootfs/bin/busybox", fs::copy_options::overwrite_existing);
  for (const char* a : {"sh", "true"}) fs::create_symlink("busybox", dir / "rootfs/bin" / a);
  std::ofstream(dir / "rootfs/etc/passwd") << "root:x:0:0:root:/root:/bin/sh\n";
  std::ofstream(dir / "metadata.json") << R"({"env":["PATH=/bin"],"user":""})";
  return dir;
}

struct discard_io {
  void starting() {}
  void out(std::string_view) {}
  void err(std::string_view) {}
};

void raw_runc(benchmark::State& state) {
  if (auto why = unavailable(); !why.empty()) return state.SkipWithError(why.c_str());
  const fs::path bundle = bench_root / "raw-bundle";
  fs::create_directories(bundle);
  worker::oci::bundle_spec spec;
  spec.rootfs = image() / "rootfs";
  spec.args = {"/bin/true"};
  spec.env = {"PATH=/bin"};
  (void)worker::oci::write_config(bundle, spec);
  int n = 0;
  for (auto _ : state) {
    const std::string id = "taskstep-bench-raw-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
    auto r = worker::detail::run_command({"runc", "--root", (bench_root / "state").string(), "run", "--bundle",
                                          bundle.string(), id},
                                         std::chrono::seconds(30));
    if (!r || r->status != 0) return state.SkipWithError("runc run failed");
  }
}
BENCHMARK(raw_runc)->Unit(benchmark::kMillisecond)->UseRealTime();

void worker_run(benchmark::State& state) {
  if (auto why = unavailable(); !why.empty()) return state.SkipWithError(why.c_str());
  worker::oci_runc_options o;
  // T=1: run directories on tmpfs (/dev/shm); /tmp here is ext4 mounted with `discard`, where
  // every rmdir costs milliseconds.
  o.work_root = state.range(1) != 0 ? fs::path("/dev/shm/taskstep-bench-container/runs") : bench_root / "runs";
  o.cache_root = bench_root / "caches";
  o.state_root = bench_root / "state";
  o.user_namespace = state.range(0) != 0;
  worker::oci_runc<> w(o);
  container_spec c;
  c.step_name = "bench";
  c.working_dir = "/tmp/build/bench";
  c.image = image_artifact{"image", image(), {}};
  c.env = {"PATH=/bin"};
  const process_spec p{"true", {}, "", ""};
  discard_io io;
  for (auto _ : state) {
    auto r = w.run(c, p, io, {});
    if (!r || r->exit_status != 0) return state.SkipWithError("oci_runc run failed");
  }
}
BENCHMARK(worker_run)->ArgNames({"userns", "tmpfs"})->Args({0, 0})->Args({1, 0})->Args({0, 1})->Args({1, 1})->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
