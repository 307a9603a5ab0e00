#pragma once
// A tiny in-test registry that demands Bearer tokens, as Docker Hub and most hosted registries do:
// `/v2/...` answers 401 with `WWW-Authenticate: Bearer realm=".../token",service="test",scope=...` unless
// the request carries the token its `/token` endpoint hands out for `tester:s3cret` (basic auth).
// Debian's docker-registry has no token server, so this one plays both parts. One connection at a
// time, `Connection: close` after every answer.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace taskstep::test {

class token_registry {
 public:
  //! `blobs` and `manifests` map a URL path (`/v2/app/blobs/sha256:...`) to content type and body.
  struct object {
    std::string content_type;
    std::string body;
  };

  explicit token_registry(std::map<std::string, object> objects) : objects_(std::move(objects)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    ::listen(listener_, 16);
    thread_ = std::thread([this] { serve(); });
  }
  token_registry(const token_registry&) = delete;
  token_registry& operator=(const token_registry&) = delete;
  ~token_registry() {
    stop_ = true;
    thread_.join();
    ::close(listener_);
  }

  [[nodiscard]] std::string host() const { return "127.0.0.1:" + std::to_string(port_); }

  //! Every request line and its Authorization header, in order.
  [[nodiscard]] std::vector<std::string> log() const {
    std::lock_guard lock(mutex_);
    return log_;
  }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{listener_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int c = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      std::string request;
      char buf[4096];
      while (request.find("\r\n\r\n") == std::string::npos) {
        const auto n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        request.append(buf, static_cast<std::size_t>(n));
      }
      const std::string response = answer(request);
      std::size_t sent = 0;
      while (sent < response.size()) {
        const auto n = ::send(c, response.data() + sent, response.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<std::size_t>(n);
      }
      ::close(c);
    }
  }

  std::string answer(const std::string& request) {
    const auto line_end = request.find("\r\n");
    const std::string line = request.substr(0, line_end);
    std::string auth;
    std::size_t pos = line_end;
    while (pos != std::string::npos && pos + 2 < request.size()) {
      const auto next = request.find("\r\n", pos + 2);
      std::string header = request.substr(pos + 2, next - pos - 2);
      std::string lower = header;
      for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (lower.rfind("authorization:", 0) == 0) auth = header.substr(header.find(':') + 2);
      pos = next;
    }
    {
      std::lock_guard lock(mutex_);
      log_.push_back(line + " | " + auth);
    }
    const auto sp1 = line.find(' ');
    const auto sp2 = line.find(' ', sp1 + 1);
    const std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::string path = target.substr(0, target.find('?'));
    if (path == "/token") {
      if (auth.empty()) return reply(200, "application/json", R"({"token":"anonymous"})");
      if (auth == "Basic dGVzdGVyOnMzY3JldA==") return reply(200, "application/json", R"({"access_token":"good-token"})");  // tester:s3cret
      return reply(401, "application/json", R"({"details":"incorrect username or password"})");
    }
    if (auth != "Bearer good-token")
      return reply(401, "application/json", R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})",
                   "WWW-Authenticate: Bearer realm=\"http://" + host() +
                       "/token\",service=\"test\",scope=\"repository:app:pull\"\r\n");
    if (const auto it = objects_.find(path); it != objects_.end())
      return reply(200, it->second.content_type, it->second.body);
    return reply(404, "application/json", R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]})");
  }

  static std::string reply(int status, const std::string& type, const std::string& body, const std::string& extra = {}) {
    return "HTTP/1.1 " + std::to_string(status) + (status == 200 ? " OK" : status == 401 ? " Unauthorized" : " Not Found") +
           "\r\nContent-Type: " + type + "\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\nConnection: close\r\n" + extra + "\r\n" + body;
  }

  std::map<std::string, object> objects_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::vector<std::string> log_;
  std::thread thread_;
};

}  // namespace taskstep::test
