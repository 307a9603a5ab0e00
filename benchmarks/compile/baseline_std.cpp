// Compile-time baseline: the standard headers the library leans on, and nothing of taskstep.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <stop_token>
#include <string>
#include <thread>
#include <variant>
#include <vector>

int main() {
  std::map<std::string, std::vector<std::string>> m{{"a", {"b"}}};
  std::variant<int, std::string> v = std::string("x");
  return static_cast<int>(m.size() + std::get<std::string>(v).size() + std::filesystem::path("/tmp").string().size());
}
