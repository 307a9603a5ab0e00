#pragma once
//! \file
//! A build's state as the plan layer sees it (Concourse's `RunState`): the artifact repository every
//! step reads inputs from and registers outputs into, and the build's local vars (`((.:name))`, set by
//! `load_var` and `across`). Steps of an `in_parallel` share one state, so both are guarded by a mutex.

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "taskstep/core/artifact.hpp"
#include "taskstep/core/value.hpp"
#include "taskstep/vars/variables.hpp"

namespace taskstep::plan {

//! One scope of local vars (`vars.BuildVariables`' local scope): lookups fall back to the parent,
//! `set` writes here only. Thread-safe.
class local_vars {
 public:
  local_vars() = default;
  explicit local_vars(std::shared_ptr<const local_vars> parent) : parent_(std::move(parent)) {}

  //! Adds (or replaces) `name` in this scope (`AddLocalVar`).
  void set(std::string name, value v) {
    std::lock_guard lock(mutex_);
    values_[std::move(name)] = std::move(v);
  }
  //! The value of `name` in this scope or the nearest enclosing one.
  [[nodiscard]] std::optional<value> find(std::string_view name) const {
    {
      std::lock_guard lock(mutex_);
      auto it = values_.find(name);
      if (it != values_.end()) return it->second;
    }
    return parent_ ? parent_->find(name) : std::nullopt;
  }
  //! Models `vars::variable_source` for `((.:name))` / `((.:name.field))`; other sources are not found here.
  [[nodiscard]] vars::lookup_result get(const vars::var_reference& ref) const {
    if (ref.source != ".") return std::optional<value>();
    auto v = find(ref.path);
    if (!v) return std::optional<value>();
    const value* at = &*v;
    for (const auto& f : ref.fields) {
      if (!at->is_mapping()) return std::optional<value>();
      at = at->find(value(f));
      if (at == nullptr) return std::optional<value>();
    }
    return std::optional<value>(*at);
  }
  [[nodiscard]] std::vector<vars::var_reference> list() const {
    std::vector<vars::var_reference> out = parent_ ? parent_->list() : std::vector<vars::var_reference>{};
    std::lock_guard lock(mutex_);
    for (const auto& [name, v] : values_) out.push_back(vars::var_reference{"." + std::string(":") + name, ".", name, {}});
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, value, std::less<>> values_;
  std::shared_ptr<const local_vars> parent_;
};

//! A `variable_source` view of a state's local vars (cheap to copy into `vars::multi_vars`).
class local_vars_ref {
 public:
  explicit local_vars_ref(std::shared_ptr<const local_vars> v) : vars_(std::move(v)) {}
  [[nodiscard]] vars::lookup_result get(const vars::var_reference& ref) const { return vars_->get(ref); }
  [[nodiscard]] std::vector<vars::var_reference> list() const { return vars_->list(); }

 private:
  std::shared_ptr<const local_vars> vars_;
};

static_assert(vars::variable_source<local_vars>);
static_assert(vars::variable_source<local_vars_ref>);

//! The build's artifact repository behind a mutex, so parallel steps may register outputs while
//! others look inputs up. Models `artifact_repository` whatever `R` is (`R` must model it).
template <class R>
class locked_artifacts {
  static_assert(artifact_repository<R>, TASKSTEP_ARTIFACT_REPOSITORY_MESSAGE);

