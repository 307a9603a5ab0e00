#pragma once
//! \file
//! `sha256_hasher`: incremental SHA-256 over OpenSSL's EVP interface, and the `sha256:<hex>` digest
//! helpers the registry code checks every blob and manifest with.

#include <array>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include <fmt/core.h>

#include <openssl/evp.h>

namespace taskstep::image {

//! Incremental SHA-256 (OpenSSL EVP). `update` any number of times, then `hex_digest` once.
class sha256_hasher {
 public:
  sha256_hasher() : ctx_(EVP_MD_CTX_new()) {
    if (ctx_ && EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1) ctx_.reset();
  }

  //! False when OpenSSL could not set up the digest (out of memory); every result is then empty.
  [[nodiscard]] bool ok() const noexcept { return ctx_ != nullptr; }

  void update(const void* data, std::size_t size) {
    if (ctx_ && size > 0 && EVP_DigestUpdate(ctx_.get(), data, size) != 1) ctx_.reset();
  }
  void update(std::string_view bytes) { update(bytes.data(), bytes.size()); }

  //! The 64 lowercase hex characters of the digest; empty on failure.
  [[nodiscard]] std::string hex_digest() {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    if (!ctx_ || EVP_DigestFinal_ex(ctx_.get(), md.data(), &len) != 1) return {};
    ctx_.reset();
    static constexpr char digits[] = "0123456789abcdef";
    std::string hex;
    hex.reserve(std::size_t{len} * 2);
    for (unsigned int i = 0; i < len; ++i) {
      hex += digits[md[i] >> 4];
      hex += digits[md[i] & 0xf];
    }
    return hex;
  }

 private:
  struct deleter {
    void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
  };
  std::unique_ptr<EVP_MD_CTX, deleter> ctx_;
};

//! `sha256:<hex>` of `bytes`.
inline std::string sha256_digest(std::string_view bytes) {
  sha256_hasher h;
  h.update(bytes);
  return fmt::format("sha256:{}", h.hex_digest());
}

//! True for `sha256:` followed by exactly 64 lowercase hex digits (the only algorithm taskstep pulls).
inline bool is_sha256_digest(std::string_view d) noexcept {
  constexpr std::string_view prefix = "sha256:";
  if (d.size() != prefix.size() + 64 || d.substr(0, prefix.size()) != prefix) return false;
  for (char c : d.substr(prefix.size()))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

//! The hex part of a `sha256:<hex>` digest.
inline std::string digest_hex(std::string_view d) {
  const auto colon = d.find(':');
  return std::string(colon == std::string_view::npos ? d : d.substr(colon + 1));
}

}  // namespace taskstep::image
