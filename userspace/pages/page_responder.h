// Serves pages over a client's TLS session without any upstream
// (SECURITY-BATTERY case 28: while a page is shown, no request byte goes
// anywhere). Bytes in, bytes out: the terminator feeds the plaintext it
// decrypted from the client and encrypts what comes back.
//
// ALPN "h2": an HTTP/2 server session (nghttp2): the client preface is
// checked, our SETTINGS are sent, every request stream is answered with the
// handler's page, then GOAWAY. Anything else: HTTP/1.1 (and 1.0): one
// request is parsed (request line and headers, at most kMaxRequestHead
// bytes; a malformed request gets 400, too large 431, another version 505),
// answered with "Connection: close", and the rest of the input is ignored.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "pages/page_response.h"

namespace tlsgate::pages {

// Also the h2 limit on one request's header list (names + values + 32
// bytes per field, as SETTINGS_MAX_HEADER_LIST_SIZE counts it).
inline constexpr size_t kMaxRequestHead = 16 * 1024;

// One protocol's side of PageResponder.
class ProtocolResponder {
 public:
  virtual ~ProtocolResponder() = default;
  virtual std::vector<uint8_t> feed(std::span<const uint8_t> plaintext) = 0;
  virtual bool finished() const = 0;
};

class PageResponder {
 public:
  // `alpn`: the protocol selected with the client ("" when none).
  PageResponder(std::string_view alpn, PageHandler handler);

  // Returns the plaintext to send to the client (possibly empty). Call with
  // an empty span to get what is due without input (the h2 SETTINGS).
  std::vector<uint8_t> feed(std::span<const uint8_t> plaintext_from_client);

  // Everything is answered (or the client broke the protocol): once the
  // bytes feed() returned are sent, close the connection. Later input is
  // ignored.
  bool finished() const;

 private:
  std::unique_ptr<ProtocolResponder> protocol_;
};

}  // namespace tlsgate::pages
