#pragma once
//! \file
//! The one place taskstep speaks HTTP: a GET over libcurl (redirects followed, http/https only,
//! timeouts, basic or header auth), returning the final response's status, headers and body, or
//! streaming a 2xx body to a sink. Transport failures come back as curl's code and message.

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/core.h>

#include <curl/curl.h>
#include <tl/expected.hpp>

namespace taskstep::image::detail {

//! libcurl's global state, set up once per process before the first handle.
inline void curl_global_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

//! A streaming body sink: called with each chunk of a 2xx body; returning false aborts the transfer.
struct body_sink {
  void* context = nullptr;
  bool (*write)(void* context, const char* data, std::size_t size) = nullptr;
};

//! One GET (or HEAD).
struct http_request {
  std::string url;
  std::vector<std::string> headers;  //!< full header lines, e.g. `Accept: ...`
  std::string basic_user;            //!< when set, basic auth with `basic_password`
  std::string basic_password;
  bool head = false;
  std::chrono::seconds timeout{60};
  bool stall_timeout = false;         //!< bound stalls (no byte for `timeout`) instead of the whole transfer
  std::size_t max_body = 8u << 20;    //!< cap for bodies kept in memory
  body_sink sink;                     //!< when set, 2xx bodies go here instead of into `body`
};

//! The final response of a request (after redirects).
struct http_response {
  long status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  //!< names lowercased
  std::string body;                                          //!< non-2xx bodies always; 2xx when no sink

  //! The last header called `name` (lowercase), or empty.
  [[nodiscard]] std::string header(std::string_view name) const {
    for (auto it = headers.rbegin(); it != headers.rend(); ++it)
      if (it->first == name) return it->second;
    return {};
  }
};

//! A request that got no HTTP answer: curl's code, its text and the detail curl gave.
struct http_failure {
  CURLcode code = CURLE_OK;
  std::string message;
};

namespace http_impl {

struct transfer {
  const http_request* request = nullptr;
  http_response response;
  bool sink_failed = false;
  bool too_large = false;
};

inline std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

inline std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<transfer*>(user);
  const std::string_view line(data, size * count);
  if (line.substr(0, 5) == "HTTP/") {  // a new response (after a redirect or 100-continue)
    t->response.headers.clear();
    const auto sp = line.find(' ');
    t->response.status = sp == std::string_view::npos ? 0 : std::strtol(std::string(line.substr(sp + 1, 3)).c_str(), nullptr, 10);
    return size * count;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return size * count;
  std::string name(line.substr(0, colon));
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  t->response.headers.emplace_back(std::move(name), trim(line.substr(colon + 1)));
  return size * count;
}

inline std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<transfer*>(user);
  const std::size_t n = size * count;
  const bool ok_status = t->response.status >= 200 && t->response.status < 300;
  if (ok_status && t->request->sink.write != nullptr) {
    if (!t->request->sink.write(t->request->sink.context, data, n)) {
      t->sink_failed = true;
      return 0;
    }
    return n;
  }
  if (t->response.body.size() + n > t->request->max_body) {
    if (!ok_status) return n;  // error bodies are only for messages: keep the start
    t->too_large = true;
    return 0;
  }
  t->response.body.append(data, n);
  return n;
}

struct easy_deleter {
  void operator()(CURL* c) const noexcept { curl_easy_cleanup(c); }
};
struct slist_deleter {
  void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); }
};

}  // namespace http_impl

//! Performs `req`. Any HTTP status is a response; only a transport failure is an `http_failure`.
inline tl::expected<http_response, http_failure> http_get(const http_request& req) {
  curl_global_once();
  std::unique_ptr<CURL, http_impl::easy_deleter> easy(curl_easy_init());
  if (!easy) return tl::unexpected(http_failure{CURLE_FAILED_INIT, "could not create a libcurl handle"});
  CURL* h = easy.get();
  http_impl::transfer t;
  t.request = &req;
  char errbuf[CURL_ERROR_SIZE] = {};

  std::unique_ptr<curl_slist, http_impl::slist_deleter> headers;
  for (const auto& line : req.headers) {
    curl_slist* next = curl_slist_append(headers.get(), line.c_str());
    if (next == nullptr) return tl::unexpected(http_failure{CURLE_OUT_OF_MEMORY, "out of memory"});
    (void)headers.release();
    headers.reset(next);
  }
  const long timeout = static_cast<long>(req.timeout.count());
  curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#endif
  curl_easy_setopt(h, CURLOPT_USERAGENT, "taskstep");
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, std::min(timeout, 15L));
  if (req.stall_timeout) {
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, timeout);
  } else {
    curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout);
  }
  if (req.head) curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  if (headers) curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  if (!req.basic_user.empty() || !req.basic_password.empty()) {
    curl_easy_setopt(h, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
    curl_easy_setopt(h, CURLOPT_USERNAME, req.basic_user.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, req.basic_password.c_str());
  }
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &http_impl::on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &http_impl::on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);

  const CURLcode rc = curl_easy_perform(h);
  if (rc != CURLE_OK) {
    if (t.sink_failed) return tl::unexpected(http_failure{rc, "writing the download failed"});
    if (t.too_large)
      return tl::unexpected(http_failure{rc, fmt::format("the response is larger than {} MiB", req.max_body >> 20)});
    std::string message = curl_easy_strerror(rc);
    if (errbuf[0] != '\0') message += fmt::format(" ({})", errbuf);
    return tl::unexpected(http_failure{rc, std::move(message)});
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  t.response.status = status;
  return std::move(t.response);
}

//! `s` percent-encoded for a query string.
inline std::string url_escape(std::string_view s) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += digits[c >> 4];
      out += digits[c & 0xf];
    }
  }
  return out;
}

}  // namespace taskstep::image::detail
