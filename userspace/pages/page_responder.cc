#include "pages/page_responder.h"

#include "pages/h2_responder.h"
#include "pages/http1_responder.h"

namespace tlsgate::pages {

PageResponder::PageResponder(std::string_view alpn, PageHandler handler) {
  if (alpn == "h2") {
    protocol_ = std::make_unique<H2Responder>(std::move(handler));
  } else {
    protocol_ = std::make_unique<Http1Responder>(std::move(handler));
  }
}

std::vector<uint8_t> PageResponder::feed(std::span<const uint8_t> plaintext_from_client) {
  return protocol_->feed(plaintext_from_client);
}

bool PageResponder::finished() const {
  return protocol_->finished();
}

}  // namespace tlsgate::pages
