#include "policy/rule.h"

#include <algorithm>
#include <array>
#include <utility>

namespace tlsgate::policy {

std::string_view to_string(Action a) {
  switch (a) {
    case Action::inspect:
      return "inspect";
    case Action::bypass:
      return "bypass";
    case Action::block:
      return "block";
  }
  return "inspect";
}

std::optional<Action> parse_action(std::string_view text) {
  if (text == "inspect") return Action::inspect;
  if (text == "bypass") return Action::bypass;
  if (text == "block") return Action::block;
  return std::nullopt;
}

namespace {
constexpr std::array<std::pair<CaptureFormat, std::string_view>, 4> kCaptureFormatNames{{
    {CaptureFormat::none, "none"},
    {CaptureFormat::pcapng, "pcapng"},
    {CaptureFormat::plaintext, "plaintext"},
    {CaptureFormat::keylog, "keylog"},
}};
}  // namespace

std::string_view to_string(CaptureFormat f) {
  for (const auto& [format, name] : kCaptureFormatNames) {
    if (format == f) return name;
  }
  return "none";
}

std::optional<CaptureFormat> parse_capture_format(std::string_view text) {
  for (const auto& [format, name] : kCaptureFormatNames) {
    if (name == text) return format;
  }
  return std::nullopt;
}

std::string_view to_string(UntrustedCertAction a) {
  switch (a) {
    case UntrustedCertAction::block:
      return "block";
    case UntrustedCertAction::prompt:
      return "prompt";
    case UntrustedCertAction::untrusted_ca:
      return "untrusted_ca";
    case UntrustedCertAction::allow:
      return "allow";
  }
  return "block";
}

std::optional<UntrustedCertAction> parse_untrusted_cert_action(std::string_view text) {
  for (auto a : {UntrustedCertAction::block, UntrustedCertAction::prompt,
                 UntrustedCertAction::untrusted_ca, UntrustedCertAction::allow}) {
    if (text == to_string(a)) return a;
  }
  return std::nullopt;
}

UntrustedCertAction stricter(UntrustedCertAction a, UntrustedCertAction b) {
  // The enumerators are declared from the strictest.
  return static_cast<int>(a) <= static_cast<int>(b) ? a : b;
}

namespace {

constexpr std::array<std::string_view, 17> kCertErrorClassNames = {
    "expired",        "not_yet_valid",    "hostname_mismatch",  "self_signed",
    "untrusted_root", "incomplete_chain", "invalid_signature",  "not_a_ca",
    "bad_usage",      "revoked",          "revocation_unknown", "weak_key",
    "weak_signature", "bad_protocol",     "no_certificate",     "client_cert_required",
    "other",
};

}  // namespace

std::span<const std::string_view> cert_error_class_names() {
  return kCertErrorClassNames;
}

bool is_handshake_failure_class(std::string_view error_class) {
  return error_class == "bad_protocol" || error_class == "no_certificate" ||
         error_class == "client_cert_required";
}

UntrustedCertAction UntrustedCertPolicy::decide(std::string_view error_class) const {
  if (is_handshake_failure_class(error_class)) return UntrustedCertAction::block;
  auto it = per_class.find(error_class);
  return it != per_class.end() ? it->second : default_action;
}

const UntrustedCertPolicy& RuleSet::untrusted_policy_for(const Verdict& verdict) const {
  if (verdict.rule_index && *verdict.rule_index < rules.size()) {
    const auto& own = rules[*verdict.rule_index].untrusted_server_cert;
    if (own) return *own;
  }
  return untrusted_server_cert;
}

std::string_view RuleSet::ca_for(const Verdict& verdict) const {
  if (verdict.rule_index && *verdict.rule_index < rules.size()) {
    return rules[*verdict.rule_index].ca;
  }
  return {};
}

namespace {

constexpr size_t kMaxNameLength = 253;
constexpr size_t kMaxLabelLength = 63;

char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view lower) {
  return a.size() == lower.size() && std::equal(a.begin(), a.end(), lower.begin(),
                                                [](char x, char y) { return ascii_lower(x) == y; });
}

bool valid_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

std::nullopt_t fail(std::string* error, std::string message) {
  if (error != nullptr) *error = std::move(message);
  return std::nullopt;
}

}  // namespace

std::optional<SniPattern> SniPattern::parse(std::string_view text, std::string* error) {
  std::string name(text);
  std::transform(name.begin(), name.end(), name.begin(), ascii_lower);
  if (!name.empty() && name.back() == '.') name.pop_back();
  const std::string quoted = "'" + std::string(text) + "'";
  if (name.empty()) return fail(error, "empty SNI pattern");
  if (name == "*") return fail(error, "SNI pattern " + quoted + " would match every name");
  if (name.size() > kMaxNameLength) {
    return fail(error, "SNI pattern " + quoted + " is longer than 253 characters");
  }

  const bool wildcard = name.starts_with("*.");
  std::string body = wildcard ? name.substr(2) : name;
  if (body.find('*') != std::string::npos) {
    return fail(error, "SNI pattern " + quoted +
                           ": '*' is only allowed as the whole first label, as in '*.example.com'");
  }
  if (body.empty()) return fail(error, "SNI pattern " + quoted + " has no domain after '*.'");
  for (char c : body) {
    if (!valid_char(c)) {
      return fail(error, "SNI pattern " + quoted + " contains '" + std::string(1, c) +
                             "' (allowed: letters, digits, '-', '_', '.')");
    }
  }
  std::string_view rest = body;
  std::string_view last_label;
  while (true) {
    auto dot = rest.find('.');
    std::string_view label = rest.substr(0, dot);
    if (label.empty()) return fail(error, "SNI pattern " + quoted + " has an empty label");
    if (label.size() > kMaxLabelLength) {
      return fail(error, "SNI pattern " + quoted + " has a label longer than 63 characters");
    }
    last_label = label;
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  // SNI never carries IP literals (RFC 6066 §3); an all-digit top label can
  // only be one, and address matching belongs in `dst`.
  if (std::all_of(last_label.begin(), last_label.end(),
                  [](char c) { return c >= '0' && c <= '9'; })) {
    return fail(error,
                "SNI pattern " + quoted + " is an IP address; match addresses with 'dst' instead");
  }

  SniPattern pattern;
  pattern.suffix = std::move(body);
  pattern.wildcard = wildcard;
  return pattern;
}

bool SniPattern::matches(std::string_view sni) const {
  // The parser hands over normalized names; tolerating case and one trailing
  // dot here anyway keeps a block rule from being evaded by "EVIL.example.".
  if (!sni.empty() && sni.back() == '.') sni.remove_suffix(1);
  if (!wildcard) return iequals(sni, suffix);
  if (sni.size() < suffix.size() + 2) return false;  // at least "x." before the suffix
  const size_t dot = sni.size() - suffix.size() - 1;
  return sni[dot] == '.' && iequals(sni.substr(dot + 1), suffix);
}

std::string SniPattern::to_string() const {
  return wildcard ? "*." + suffix : suffix;
}

}  // namespace tlsgate::policy