 public:
  locked_artifacts(R& repository, std::mutex& mutex) : repository_(&repository), mutex_(&mutex) {}
  //! The artifact's directory; the pointer stays valid while no step replaces that same name.
  [[nodiscard]] const std::filesystem::path* find(std::string_view name) const {
    std::lock_guard lock(*mutex_);
    return repository_->find(name);
  }
  [[nodiscard]] bool contains(std::string_view name) const {
    std::lock_guard lock(*mutex_);
    return repository_->contains(name);
  }
  [[nodiscard]] result<std::string> read_file(std::string_view name, std::string_view path) const {
    std::lock_guard lock(*mutex_);
    return repository_->read_file(name, path);
  }
  void add(std::string name, std::filesystem::path dir) {
    std::lock_guard lock(*mutex_);
    repository_->add(std::move(name), std::move(dir));
  }
  R& unlocked() noexcept { return *repository_; }
  //! Calls `f(const R&)` with the repository locked (e.g. to list what it holds).
  template <class F>
  void visit(F&& f) const {
    std::lock_guard lock(*mutex_);
    f(static_cast<const R&>(*repository_));
  }

 private:
  R* repository_;
  std::mutex* mutex_;
};

//! A build's state over the repository `R` (e.g. `artifact::directory_repository`): models `plan_state`.
//! `scoped()` is the same build with a new local-var scope (what `across` gives each combination).
template <class R>
class basic_state {
  static_assert(artifact_repository<R>, TASKSTEP_ARTIFACT_REPOSITORY_MESSAGE);

 public:
  explicit basic_state(R& repository, std::shared_ptr<vars::credential_tracker> credentials = {})
      : shared_(std::make_shared<shared>(repository, std::move(credentials))),
        artifacts_(repository, shared_->mutex),
        locals_(std::make_shared<local_vars>()) {}

  //! The repository, guarded; what steps read inputs from and add outputs to.
  locked_artifacts<R>& artifacts() noexcept { return artifacts_; }
  //! This scope's local vars.
  local_vars& locals() noexcept { return *locals_; }
  //! The local vars as a `variable_source` to chain into interpolation.
  [[nodiscard]] local_vars_ref locals_ref() const { return local_vars_ref(locals_); }
  //! Where values that must be redacted are recorded (load_var without `reveal`); may be null.
  [[nodiscard]] const std::shared_ptr<vars::credential_tracker>& credentials() const noexcept { return shared_->credentials; }
  //! The same build with a child scope of local vars.
  [[nodiscard]] basic_state scoped() const { return basic_state(*this, std::make_shared<local_vars>(locals_)); }

 private:
  struct shared {
    shared(R& r, std::shared_ptr<vars::credential_tracker> c) : repository(&r), credentials(std::move(c)) {}
    R* repository;
    std::shared_ptr<vars::credential_tracker> credentials;
    std::mutex mutex;
  };
  basic_state(const basic_state& parent, std::shared_ptr<local_vars> locals)
      : shared_(parent.shared_), artifacts_(*shared_->repository, shared_->mutex), locals_(std::move(locals)) {}

  std::shared_ptr<shared> shared_;
  locked_artifacts<R> artifacts_;
  std::shared_ptr<local_vars> locals_;
};

//! What a step runs against: `artifacts()` (an artifact_repository), `locals()` (local vars), `scoped()`.
template <class S>
concept plan_state = requires(S& s, const S& cs) {
  requires artifact_repository<std::remove_reference_t<decltype(s.artifacts())>>;
  { s.locals() } -> std::same_as<local_vars&>;
  { cs.scoped() } -> std::same_as<S>;
  cs.credentials();
};

#define TASKSTEP_PLAN_STATE_MESSAGE                                                                       \
  "taskstep: State is not a plan_state: it needs artifacts() -> an artifact_repository, locals() -> "    \
  "plan::local_vars&, scoped() const -> State and credentials() (use plan::basic_state<Repository>)"

namespace detail {
// A repository with declarations only: what concept checks instantiate a state with.
struct archetype_repository {
  const std::filesystem::path* find(std::string_view) const;
  bool contains(std::string_view) const;
  result<std::string> read_file(std::string_view, std::string_view) const;
  void add(std::string, std::filesystem::path);
};
using archetype_state = basic_state<archetype_repository>;
}  // namespace detail

static_assert(plan_state<detail::archetype_state>);

}  // namespace taskstep::plan
