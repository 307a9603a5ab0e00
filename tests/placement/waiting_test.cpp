#include <catch2/catch.hpp>

#include <chrono>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>

#include "taskstep/placement/waiting.hpp"

using namespace taskstep;
using namespace std::chrono_literals;
using taskstep::placement::wait_for_worker;

namespace {
struct captured_stdout {
  std::string text;
  void operator()(std::string_view s) { text.append(s); }
};

std::size_t count_of(const std::string& text, std::string_view needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
  return n;
}

constexpr std::string_view busy = "All workers are busy at the moment, please stand-by.\n";
}  // namespace

TEST_CASE("the found message uses Go's duration text rounded to whole seconds", "[placement][waiting]") {
  using placement::found_worker_message;
  CHECK(found_worker_message(0ms) == "Found a free worker after waiting 0s.\n");
  CHECK(found_worker_message(499ms) == "Found a free worker after waiting 0s.\n");
  CHECK(found_worker_message(500ms) == "Found a free worker after waiting 1s.\n");
  CHECK(found_worker_message(5s + 200ms) == "Found a free worker after waiting 5s.\n");
  CHECK(found_worker_message(59s + 600ms) == "Found a free worker after waiting 1m0s.\n");
  CHECK(found_worker_message(65s) == "Found a free worker after waiting 1m5s.\n");
  CHECK(found_worker_message(1h) == "Found a free worker after waiting 1h0m0s.\n");
  CHECK(found_worker_message(1h + 2min + 3s) == "Found a free worker after waiting 1h2m3s.\n");
}

TEST_CASE("a worker found at once is returned without a message", "[placement][waiting]") {
  captured_stdout out;
  int calls = 0;
  auto r = wait_for_worker([&]() -> std::optional<std::size_t> { return ++calls, 3u; }, std::stop_token{},
                           out, 1ms, 10ms);
  REQUIRE(r);
  CHECK(*r == 3u);
  CHECK(calls == 1);
  CHECK(out.text.empty());
}

TEST_CASE("a worker found after polling is announced with the time waited", "[placement][waiting]") {
  captured_stdout out;
  int calls = 0;
  auto choose = [&]() -> std::optional<std::size_t> {
    if (++calls < 4) return std::nullopt;
    return 1u;
  };
  auto r = wait_for_worker(choose, std::stop_token{}, out, 2ms, 10min);
  REQUIRE(r);
  CHECK(*r == 1u);
  CHECK(calls == 4);
  CHECK(out.text == "Found a free worker after waiting 0s.\n");  // milliseconds round to 0s, as in Go
}

TEST_CASE("the busy message comes on status ticks, not at once", "[placement][waiting]") {
  captured_stdout out;
  int calls = 0;
  std::string after_first_poll;
  auto choose = [&]() -> std::optional<std::size_t> {
    if (++calls == 2) after_first_poll = out.text;  // 5 ms in, well before the 40 ms status tick
    if (count_of(out.text, busy) < 2) return std::nullopt;
    return 0u;
  };
  auto r = wait_for_worker(choose, std::stop_token{}, out, 5ms, 40ms);
  REQUIRE(r);
  CHECK(*r == 0u);
  CHECK(after_first_poll.empty());
  CHECK(out.text == std::string(busy) + std::string(busy) + "Found a free worker after waiting 0s.\n");
  CHECK(calls > 4);  // polled every 5 ms between the status ticks
}

TEST_CASE("a freed worker at a status tick is polled before the busy message", "[placement][waiting]") {
  // With equal intervals every tick is both a poll and a status tick: the poll goes first.
  captured_stdout out;
  int calls = 0;
  auto r = wait_for_worker(
      [&]() -> std::optional<std::size_t> {
        if (++calls < 2) return std::nullopt;
        return 2u;
      },
      std::stop_token{}, out, 20ms, 20ms);
  REQUIRE(r);
  CHECK(out.text == "Found a free worker after waiting 0s.\n");
}

TEST_CASE("cancellation while waiting returns interrupted promptly", "[placement][waiting]") {
  std::stop_source source;
  captured_stdout out;
  std::jthread canceller([&] {
    std::this_thread::sleep_for(30ms);
    source.request_stop();
  });
  const auto start = std::chrono::steady_clock::now();
  auto r = wait_for_worker([]() -> std::optional<std::size_t> { return std::nullopt; }, source.get_token(), out,
                           10min, 10min);
  const auto took = std::chrono::steady_clock::now() - start;
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == errc::cancelled);
  CHECK(r.error().message() == "interrupted");
  CHECK(took < 5s);  // woken by the stop request, not by the 10 min tick
  CHECK(out.text.empty());
}

TEST_CASE("a step cancelled before choosing is interrupted even if a worker is free", "[placement][waiting]") {
  std::stop_source source;
  source.request_stop();
  captured_stdout out;
  auto r = wait_for_worker([]() -> std::optional<std::size_t> { return 0u; }, source.get_token(), out);
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == errc::cancelled);
}

TEST_CASE("an error from choosing ends the wait at once", "[placement][waiting]") {
  captured_stdout out;
  int calls = 0;
  auto choose = [&]() -> result<std::optional<std::size_t>> {
    if (++calls < 3) return std::optional<std::size_t>{};
    return fail(errc::no_workers, "no workers satisfying: platform 'linux'");
  };
  auto r = wait_for_worker(choose, std::stop_token{}, out, 1ms, 10min);
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == errc::no_workers);
  CHECK(r.error().message() == "no workers satisfying: platform 'linux'");
  CHECK(calls == 3);
}
