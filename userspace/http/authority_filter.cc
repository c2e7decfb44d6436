#include "http/authority_filter.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <string>

#include "common/ip_address.h"

namespace tlsgate::http {

namespace {

constexpr uint16_t kDefaultPort = 443;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// A name as compared: lower case, no trailing dot, IPv6 literals unbracketed.
std::string normalized_name(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return lower(name);
}

struct HostPort {
  std::string_view host;
  std::string_view port;  // "" when none
  bool ok = true;
};

constexpr HostPort kMalformed{"", "", false};

HostPort split_authority(std::string_view authority) {
  HostPort hp;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return kMalformed;
    hp.host = authority.substr(1, close - 1);
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return kMalformed;
      hp.port = rest.substr(1);
    }
    return hp;
  }
  size_t colon = authority.rfind(':');
  if (colon == std::string_view::npos) {
    hp.host = authority;
    return hp;
  }
  if (authority.find(':') != colon) return kMalformed;  // an unbracketed IPv6 literal
  hp.host = authority.substr(0, colon);
  hp.port = authority.substr(colon + 1);
  return hp;
}

bool port_allowed(std::string_view port, const FlowContext& flow) {
  if (port.empty()) return true;
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size()) return false;
  return value == kDefaultPort || value == flow.server.port;
}

// RFC 6125 §6.4.3: a wildcard only as the whole leftmost label, matching one
// label; never for IP addresses.
bool name_matches(const std::string& host, std::string_view pattern) {
  std::string p = normalized_name(pattern);
  if (p == host) return true;
  // An address however it is written ("2001:db8:0::1" is "2001:db8::1").
  auto host_ip = IpAddress::parse(host);
  if (host_ip) {
    auto pattern_ip = IpAddress::parse(p);
    return pattern_ip && *pattern_ip == *host_ip;
  }
  if (p.size() < 3 || p.compare(0, 2, "*.") != 0) return false;
  size_t dot = host.find('.');
  if (dot == std::string::npos || dot == 0) return false;
  std::string_view suffix = std::string_view(p).substr(1);          // ".example.com"
  if (suffix.find('.', 1) == std::string_view::npos) return false;  // no "*.com"
  return std::string_view(host).substr(dot) == suffix;
}

}  // namespace

bool authority_matches_flow(std::string_view authority, const FlowContext& flow) {
  HostPort hp = split_authority(authority);
  if (!hp.ok || hp.host.empty() || !port_allowed(hp.port, flow)) return false;
  std::string host = normalized_name(hp.host);
  if (!flow.sni.empty()) return host == normalized_name(flow.sni);
  return std::any_of(flow.upstream_names.begin(), flow.upstream_names.end(),
                     [&](const std::string& name) { return name_matches(host, name); });
}

FilterStep AuthorityFilter::on_request_head(FilterExchange& ex) {
  const RequestHead& req = ex.request();
  // No authority at all (HTTP/1.0 without Host): nothing names another site.
  if (req.authority.empty() || authority_matches_flow(req.authority, ex.flow())) {
    return FilterStep::proceed();
  }
  LocalReply reply;
  reply.status = 421;
  reply.headers.push_back({"Content-Type", "text/plain; charset=utf-8"});
  reply.body = "421 Misdirected Request: this connection does not serve that host.\n";
  reply.outcome = "misdirected";
  reply.detail = "authority";
  reply.close_connection = true;
  return FilterStep::respond(std::move(reply));
}

std::unique_ptr<HttpFilter> AuthorityFilterFactory::make(const FlowContext& flow) const {
  (void)flow;
  return std::make_unique<AuthorityFilter>();
}

}  // namespace tlsgate::http
