// What a service said about itself in its OPTIONS answer (RFC 3507 §4.10),
// kept per service apart from any transaction (as Squid does): the methods it
// serves, its preview size and transfer lists, its connection cap, its
// ISTag, and how long all of that holds.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/icap_service.h"
#include "icap/icap_response.h"

namespace tlsgate::icap {

struct IcapOptions {
  std::vector<std::string> methods;            // "RESPMOD", "REQMOD"
  std::optional<size_t> preview;               // none: the service takes no preview
  std::vector<std::string> transfer_preview;   // file extensions, lower case; "*" = all
  std::vector<std::string> transfer_ignore;    //
  std::vector<std::string> transfer_complete;  //
  std::optional<unsigned> max_connections;
  std::string istag;
  std::chrono::seconds ttl{0};  // Options-TTL; 0: none given
  bool allow_204 = false;

  bool serves(config::IcapMethod m) const;
};

// From a 200 answer to OPTIONS; nullopt with *error set otherwise.
std::optional<IcapOptions> read_options(const IcapResponse& r, std::string* error);

// How a message whose URL path is `path` goes to the service (Transfer-*):
// ignore: not sent at all; complete: whole, no preview; preview: the first
// `preview_size` bytes first.
struct TransferPlan {
  enum class Kind { ignore, complete, preview } kind = Kind::complete;
  size_t preview_size = 0;
};
// `configured`: the [[icap]] preview (0: none). The service's Preview caps it.
TransferPlan plan_transfer(const IcapOptions& o, std::string_view path, size_t configured);

// How long to trust OPTIONS without a TTL, and at most with one.
inline constexpr std::chrono::seconds kDefaultOptionsTtl{3600};
inline constexpr std::chrono::seconds kMinOptionsTtl{10};

}  // namespace tlsgate::icap
