#pragma once
// Helpers for the container tests: a small busybox image built on the spot (rootfs/ + metadata.json,
// as Concourse's registry-image resource lays it out), a recording process_io, and the check that
// this machine can run containers at all.

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "common/recording_io.hpp"
#include "common/temp_dir.hpp"
#include "taskstep/worker/detail/command.hpp"
#include "taskstep/worker/detail/process.hpp"
#include "taskstep/worker/oci_runc.hpp"

namespace taskstep::test {

// Empty when runc containers can run here, else why not (the tests then say SKIPPED).
inline std::string containers_unavailable() {
  if (::geteuid() != 0) return "containers need root (running as uid " + std::to_string(::geteuid()) + ")";
  if (!worker::detail::find_program("runc", worker::detail::default_path, "/")) return "runc is not installed";
  if (!std::filesystem::exists("/bin/busybox")) return "busybox-static is not installed (/bin/busybox)";
  // The worker's default runs unprivileged tasks in a user namespace: where none can be created,
  // say so (the reason names --no-user-namespace) instead of failing with runc's message.
  if (const auto& why = worker::oci_runc<>::user_namespace_unavailable_reason(); !why.empty()) return why;
  return {};
}

// Writes a busybox image into `dir`: rootfs/ with every applet linked in /bin, /etc/passwd with
// root and `tester` (1000), and metadata.json with `env` and `user`.
inline void write_busybox_image(const std::filesystem::path& dir, const std::vector<std::string>& env,
                                const std::string& user = "") {
  namespace fs = std::filesystem;
  const fs::path root = dir / "rootfs";
  for (const char* d : {"bin", "etc", "tmp", "root", "home/tester", "proc", "sys", "dev", "usr/bin", "sbin"})
    fs::create_directories(root / d);
  fs::copy_file("/bin/busybox", root / "bin/busybox", fs::copy_options::overwrite_existing);
  auto list = worker::detail::run_command({"/bin/busybox", "--list"}, std::chrono::seconds(10));
  if (list) {
    std::string name;
    for (char c : list->out + "\n") {
      if (c == '\n') {
        if (!name.empty() && name != "busybox") {
          std::error_code ec;
          fs::create_symlink("busybox", root / "bin" / name, ec);
        }
        name.clear();
      } else {
        name += c;
      }
    }
  }
  std::ofstream(root / "etc/passwd") << "root:x:0:0:root:/root:/bin/sh\ntester:x:1000:1000:tester:/home/tester:/bin/sh\n";
  std::ofstream(root / "etc/group") << "root:x:0:\ntester:x:1000:\n";
  fs::permissions(root / "tmp", fs::perms::all | fs::perms::sticky_bit);
  std::string meta = "{\"env\":[";
  for (std::size_t i = 0; i < env.size(); ++i) meta += (i ? ",\"" : "\"") + env[i] + "\"";
  meta += "],\"user\":\"" + user + "\"}";
  std::ofstream(dir / "metadata.json") << meta;
}

using container_io = recording_io;

// Containers runc still knows in `state_root`.
inline std::string runc_list(const std::filesystem::path& state_root) {
  auto r = worker::detail::run_command({"runc", "--root", state_root.string(), "list", "-q"}, std::chrono::seconds(10));
  return r ? r->out : "runc list failed";
}

}  // namespace taskstep::test
