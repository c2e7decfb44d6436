// HTTP/1.x side of PageResponder: one request, one response, close.
// Internal to pages/.
#pragma once

#include <string>

#include "pages/page_responder.h"

namespace tlsgate::pages {

class Http1Responder : public ProtocolResponder {
 public:
  explicit Http1Responder(PageHandler handler) : handler_(std::move(handler)) {}
  std::vector<uint8_t> feed(std::span<const uint8_t> plaintext) override;
  bool finished() const override { return finished_; }

 private:
  std::vector<uint8_t> respond(const PageResponse& response, bool head_only);

  PageHandler handler_;
  std::string buffer_;
  bool finished_ = false;
};

}  // namespace tlsgate::pages
