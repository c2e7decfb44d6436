// The "continue" token of a warning page (DESIGN.md §5, SECURITY-BATTERY
// case 27): HMAC-SHA256, with a key unique to the installation, over the
// client address, the host, the upstream leaf's SHA-256 fingerprint, an
// expiry and the path the user asked for. It carries those values (so a
// refusal can say why) and is URL-safe base64 without padding; any changed
// character fails the MAC. Replaying it for another host, another client or
// another certificate fails; so does using it after its expiry.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "common/ip_address.h"

namespace tlsgate::pages {

enum class TokenRejection {
  malformed,  // not a token of ours (bad encoding, truncated, wrong length)
  bad_mac,    // altered, or made with another key
  expired,
  other_host,
  other_client,
  other_certificate,  // the server's certificate changed since the warning
};
std::string_view to_string(TokenRejection r);
// For pages: "it has expired", ...
std::string_view describe(TokenRejection r);

struct TokenCheck {
  std::optional<TokenRejection> rejection;  // nullopt: valid
  std::string original_path;                // when valid
  bool valid() const { return !rejection.has_value(); }
};

class ExceptionToken {
 public:
  using Clock = std::chrono::system_clock;
  // Longest path a token carries; a longer one is replaced by "/".
  static constexpr size_t kMaxPath = 2048;

  // Loads <state_dir>/exception.key (32 bytes, must be mode 0600) or creates
  // it: random bytes written to a private temporary file and linked into
  // place, so a crash never leaves a short key and two processes never get
  // different keys. The key is never logged. Throws std::runtime_error
  // naming the file.
  static ExceptionToken open_or_create(const std::filesystem::path& state_dir);

  ExceptionToken(const ExceptionToken&) = delete;
  ExceptionToken& operator=(const ExceptionToken&) = delete;
  ExceptionToken(ExceptionToken&& other) noexcept;
  ExceptionToken& operator=(ExceptionToken&&) = delete;
  ~ExceptionToken();  // wipes the key

  // `fingerprint_sha256`: 64 hex digits (tls::PeerCertSummary). Host names
  // are compared ASCII case-insensitively. Throws std::invalid_argument for
  // a malformed fingerprint or a host longer than 255 bytes.
  std::string issue(const IpAddress& client, std::string_view host,
                    std::string_view fingerprint_sha256, Clock::time_point expires,
                    std::string_view original_path) const;

  // Checks the MAC first (in constant time), then expiry and the bindings.
  TokenCheck verify(std::string_view token, const IpAddress& client, std::string_view host,
                    std::string_view fingerprint_sha256, Clock::time_point now) const;

 private:
  ExceptionToken() = default;
  std::array<uint8_t, 32> key_{};
};

}  // namespace tlsgate::pages
