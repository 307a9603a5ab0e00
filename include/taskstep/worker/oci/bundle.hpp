#pragma once
//! \file
//! OCI runtime bundles: the `config.json` that runc (and Slurm's `srun --container`) reads, built
//! as a JSON document with nlohmann-json, never by pasting strings.
//!
//! The defaults follow Concourse 6.7's containerd backend (worker/runtime/spec):
//! - **Mounts** for every container: a fresh `/proc`, `/dev` (tmpfs with runc's default device
//!   nodes), `/dev/pts`, `/dev/shm`, `/dev/mqueue`, read-only `/sys` and `/sys/fs/cgroup`, `/run`;
//!   taskstep adds a fresh tmpfs `/tmp` (the working directory is mounted below it). Every container
//!   has its own **cgroup namespace**, so `/sys/fs/cgroup` shows its own cgroup (and limits) as root.
//! - **Unprivileged** (the default): pid, ipc, uts, mount and cgroup namespaces; Concourse's unprivileged
//!   capability set (AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD, NET_BIND_SERVICE,
//!   NET_RAW, SETFCAP, SETGID, SETPCAP, SETUID, SYS_CHROOT); device cgroup denying all but runc's
//!   defaults; runc's masked and read-only /proc paths. With `user_namespace`, container ids
//!   0..65535 map to host `userns_root + n` (an unused range, `user_namespace_base`), as in Concourse.
//! - **Privileged**: the same namespaces without a user namespace; every capability the host's
//!   bounding set still holds (asking for one it lacks makes runc fail); all devices allowed; no
//!   masked paths.
//! - **Network**: taskstep has no CNI, so containers share the host's network namespace (Concourse
//!   gives each container its own bridged network); `/etc/hosts` and `/etc/resolv.conf` are the
//!   host's, read-only.
//! - **Limits**: `memory` → `linux.resources.memory.limit` and `.swap` (Concourse sets both, so
//!   swap cannot extend the limit); `cpu_shares` → `linux.resources.cpu.shares` (runc converts it
//!   to a cgroup v2 weight on v2 hosts).
//! - `PATH` defaults to Concourse's (`/usr/local/bin:/usr/bin:/bin`, the superuser one when
//!   privileged) when the environment has none.

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "taskstep/core/result.hpp"

