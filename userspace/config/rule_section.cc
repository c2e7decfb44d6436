#include "config/rule_section.h"

#include <algorithm>
#include <charconv>
#include <map>

#include "config/ca_section.h"
#include "config/config_loader.h"
#include "config/section_reader.h"
#include "config/untrusted_cert_section.h"
#include "policy/url_pattern.h"

namespace tlsgate::config {

using policy::Rule;
using policy::SniPattern;

namespace {

bool is_v4_mapped(const Cidr& c) {
  const auto& b = c.network().bytes();
  return !c.network().is_v4() && c.prefix_len() >= 96 &&
         std::all_of(b.begin(), b.begin() + 10, [](uint8_t x) { return x == 0; }) &&
         b[10] == 0xff && b[11] == 0xff;
}

std::string ports_text(std::span<const uint16_t> ports) {
  std::string out;
  for (uint16_t p : ports) out += (out.empty() ? "" : ", ") + std::to_string(p);
  return "[" + out + "]";
}

// The same alphabet as CA names (common/ca_name.h).
bool valid_group_name(std::string_view name) {
  return valid_ca_name(name);
}

bool has_control_chars(std::string_view text) {
  return std::any_of(text.begin(), text.end(),
                     [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

// "[[rule]] 'banks'" when the rule is named, else "[[rule]] #2".
std::string rule_label(const toml::table& table, size_t number) {
  if (const auto* name = table.get_as<std::string>("name");
      name != nullptr && !name->get().empty() && !has_control_chars(name->get())) {
    return "[[rule]] '" + name->get() + "'";
  }
  return "[[rule]] #" + std::to_string(number);
}

std::vector<Cidr> read_cidrs(const SectionReader& r, std::string_view key,
                             const ClientGroups* groups = nullptr) {
  std::vector<Cidr> out;
  for (const auto& item : r.strings(key).value_or(std::vector<Located<std::string>>{})) {
    if (groups != nullptr && item.value.starts_with('@')) {
      auto group = groups->find(std::string_view(item.value).substr(1));
      if (group == groups->end()) {
        r.fail(item.line, "'" + std::string(key) + "' in " + r.label() + ": no group '" +
                              item.value.substr(1) + "' in [groups]");
      }
      for (const Cidr& cidr : group->second) {
        if (std::find(out.begin(), out.end(), cidr) == out.end()) out.push_back(cidr);
      }
      continue;
    }
    std::string error;
    auto cidr = parse_rule_cidr(item.value, &error);
    if (!cidr) r.fail(item.line, "'" + std::string(key) + "' in " + r.label() + ": " + error);
    out.push_back(*cidr);
  }
  return out;
}

// url and method: decided per request, so only "inspect" (let through) or
// "block", and nothing that belongs to a whole flow.
void read_request_matchers(const SectionReader& r, Rule& rule) {
  for (const auto& item : r.strings("url").value_or(std::vector<Located<std::string>>{})) {
    std::string error;
    auto pattern = policy::UrlPattern::parse(item.value, &error);
    if (!pattern) r.fail(item.line, "'url' in " + r.label() + ": " + error);
    rule.url.push_back(std::move(*pattern));
  }
  for (const auto& item : r.strings("method").value_or(std::vector<Located<std::string>>{})) {
    std::string error;
    auto method = policy::parse_method(item.value, &error);
    if (!method) r.fail(item.line, "'method' in " + r.label() + ": " + error);
    if (std::find(rule.methods.begin(), rule.methods.end(), *method) == rule.methods.end()) {
      rule.methods.push_back(std::move(*method));
    }
  }
  if (!rule.has_request_matcher()) return;
  const int line = r.line_of_key(r.has("url") ? "url" : "method");
  if (rule.action == policy::Action::bypass) {
    r.fail(line, r.label() +
                     ": a rule with 'url' or 'method' decides single requests inside inspected "
                     "flows; its action can be \"block\" or \"inspect\" (let the request "
                     "through), not \"bypass\"");
  }
  for (const char* key : {"ca", "untrusted_server_cert", "icap", "capture"}) {
    if (r.has(key)) {
      r.fail(r.line_of_key(key), "'" + std::string(key) + "' in " + r.label() +
                                     " applies to whole flows; a rule with 'url' or 'method' "
                                     "decides single requests");
    }
  }
}

Rule read_rule(const SectionReader& r, size_t number, std::span<const uint16_t> intercept_ports,
               const ClientGroups& groups) {
  r.reject_unknown_keys({"name", "action", "sni", "dst", "client", "port", "untrusted_server_cert",
                         "ca", "icap", "capture", "url", "method"});
  Rule rule;
  rule.source_line = r.line();

  rule.name = "rule-" + std::to_string(number);
  if (auto name = r.string("name")) {
    if (name->empty()) r.fail(r.line_of_key("name"), "'name' in " + r.label() + " is empty");
    if (*name == "default") {
      r.fail(r.line_of_key("name"),
             "rule name 'default' is reserved for the default action; choose another name");
    }
    if (has_control_chars(*name)) {
      r.fail(r.line_of_key("name"), "'name' in " + r.label() + " contains control characters");
    }
    rule.name = *name;
  }

  auto action = r.choice("action", {"inspect", "bypass", "block"});
  if (!action) {
    r.fail(r.line(), r.label() + " has no 'action' (one of \"inspect\", \"bypass\", \"block\")");
  }
  rule.action = *policy::parse_action(*action);
  rule.untrusted_server_cert = read_untrusted_cert_policy(r, r.source());
  if (rule.untrusted_server_cert && rule.action != policy::Action::inspect) {
    r.fail(r.line_of_key("untrusted_server_cert"),
           "'untrusted_server_cert' in " + r.label() +
               " applies only to inspected flows, but the rule's action is \"" + *action + "\"");
  }

  if (auto ca = r.string("ca")) {
    if (!valid_ca_name(*ca)) {
      r.fail(r.line_of_key("ca"), "'ca' in " + r.label() + ": \"" + *ca +
                                      "\" is not a CA name (1-32 characters of a-z, 0-9, '-' and "
                                      "'_'; tlsgatectl ca list shows them)");
    }
    if (rule.action != policy::Action::inspect) {
      r.fail(r.line_of_key("ca"), "'ca' in " + r.label() + " applies only to inspected flows, " +
                                      "but the rule's action is \"" + *action + "\"");
    }
    rule.ca = *ca;
  }

  // Capture writes users' decrypted traffic: only ever for a rule that asks,
  // and only inspected flows have any.
  if (auto capture = r.choice("capture", {"pcapng", "plaintext", "keylog"})) {
    if (rule.action != policy::Action::inspect) {
      r.fail(r.line_of_key("capture"), "'capture' in " + r.label() +
                                           " applies only to inspected flows, " +
                                           "but the rule's action is \"" + *action + "\"");
    }
    // pcapng and plaintext are named by the config reference's future
    // formats but not written yet: refusing them beats accepting a rule that
    // silently captures nothing.
    if (*capture != "keylog") {
      r.fail(r.line_of_key("capture"), "'capture' in " + r.label() + ": \"" + *capture +
                                           "\" is not available in this version of tlsgate; " +
                                           "use \"keylog\" (tshark decrypts a packet capture " +
                                           "of either leg with it)");
    }
    rule.capture = *policy::parse_capture_format(*capture);
  }

  if (const toml::node* icap = r.node("icap")) {
    // An array of service names; [] turns scanning off for the rule.
    const auto* list = icap->as_array();
    if (list == nullptr) {
      r.fail(line_of(*icap), "'icap' in " + r.label() +
                                 " must be an array of [[icap]] service names (e.g. [\"av\"], "
                                 "or [] for none)");
    }
    std::vector<std::string> names;
    for (const toml::node& item : *list) {
      const auto* name = item.as_string();
      if (name == nullptr || name->get().empty()) {
        r.fail(line_of(item), "'icap' in " + r.label() + " must list service names as strings");
      }
      names.push_back(name->get());
    }
    if (!names.empty() && rule.action != policy::Action::inspect) {
      r.fail(line_of(*icap), "'icap' in " + r.label() + " applies only to inspected flows, " +
                                 "but the rule's action is \"" + *action + "\"");
    }
    rule.icap = std::move(names);
  }

  for (const auto& item : r.strings("sni").value_or(std::vector<Located<std::string>>{})) {
    std::string error;
    auto pattern = SniPattern::parse(item.value, &error);
    if (!pattern) r.fail(item.line, "'sni' in " + r.label() + ": " + error);
    rule.sni.push_back(std::move(*pattern));
  }
  rule.dst = read_cidrs(r, "dst");
  rule.client = read_cidrs(r, "client", &groups);
  for (const auto& item : r.integers("port", 1, 65535).value_or(std::vector<Located<int64_t>>{})) {
    const auto port = static_cast<uint16_t>(item.value);
    if (std::find(intercept_ports.begin(), intercept_ports.end(), port) == intercept_ports.end()) {
      r.fail(item.line, "'port' in " + r.label() + ": " + std::to_string(port) +
                            " is not an intercept port " + ports_text(intercept_ports) +
                            ", so the rule could never match it");
    }
    if (std::find(rule.ports.begin(), rule.ports.end(), port) == rule.ports.end()) {
      rule.ports.push_back(port);
    }
  }
  read_request_matchers(r, rule);
  return rule;
}

}  // namespace

std::optional<Cidr> parse_rule_cidr(std::string_view text, std::string* error) {
  const std::string shown = "'" + std::string(text) + "'";
  auto fail = [&](std::string message) -> std::optional<Cidr> {
    if (error != nullptr) *error = std::move(message);
    return std::nullopt;
  };
  if (auto cidr = Cidr::parse(text)) {
    // Flows are classified with IPv4-mapped peers already unmapped.
    if (is_v4_mapped(*cidr)) return fail(shown + " is IPv4-mapped; write it as an IPv4 prefix");
    return cidr;
  }
  const auto slash = text.find('/');
  auto address = IpAddress::parse(text.substr(0, slash));
  if (!address) return fail(shown + " is not an IP address or CIDR prefix");
  const unsigned max_len = address->is_v4() ? 32 : 128;
  unsigned len = 0;
  const auto digits = slash == std::string_view::npos ? std::string_view{} : text.substr(slash + 1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), len);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() ||
      len > max_len) {
    return fail(shown + " has an invalid prefix length (0.." + std::to_string(max_len) + ")");
  }
  return fail(shown + " has host bits set (did you mean " + Cidr(*address, len).to_string() + "?)");
}

ClientGroups read_client_groups(const toml::table& table, const std::string& source) {
  SectionReader r(table, "[groups]", source);
  ClientGroups groups;
  for (const auto& [key, value] : table) {
    const std::string name(key.str());
    if (!valid_group_name(name)) {
      r.fail(line_of(value), "group name '" + name +
                                 "' in [groups]: use 1-32 of a-z, 0-9, '-' and '_', starting "
                                 "with a letter or digit");
    }
    groups[name] = read_cidrs(r, name);
  }
  return groups;
}

std::vector<Rule> read_rules(const toml::node& node, const std::string& source,
                             std::span<const uint16_t> intercept_ports,
                             const ClientGroups& groups) {
  const auto* array = node.as_array();
  if (array == nullptr) {
    throw ConfigError(source, line_of(node), "rules must be written as [[rule]] tables");
  }
  std::vector<Rule> rules;
  std::map<std::string, int> first_line_of_name;
  for (const toml::node& element : *array) {
    const auto* table = element.as_table();
    if (table == nullptr) {
      throw ConfigError(source, line_of(element), "rules must be written as [[rule]] tables");
    }
    const size_t number = rules.size() + 1;
    SectionReader reader(*table, rule_label(*table, number), source);
    Rule rule = read_rule(reader, number, intercept_ports, groups);
    auto [it, fresh] = first_line_of_name.emplace(rule.name, rule.source_line);
    if (!fresh) {
      reader.fail(reader.line_of_key("name"), "duplicate rule name '" + rule.name +
                                                  "' (first used on line " +
                                                  std::to_string(it->second) + ")");
    }
    rules.push_back(std::move(rule));
  }
  return rules;
}

}  // namespace tlsgate::config
