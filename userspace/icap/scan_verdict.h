// What an ICAP answer means for the message it was about (DESIGN.md §4a):
// unmodified (204, or a 200 that hands the same message back), infected (the
// service names a threat, or answers with its own block page), or modified
// (the client, or for REQMOD the server, gets what the service sent).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config/icap_service.h"
#include "icap/icap_response.h"

namespace tlsgate::icap {

enum class Verdict { clean, infected, modified, error, oversize };
const char* to_string(Verdict v);

struct ScanOutcome {
  Verdict verdict = Verdict::error;
  std::string threat;  // infected: the threat name ("" when the service named none)
  std::string error;   // error: why ("timeout", "connect: Connection refused", ...)
  std::string istag;   // the ISTag of the answer
  // modified: the message that goes on instead (REQMOD may answer with a
  // response: the client gets it and the server sees nothing).
  std::optional<http::RequestHead> request;
  std::optional<http::ResponseHead> response;
  std::string body;
};

// The threat named by X-Infection-Found ("Type=0; Resolution=2;
// Threat=NAME;") or X-Virus-ID; nullopt when neither names one.
std::optional<std::string> threat_named_in(const http::HeaderList& icap_headers);

// Reads a final ICAP answer (not 100) to a scan made with `method`.
ScanOutcome interpret(config::IcapMethod method, IcapResponse&& r);

}  // namespace tlsgate::icap
