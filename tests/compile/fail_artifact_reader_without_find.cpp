// Must not compile: a task file is read through an artifact_reader, which needs find() too.
// expect: taskstep: R is not an artifact_reader: it needs find(std::string_view) const -> const std::filesystem::path*, contains(std::string_view) const -> bool and read_file(std::string_view name, std::string_view path) const -> result<std::string>
#include "taskstep/config/file_source.hpp"

struct no_find_repository {
  bool contains(std::string_view) const { return false; }
  taskstep::result<std::string> read_file(std::string_view, std::string_view) const { return std::string(); }
};

int main() {
  no_find_repository repo;
  taskstep::config::file_source source("a/task.yml", repo);
  (void)source;
}
