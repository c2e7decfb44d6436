// The rule model of DESIGN.md §4: ordered rules, first match wins.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip_address.h"

namespace tlsgate::policy {

enum class Action { inspect, bypass, block };
std::string_view to_string(Action a);
std::optional<Action> parse_action(std::string_view text);

// What to do when the upstream certificate (or handshake) fails validation
// (DESIGN.md §5), ordered from the strictest:
//   block        complete the client handshake, serve a block page;
//   prompt       serve a warning page whose "continue" grants a short-lived
//                exception bound to (client, host, certificate fingerprint);
//   untrusted_ca forge the leaf with the deliberately untrusted CA so the
//                client shows its own warning;
//   allow        proceed and log (never the default).
enum class UntrustedCertAction { block, prompt, untrusted_ca, allow };
std::string_view to_string(UntrustedCertAction a);
std::optional<UntrustedCertAction> parse_untrusted_cert_action(std::string_view text);
// The stricter of two actions (block > prompt > untrusted_ca > allow): a
// certificate with several defects gets the strictest of their actions.
UntrustedCertAction stricter(UntrustedCertAction a, UntrustedCertAction b);

// The failure classes a policy may name: the names of tls::CertErrorClass
// (policy does not depend on tls; a tls unit test keeps the lists equal).
std::span<const std::string_view> cert_error_class_names();
// Classes that fail the handshake itself (no upstream session to continue
// to): only `block` is meaningful for them.
bool is_handshake_failure_class(std::string_view error_class);

// Maps failure classes to actions; classes not listed get default_action,
// except handshake failure classes, which are always blocked.
struct UntrustedCertPolicy {
  UntrustedCertAction default_action = UntrustedCertAction::block;
  std::map<std::string, UntrustedCertAction, std::less<>> per_class;

  UntrustedCertAction decide(std::string_view error_class) const;
  bool operator==(const UntrustedCertPolicy&) const = default;
};

// An SNI matcher: exact "host.example" or wildcard "*.example" (any depth
// below, never the apex). Stored lower-cased, without a trailing dot.
struct SniPattern {
  std::string suffix;  // for "*.example": "example"; for exact: the name
  bool wildcard = false;
  // Parses a pattern; nullopt (with *error set) for "", "*", "a*.b", "*.", ...
  static std::optional<SniPattern> parse(std::string_view text, std::string* error);
  // ASCII case-insensitive; one trailing dot on the flow's name is ignored.
  bool matches(std::string_view normalized_sni) const;
  std::string to_string() const;  // as written in the config, normalized
};

// A request matcher `url` (DESIGN.md §4a): host + path, matched per request
// by the HTTP layer (policy/url_pattern.h parses and matches it).
//   "example.com/login"        exact path (the query is ignored)
//   "example.com/admin/*"      prefix: "/admin", "/admin/" and everything below
//   "*.example.com/*.exe"      glob: '*' matches any run of characters, '/' too
//   "*/wp-login.php"           any host
//   "example.com"              any path on the host
//   "example.com/search?q=*"   with a '?', the query is part of what is compared
// Hosts are matched as `sni` patterns are; paths case-sensitively after
// decoding percent-escapes of unreserved characters on both sides.
struct UrlPattern {
  enum class Kind : uint8_t { exact, prefix, glob };

  std::optional<SniPattern> host;  // nullopt: any host ("*")
  std::string path;                // normalized; for prefix: up to and including the last '/'
  Kind kind = Kind::exact;
  bool with_query = false;  // the pattern has a '?': the query is compared too
  std::string text;         // as written, host normalized

  static std::optional<UrlPattern> parse(std::string_view text, std::string* error);
  // `host`: the request's, lower-case, without port or trailing dot;
  // `target`: the request target in origin-form ("/a/b?c").
  bool matches(std::string_view host, std::string_view target) const;
  const std::string& to_string() const { return text; }
};

// What a rule's inspected flows leave behind as decrypted capture (issue 15):
// nothing unless a rule asks.
//   pcapng    both TLS legs with their key log in one file Wireshark opens;
//   plaintext the decrypted bytes as TCP segments between client and server;
//   keylog    NSS key log lines (SSLKEYLOGFILE) for both legs.
enum class CaptureFormat : uint8_t { none, pcapng, plaintext, keylog };
std::string_view to_string(CaptureFormat f);
std::optional<CaptureFormat> parse_capture_format(std::string_view text);

struct Rule {
  std::string name;  // unique; "rule-<n>" when the config gives none
  Action action = Action::inspect;
  std::vector<SniPattern> sni;  // empty: any (a flow without SNI never matches a non-empty list)
  std::vector<Cidr> dst;        // empty: any
  std::vector<Cidr> client;     // empty: any
  std::vector<uint16_t> ports;  // empty: any intercept port
  // Request matchers: a rule with any is decided per request on inspected
  // flows (the URL-rule filter), and never per flow (match() skips it, the
  // kernel compiler ignores it). Only "inspect" (let the request through)
  // and "block" (the block page naming the rule).
  std::vector<UrlPattern> url;       // empty: any request
  std::vector<std::string> methods;  // upper-case; empty: any method
  bool has_request_matcher() const { return !url.empty() || !methods.empty(); }
  // Replaces RuleSet::untrusted_server_cert for flows this rule inspects.
  std::optional<UntrustedCertPolicy> untrusted_server_cert;
  // The CA whose active generation signs for the flows this rule inspects
  // (DESIGN.md §6); "" = the CA named "default".
  std::string ca;
  // The [[icap]] services that scan this rule's inspected flows (DESIGN.md
  // §4a): nullopt = every service, empty = none.
  std::optional<std::vector<std::string>> icap;
  // Decrypted capture of the flows this rule inspects ([capture] says where).
  CaptureFormat capture = CaptureFormat::none;
  int source_line = 0;  // line in the config file, for messages
};

struct Verdict;

struct RuleSet {
  std::vector<Rule> rules;
  Action default_action = Action::inspect;
  // [policy] block_response: what a flow blocked by a rule gets. alert: a TLS
  // access_denied alert; page: the handshake completes with a leaf for the
  // requested name and HTTP clients get a page naming the rule (others the alert).
  enum class BlockResponse { alert, page };
  BlockResponse block_response = BlockResponse::alert;
  // [upstream] untrusted_server_cert: for inspected flows whose rule has none.
  UntrustedCertPolicy untrusted_server_cert;

  // The policy that applies to a flow with this verdict.
  const UntrustedCertPolicy& untrusted_policy_for(const Verdict& verdict) const;
  // The CA a flow with this verdict forges with ("" = the default CA).
  std::string_view ca_for(const Verdict& verdict) const;
};

// What is known about a flow when it is classified. `sni` is the normalized
// name from the ClientHello (nullopt: no SNI, or not yet read).
struct FlowFacts {
  IpAddress client;
  Endpoint server;
  std::optional<std::string> sni;
};

struct Verdict {
  Action action = Action::inspect;
  // Index into RuleSet::rules, or nullopt for the default action.
  std::optional<size_t> rule_index;
  std::string rule_name;  // "default" when no rule matched
};

}  // namespace tlsgate::policy
