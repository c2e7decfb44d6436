#include "config/ca_section.h"

#include <charconv>

namespace tlsgate::config {
namespace {

constexpr int64_t kMaxDays = 3650;

bool valid_ifname(std::string_view name) {
  if (name.empty() || name.size() > 15 || name == "." || name == "..") return false;
  for (unsigned char c : name) {
    if (c == '/' || c == ':' || c <= ' ' || c == 0x7f || c == '[' || c == ']') return false;
  }
  return true;
}

// "<n>d" (days, up to kMaxDays) or a config duration (up to 24h).
std::optional<std::chrono::seconds> read_long_duration(const SectionReader& r,
                                                       std::string_view key) {
  auto text = r.string(key);
  if (!text) return std::nullopt;
  const std::string where = "'" + std::string(key) + "' in " + r.label();
  if (!text->empty() && text->back() == 'd') {
    int64_t days = 0;
    auto [end, ec] = std::from_chars(text->data(), text->data() + text->size() - 1, days);
    if (ec != std::errc() || end != text->data() + text->size() - 1 || days < 1 ||
        days > kMaxDays) {
      r.fail(r.line_of_key(key), where + ": \"" + *text + "\" must be 1d to " +
                                     std::to_string(kMaxDays) + "d, or a duration up to 24h");
    }
    return std::chrono::hours(24 * days);
  }
  std::string error;
  auto value = parse_duration(*text, &error);
  if (!value) r.fail(r.line_of_key(key), where + ": " + error + " (or \"<n>d\" for days)");
  if (*value < std::chrono::seconds(1)) r.fail(r.line_of_key(key), where + " is under 1s");
  return std::chrono::duration_cast<std::chrono::seconds>(*value);
}

}  // namespace

std::string DistributionListen::to_string() const {
  std::string host = address ? address->to_string() : interface;
  if (address && !address->is_v4()) host = "[" + host + "]";
  return host + ":" + std::to_string(port);
}

std::optional<DistributionListen> parse_distribution_listen(std::string_view text,
                                                            std::string* error) {
  auto fail = [&](std::string message) -> std::optional<DistributionListen> {
    if (error != nullptr) *error = std::move(message);
    return std::nullopt;
  };
  const std::string shown = "\"" + std::string(text) + "\"";
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return fail(shown +
                " must be \"<address>:<port>\", \"[<ipv6>]:<port>\" or "
                "\"<interface>:<port>\"");
  }
  std::string_view host = text.substr(0, colon);
  const std::string_view digits = text.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || port == 0 ||
      port > 65535) {
    return fail(shown + ": the port must be 1 to 65535");
  }
  DistributionListen out;
  out.port = static_cast<uint16_t>(port);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    out.address = IpAddress::parse(host.substr(1, host.size() - 2));
    if (!out.address || out.address->is_v4()) return fail(shown + ": not an IPv6 address");
    return out;
  }
  if (host.find(':') != std::string_view::npos) {
    return fail(shown + ": write an IPv6 address in brackets, \"[<ipv6>]:<port>\"");
  }
  if ((out.address = IpAddress::parse(host))) return out;
  if (!valid_ifname(host)) return fail(shown + ": not an address or an interface name");
  out.interface = std::string(host);
  return out;
}

void read_ca_section(const SectionReader& r, CaSettings& out) {
  r.reject_unknown_keys({"distribution_listen", "retire_after", "fallback_retry"});
  if (auto entries = r.strings("distribution_listen")) {
    for (const auto& item : *entries) {
      std::string error;
      auto listen = parse_distribution_listen(item.value, &error);
      if (!listen) r.fail(item.line, "'distribution_listen' in [ca]: " + error);
      for (const auto& earlier : out.distribution_listen) {
        if (earlier.to_string() == listen->to_string()) {
          r.fail(item.line, "'distribution_listen' in [ca]: " + item.value + " is listed twice");
        }
      }
      out.distribution_listen.push_back(*listen);
    }
  }
  if (auto v = read_long_duration(r, "retire_after")) out.retire_after = *v;
  if (auto v = read_long_duration(r, "fallback_retry")) out.fallback_retry = *v;
}

}  // namespace tlsgate::config