namespace taskstep::worker::oci {

//! One entry of `config.json`'s `mounts`.
struct mount {
  std::string destination;
  std::string type;
  std::string source;
  std::vector<std::string> options;
};

//! A read-write bind mount of a host directory.
inline mount bind_mount(std::string destination, const std::filesystem::path& source, bool read_only = false) {
  return {std::move(destination), "bind", source.string(), {"rbind", read_only ? "ro" : "rw"}};
}

//! A copy-on-write view of `lower` (overlayfs): writes land in `upper`, `lower` never changes.
//! The three paths must be free of `,` `:` and `\` (see `artifact::overlay_safe_path`).
inline mount overlay_mount(std::string destination, const std::filesystem::path& lower,
                           const std::filesystem::path& upper, const std::filesystem::path& work) {
  return {std::move(destination), "overlay", "overlay",
          {"lowerdir=" + lower.string(), "upperdir=" + upper.string(), "workdir=" + work.string()}};
}

//! Everything `config.json` says about one container and its process.
struct bundle_spec {
  std::filesystem::path rootfs;         //!< `root.path` (absolute; not a symlink)
  std::vector<std::string> args;        //!< argv of the process, argv[0] first
  std::vector<std::string> env;         //!< exactly the environment (`PATH` added when missing)
  std::string cwd = "/";                //!< absolute path inside the container
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::vector<std::uint32_t> additional_gids;
  std::string hostname;
  bool privileged = false;
  bool user_namespace = false;          //!< unprivileged only: container ids 0..65535 → host `userns_root + n`
  std::uint32_t userns_root = 65536;    //!< host uid/gid of container root (the map's base) in a user namespace
  std::optional<std::uint64_t> memory;  //!< bytes; 0 or none = unlimited
  bool memory_swap = true;              //!< also set `swap` = `memory` (needs swap accounting on v1)
  std::optional<std::uint64_t> cpu_shares;
  std::string cgroups_path;             //!< `linux.cgroupsPath` (empty = runc's default)
  std::vector<mount> mounts;            //!< after the defaults, in order (parents first)
};

//! How many ids a user namespace maps (container 0..65535).
inline constexpr std::uint32_t userns_size = 65536;

//! The host id where the user namespace's map starts: the first multiple of 65536 (from 65536)
//! whose 65536 ids no range in `<etc>/subuid` or `<etc>/subgid` (rootless containers' ids) and no
//! uid or gid in `<etc>/passwd` or `<etc>/group` uses; so a container uid never owns a host user's
//! files. Computed per call (cheap); workers call it once.
inline std::uint32_t user_namespace_base(const std::filesystem::path& etc = "/etc") {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> used;  // [first, last]
  auto number = [](const std::string& f) -> std::optional<std::uint64_t> {
    if (f.empty() || f.size() > 10 || !std::all_of(f.begin(), f.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return std::nullopt;
    return std::stoull(f);
  };
  auto fields = [](const std::string& line) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string part; std::getline(ss, part, ':');) f.push_back(part);
    return f;
  };
  for (const char* file : {"subuid", "subgid"}) {
    std::ifstream in(etc / file);
    for (std::string line; std::getline(in, line);) {
      const auto f = fields(line);
      if (f.size() < 3) continue;
      const auto first = number(f[1]), count = number(f[2]);
      if (first && count && *count > 0) used.emplace_back(*first, *first + *count - 1);
    }
  }
  for (const char* file : {"passwd", "group"}) {
    std::ifstream in(etc / file);
    for (std::string line; std::getline(in, line);) {
      const auto f = fields(line);
      if (f.size() < 3) continue;
      if (const auto id = number(f[2]); id && *id != 65534 && *id != 4294967294u) used.emplace_back(*id, *id);
    }
  }
  for (std::uint64_t base = userns_size; base + userns_size <= 0xFFFFFFFFull; base += userns_size) {
    const std::uint64_t last = base + userns_size - 1;
    if (std::none_of(used.begin(), used.end(), [&](const auto& r) { return r.first <= last && r.second >= base; }))
      return static_cast<std::uint32_t>(base);
  }
  return userns_size;
}

//! Concourse's unprivileged capability set.
inline constexpr std::string_view unprivileged_capabilities[] = {
    "CAP_AUDIT_WRITE", "CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FOWNER",  "CAP_FSETID",
    "CAP_KILL",        "CAP_MKNOD",  "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SETFCAP",
    "CAP_SETGID",      "CAP_SETPCAP", "CAP_SETUID",      "CAP_SYS_CHROOT"};

//! Linux capability names by number (0 … 40).
inline constexpr std::string_view capability_names[] = {
    "CAP_CHOWN",          "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",       "CAP_FSETID",
    "CAP_KILL",           "CAP_SETGID",       "CAP_SETUID",          "CAP_SETPCAP",      "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",    "CAP_NET_RAW",      "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",      "CAP_SYS_MODULE",   "CAP_SYS_RAWIO",       "CAP_SYS_CHROOT",   "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",      "CAP_SYS_ADMIN",    "CAP_SYS_BOOT",        "CAP_SYS_NICE",     "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",       "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",         "CAP_LEASE",        "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",  "CAP_SETFCAP",      "CAP_MAC_OVERRIDE",    "CAP_MAC_ADMIN",    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",     "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",     "CAP_PERFMON",      "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE"};

//! The capabilities this process may hand on: its bounding set (`CapBnd` in /proc/self/status).
inline std::vector<std::string> bounding_capabilities() {
  std::ifstream in("/proc/self/status");
  std::string line;
  std::uint64_t mask = ~std::uint64_t{0};
  while (std::getline(in, line))
    if (line.rfind("CapBnd:", 0) == 0) mask = std::stoull(line.substr(7), nullptr, 16);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < std::size(capability_names); ++i)
    if ((mask >> i) & 1u) out.emplace_back(capability_names[i]);
  return out;
}

//! The capability list of a container: Concourse's set (or, privileged, all), restricted to what
//! this process's bounding set holds.
inline std::vector<std::string> container_capabilities(bool privileged) {
  auto bounding = bounding_capabilities();
  if (privileged) return bounding;
  std::vector<std::string> out;
  for (auto c : unprivileged_capabilities)
    if (std::find(bounding.begin(), bounding.end(), c) != bounding.end()) out.emplace_back(c);
  return out;
}

//! `config.json` for `spec`.
inline nlohmann::json bundle_config(const bundle_spec& spec) {
  using nlohmann::json;
  const auto caps = container_capabilities(spec.privileged);
  std::vector<std::string> env = spec.env;
  const bool has_path = std::any_of(env.begin(), env.end(), [](const std::string& e) { return e.rfind("PATH=", 0) == 0; });
  if (!has_path)
    env.emplace_back(spec.privileged ? "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
                                     : "PATH=/usr/local/bin:/usr/bin:/bin");

  json process = {
      {"terminal", false},
      {"user", {{"uid", spec.uid}, {"gid", spec.gid}}},
      {"args", spec.args},
      {"env", env},
      {"cwd", spec.cwd},
      {"capabilities", {{"bounding", caps}, {"effective", caps}, {"permitted", caps}, {"inheritable", caps}}},
      {"noNewPrivileges", false},
  };
  if (!spec.additional_gids.empty()) process["user"]["additionalGids"] = spec.additional_gids;

  auto m = [](std::string dest, std::string type, std::string source, std::vector<std::string> options) {
    return json{{"destination", std::move(dest)}, {"type", std::move(type)}, {"source", std::move(source)},
                {"options", std::move(options)}};
  };
  json mounts = json::array({
      m("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}),
      m("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      m("/dev/pts", "devpts", "devpts", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}),
      m("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
      m("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
      m("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
      m("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}),
      m("/run", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      m("/tmp", "tmpfs", "tmpfs", {"nosuid", "nodev", "mode=1777"}),
  });
  std::error_code ec;
  for (const char* f : {"/etc/hosts", "/etc/resolv.conf"})
    if (std::filesystem::is_regular_file(f, ec)) mounts.push_back(m(f, "bind", f, {"rbind", "ro"}));
  if (spec.user_namespace && !spec.privileged) {
    // sysfs cannot be mounted from a user namespace that does not own the network namespace.
    // /sys/fs/cgroup stays a `cgroup` mount over it: inside the cgroup namespace runc mounts each
    // hierarchy with the container's own cgroup as its root (a bind would show the host's tree).
    mounts[5] = m("/sys", "bind", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro"});
  }
  for (const auto& x : spec.mounts) mounts.push_back(m(x.destination, x.type, x.source, x.options));

  // A cgroup namespace too: the container's /sys/fs/cgroup shows its own cgroup as the root (its
  // limits), not the host's tree.
  json namespaces = json::array(
      {{{"type", "pid"}}, {{"type", "ipc"}}, {{"type", "uts"}}, {{"type", "mount"}}, {{"type", "cgroup"}}});
  json linux = {{"namespaces", namespaces}};
  json resources = json::object();
  if (spec.privileged) {
    resources["devices"] = json::array({{{"allow", true}, {"access", "rwm"}}});
  } else {
    resources["devices"] = json::array({{{"allow", false}, {"access", "rwm"}}});
    linux["maskedPaths"] = {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                            "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
                            "/proc/scsi"};
    linux["readonlyPaths"] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
    if (spec.user_namespace) {
      linux["namespaces"].push_back({{"type", "user"}});
      // The whole container range on an unused host range: no container uid is a host user's.
      const json map = json::array({{{"containerID", 0}, {"hostID", spec.userns_root}, {"size", userns_size}}});
      linux["uidMappings"] = map;
      linux["gidMappings"] = map;
    }
  }
  if (spec.memory && *spec.memory != 0) {
    resources["memory"] = {{"limit", *spec.memory}};
    if (spec.memory_swap) resources["memory"]["swap"] = *spec.memory;
  }
  if (spec.cpu_shares && *spec.cpu_shares != 0) resources["cpu"] = {{"shares", *spec.cpu_shares}};
  linux["resources"] = resources;
  if (!spec.cgroups_path.empty()) linux["cgroupsPath"] = spec.cgroups_path;

  return json{{"ociVersion", "1.0.2"},
              {"process", process},
              {"root", {{"path", spec.rootfs.string()}, {"readonly", false}}},
              {"hostname", spec.hostname},
              {"mounts", mounts},
              {"linux", linux}};
}

//! Writes `<bundle>/config.json` for `spec` (the bundle directory must exist).
inline result<void> write_config(const std::filesystem::path& bundle, const bundle_spec& spec) {
  const auto path = bundle / "config.json";
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return fail(errc::io, "could not write " + path.string());
  out << bundle_config(spec).dump(2) << '\n';
  out.close();
  if (!out) return fail(errc::io, "could not write " + path.string());
  return {};
}

//! A user as the container's `/etc/passwd` defines it.
struct container_user {
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::string home;
};

//! Resolves `user` (a name, `uid` or `uid:gid`) against `<rootfs>/etc/passwd`, as Garden does:
//! an empty user is root; an unknown name is `unable to find user NAME: no matching entries in
//! passwd file`.
inline result<container_user> resolve_user(const std::filesystem::path& rootfs, const std::string& user) {
  container_user out{0, 0, "/root"};
  if (user.empty() || user == "root") return out;
  auto numeric = [](std::string_view s) -> std::optional<std::uint32_t> {
    if (s.empty() || s.size() > 9 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return std::nullopt;
    return static_cast<std::uint32_t>(std::stoul(std::string(s)));
  };
  const auto colon = user.find(':');
  const std::string name = user.substr(0, colon);
  std::ifstream in(rootfs / "etc" / "passwd");
  std::string line;
  bool found = false;
  while (!found && std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string part; std::getline(ss, part, ':');) f.push_back(part);
    if (f.size() < 4) continue;
    const auto id = numeric(f[2]);
    if (f[0] == name || (id && numeric(name) == id)) {
      out.uid = id.value_or(0);
      out.gid = numeric(f[3]).value_or(0);
      out.home = f.size() > 5 ? f[5] : "/";
      found = true;
    }
  }
  if (!found) {
    const auto id = numeric(name);
    if (!id) return fail(errc::worker, "unable to find user " + name + ": no matching entries in passwd file");
    out.uid = *id;
    out.gid = *id;
    out.home = "/";
  }
  if (colon != std::string::npos) {
    const auto gid = numeric(std::string_view(user).substr(colon + 1));
    if (!gid) return fail(errc::worker, "unable to find group " + user.substr(colon + 1) + " of user " + user);
    out.gid = *gid;
  }
  return out;
}

//! The directory a `rootfs_uri` names. Only `raw:///absolute/dir` works without a Concourse worker;
//! the messages are Concourse's (worker/runtime/spec).
inline result<std::filesystem::path> rootfs_from_uri(const std::string& uri) {
  const auto sep = uri.find("://");
  if (uri.empty()) return fail(errc::worker, "rootfs must not be empty");
  if (sep == std::string::npos) return fail(errc::worker, "malformatted rootfs: must be of form 'scheme://<abs_dir>'");
  const std::string scheme = uri.substr(0, sep), dir = uri.substr(sep + 3);
  if (scheme != "raw")
    return fail(errc::worker, "unsupported scheme '" + scheme + "' in rootfs_uri " + uri +
                                  ": taskstep runs raw:///absolute/path root filesystems (use image_resource for images)");
  if (dir.empty() || dir.front() != '/') return fail(errc::worker, "directory must be an absolute path");
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    return fail(errc::worker, "rootfs_uri " + uri + ": " + dir + " is not a directory");
  return std::filesystem::path(dir);
}

}  // namespace taskstep::worker::oci
