#include "config/untrusted_cert_section.h"

#include <algorithm>
#include <string>

#include "config/config_loader.h"

namespace tlsgate::config {

using policy::UntrustedCertAction;
using policy::UntrustedCertPolicy;

namespace {

constexpr std::string_view kKey = "untrusted_server_cert";

std::string action_list() {
  return "\"block\", \"prompt\", \"untrusted_ca\", \"allow\"";
}

UntrustedCertAction parse_action(const toml::node& value, const std::string& what,
                                 const std::string& source) {
  const auto* text = value.as_string();
  if (text == nullptr) {
    throw ConfigError(source, line_of(value), what + " must be a string, one of " + action_list());
  }
  auto action = policy::parse_untrusted_cert_action(text->get());
  if (!action) {
    throw ConfigError(source, line_of(value),
                      what + " must be one of " + action_list() + " (got \"" + text->get() + "\")");
  }
  return *action;
}

std::string nearest_class(std::string_view name) {
  std::string_view best;
  size_t best_distance = 3;  // suggest only near misses
  for (std::string_view c : policy::cert_error_class_names()) {
    if (size_t d = edit_distance(name, c); d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  return best.empty() ? std::string() : " (did you mean '" + std::string(best) + "'?)";
}

std::string class_list() {
  std::string out;
  for (std::string_view c : policy::cert_error_class_names()) {
    out += (out.empty() ? "" : ", ") + std::string(c);
  }
  return out;
}

}  // namespace

std::optional<UntrustedCertPolicy> read_untrusted_cert_policy(const SectionReader& r,
                                                              const std::string& source) {
  const toml::node* node = r.node(kKey);
  if (node == nullptr) return std::nullopt;
  const std::string where = "'" + std::string(kKey) + "' in " + r.label();
  UntrustedCertPolicy policy;
  if (node->is_string()) {
    policy.default_action = parse_action(*node, where, source);
    return policy;
  }
  const auto* table = node->as_table();
  if (table == nullptr) {
    throw ConfigError(source, line_of(*node),
                      where + " must be an action (" + action_list() +
                          ") or an inline table such as { default = \"block\", expired = "
                          "\"prompt\" }");
  }
  for (auto&& [key, value] : *table) {
    const std::string_view name = key.str();
    const int line = static_cast<int>(key.source().begin.line);
    if (name == "default") {
      policy.default_action = parse_action(value, where + ": 'default'", source);
      continue;
    }
    auto classes = policy::cert_error_class_names();
    if (std::find(classes.begin(), classes.end(), name) == classes.end()) {
      throw ConfigError(source, line,
                        where + ": unknown failure class '" + std::string(name) + "'" +
                            nearest_class(name) + "; known classes: default, " + class_list());
    }
    const UntrustedCertAction action =
        parse_action(value, where + ": '" + std::string(name) + "'", source);
    if (policy::is_handshake_failure_class(name) && action != UntrustedCertAction::block) {
      throw ConfigError(source, line,
                        where + ": '" + std::string(name) +
                            "' can only be \"block\": the upstream handshake failed, so there is "
                            "no server session to continue to");
    }
    policy.per_class.emplace(std::string(name), action);
  }
  return policy;
}

}  // namespace tlsgate::config
