#include "icap/scan_verdict.h"

namespace tlsgate::icap {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A printable, bounded name for events and pages.
std::string tidy(std::string_view name) {
  std::string out;
  for (char c : name.substr(0, 200)) {
    auto u = static_cast<unsigned char>(c);
    out += (u >= 0x20 && u < 0x7f) ? c : '?';
  }
  return out;
}

}  // namespace

const char* to_string(Verdict v) {
  switch (v) {
    case Verdict::clean:
      return "clean";
    case Verdict::infected:
      return "infected";
    case Verdict::modified:
      return "modified";
    case Verdict::error:
      return "error";
    case Verdict::oversize:
      return "oversize";
  }
  return "error";
}

std::optional<std::string> threat_named_in(const http::HeaderList& icap_headers) {
  if (auto found = http::find_header(icap_headers, "x-infection-found")) {
    // Fields separated by ';', "Threat=" the one we want.
    std::string_view rest = *found;
    while (!rest.empty()) {
      size_t semi = rest.find(';');
      std::string_view field = trim(rest.substr(0, semi));
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      if (field.substr(0, 7) == "Threat=") return tidy(trim(field.substr(7)));
    }
    return std::string();
  }
  if (auto id = http::find_header(icap_headers, "x-virus-id")) {
    return tidy(trim(*id));
  }
  return std::nullopt;
}

ScanOutcome interpret(config::IcapMethod method, IcapResponse&& r) {
  ScanOutcome out;
  if (auto tag = http::find_header(r.headers, "istag")) {
    std::string t(trim(*tag));
    if (t.size() >= 2 && t.front() == '"' && t.back() == '"') t = t.substr(1, t.size() - 2);
    out.istag = tidy(t);
  }
  if (r.status == 204) {
    out.verdict = Verdict::clean;
    return out;
  }
  if (r.status != 200) {
    out.verdict = Verdict::error;
    out.error = "service answered " + std::to_string(r.status) + " " + tidy(r.reason);
    return out;
  }
  if (auto threat = threat_named_in(r.headers)) {
    out.verdict = Verdict::infected;
    out.threat = std::move(*threat);
    return out;
  }
  bool respmod = method == config::IcapMethod::respmod;
  if (respmod && !r.response) {
    out.verdict = Verdict::error;
    out.error = "RESPMOD answer without a response head";
    return out;
  }
  if (!respmod && !r.request && !r.response) {
    out.verdict = Verdict::error;
    out.error = "REQMOD answer without a request or response head";
    return out;
  }
  // The service's own refusal (a 403 in place of the message) is a block.
  if (r.response && r.response->status == 403) {
    out.verdict = Verdict::infected;
    return out;
  }
  out.verdict = Verdict::modified;
  out.request = std::move(r.request);
  if (respmod || !out.request) out.response = std::move(r.response);
  if (!respmod && out.response) out.request.reset();
  out.body = std::move(r.body);
  return out;
}

}  // namespace tlsgate::icap
