#pragma once
//! \file
//! Kept runs: what a worker leaves on disk when it was asked to keep a run that did not succeed
//! (`keep` in `local_process_options` / `oci_runc_options`), so that `taskstep intercept` can open a
//! shell in it later (worker/intercept.hpp), like `fly intercept`.
//!
//! - A run is kept when `keep` is set and its process ran and did not succeed: a non-zero exit
//!   status, or a stop (abort, timeout). A succeeded run, or one that never started (a staging
//!   error), is never kept.
//! - The run directory (`<work_root>/run-XXXXXX`) then stays whole: the working directory with the
//!   task's files, the writable layers (`upper`/`work`) of every overlay, and for the oci worker the
//!   bundle (`config.json`, the rootfs overlay's layers). Nothing stays mounted: every overlay is
//!   recorded (lower, upper, work, target) and re-created by `intercept` in a private mount namespace.
//! - `kept.json` in the run directory is the record (`kept_run`), mode 0600. It holds the task's
//!   environment, which may hold secrets (params, interpolated credentials): only the owner can read
//!   it, and `remove_kept_run` deletes it with the run.
//! - `kept.json` is also the marker the reapers respect: `reap_stale_runs` and
//!   `build::reap_stale_private_dirs` never remove a run directory (or a run root) that holds one,
//!   and `release(run_result)` leaves a kept run directory in place. A kept run lives until it is
//!   removed (`taskstep intercept --rm`).
//!
//! Writing the record needs no JSON library (core/json.hpp's string escaping); reading it lives in
//! worker/intercept.hpp, with the container parts.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "taskstep/core/json.hpp"
#include "taskstep/core/result.hpp"
#include "taskstep/worker/reaper.hpp"  // kept_record_name, is_kept_run

namespace taskstep::worker {

//! One overlay of a kept run, re-created when the run is entered. `target` is relative to the run
//! directory and opened one component at a time without following links (a task may have put a
//! link on the way).
struct kept_mount {
  std::string target;            //!< e.g. `work/src` (an input) or `bundle/rootfs` (an oci rootfs)
  std::filesystem::path lower;   //!< the read-only source (an input's directory, the image's rootfs)
  std::filesystem::path upper;   //!< the task's writes
  std::filesystem::path work;    //!< overlayfs's work directory
  bool metacopy = false;         //!< try `metacopy=on` first (the user-namespaced rootfs was mounted so)
};

//! What `kept.json` says about a kept run.
struct kept_run {
  std::string worker;                 //!< `local` or `oci`
  std::string task;                   //!< the step's name (`one-off` for `taskstep execute`)
  std::string job;                    //!< the job, empty for a one-off build
  std::int64_t created = 0;           //!< when the run ended (seconds since the epoch)
  int exit_status = 0;                //!< the task's exit status (meaningless when `stopped`)
  bool stopped = false;               //!< the run was stopped (abort, timeout)
  std::vector<std::string> env;       //!< the task's environment, exactly (`NAME=value`)
  std::string dir;                    //!< the working directory: relative to the run directory (local), in the container (oci)
  std::string user;                   //!< the user the task ran as; empty = as the worker
  std::uint32_t uid = 0, gid = 0;     //!< that user's ids (inside the container for oci)
  std::vector<kept_mount> mounts;     //!< host-side overlays, in mount order
  std::string bundle;                 //!< oci: the bundle, relative to the run directory (`bundle`)
  std::filesystem::path runc_state_root;  //!< oci: runc's `--root`
  std::string runc;                   //!< oci: the runc program
};

namespace detail {

inline void kept_field(std::string& out, const char* key, std::string_view value, bool first = false) {
  if (!first) out += ',';
  append_json_string(out, key);
  out += ':';
  append_json_string(out, value);
}

inline void kept_strings(std::string& out, const char* key, const std::vector<std::string>& values) {
  out += ',';
  append_json_string(out, key);
  out += ":[";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i != 0) out += ',';
    append_json_string(out, values[i]);
  }
  out += ']';
}

}  // namespace detail

//! `record` as the JSON text of `kept.json` (one object; see `kept_run` for the keys).
inline std::string to_json(const kept_run& record) {
  using detail::kept_field;
  std::string out = "{";
  kept_field(out, "worker", record.worker, true);
  kept_field(out, "task", record.task);
  kept_field(out, "job", record.job);
  out += ",\"created\":" + std::to_string(record.created);
  out += ",\"exit_status\":" + std::to_string(record.exit_status);
  out += std::string(",\"stopped\":") + (record.stopped ? "true" : "false");
  detail::kept_strings(out, "env", record.env);
  kept_field(out, "dir", record.dir);
  kept_field(out, "user", record.user);
  out += ",\"uid\":" + std::to_string(record.uid) + ",\"gid\":" + std::to_string(record.gid);
  out += ",\"mounts\":[";
  for (std::size_t i = 0; i < record.mounts.size(); ++i) {
    const auto& m = record.mounts[i];
    out += i != 0 ? ",{" : "{";
    kept_field(out, "target", m.target, true);
    kept_field(out, "lower", m.lower.string());
    kept_field(out, "upper", m.upper.string());
    kept_field(out, "work", m.work.string());
    out += std::string(",\"metacopy\":") + (m.metacopy ? "true" : "false") + "}";
  }
  out += ']';
  kept_field(out, "bundle", record.bundle);
  kept_field(out, "runc_state_root", record.runc_state_root.string());
  kept_field(out, "runc", record.runc);
  out += "}\n";
  return out;
}

//! Writes `record` as `<run_dir>/kept.json`, mode 0600 (it holds the task's environment), through a
//! temporary file renamed into place, so a reader never sees half a record. `created` is set to now
//! when it is 0.
inline result<void> write_kept_run(const std::filesystem::path& run_dir, kept_run record) {
  if (record.created == 0) record.created = static_cast<std::int64_t>(std::time(nullptr));
  const std::string text = to_json(record);
  const auto tmp = run_dir / ".kept.json.tmp";
  const auto path = run_dir / kept_record_name;
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return fail(errc::io, "could not write " + tmp.string() + ": " + std::strerror(errno));
  std::size_t done = 0;
  while (done < text.size()) {
    const auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      (void)::unlink(tmp.c_str());
      return fail(errc::io, "could not write " + tmp.string() + ": " + std::strerror(err));
    }
    done += static_cast<std::size_t>(n);
  }
  (void)::fchmod(fd, 0600);  // whatever the umask
  if (::close(fd) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    (void)::unlink(tmp.c_str());
    return fail(errc::io, "could not write " + path.string() + ": " + std::strerror(err));
  }
  return {};
}

//! The kept run directories (`run-*` holding a record) directly below `dir`, sorted by name.
inline std::vector<std::filesystem::path> kept_runs_in(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("run-", 0) != 0 || entry.is_symlink(ec) || !entry.is_directory(ec)) continue;
    if (is_kept_run(entry.path())) out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace taskstep::worker
