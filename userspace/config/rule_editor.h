// Edits the [[rule]] tables of tlsgate.toml as text, for `tlsgatectl rules
// add/del`: a rule is inserted or removed as a whole block (found by the
// source lines toml++ reports), so comments and every untouched line stay as
// the administrator wrote them. The result is validated by the loader and
// checked to hold exactly the intended rules before anyone writes it.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "config/gateway_config.h"

namespace tlsgate::config {

// A rule as an operator typed it; validated only by loading the edited file.
struct RuleSpec {
  std::string name;  // required: a rule added at run time must be addressable
  std::string action;
  std::vector<std::string> sni;
  std::vector<std::string> dst;
  std::vector<std::string> client;
  std::vector<int64_t> port;
  std::vector<std::string> url;  // request matchers (decided per request)
  std::vector<std::string> method;
};

// Why an edit was refused; the message is meant for the operator as is.
class RuleEditError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct EditedConfig {
  std::string text;      // the whole file after the edit
  GatewayConfig config;  // `text`, loaded
};

// The [[rule]] table `spec` is written as (no trailing newline).
std::string rule_block_text(const RuleSpec& spec);

// Inserts `spec` as rule number `position` (1-based; nullopt or past the end:
// after the last rule). `source` names the file in messages. Throws
// RuleEditError when the current text does not load, the rule is invalid
// (the loader's message) or the name is taken.
EditedConfig add_rule(std::string_view text, const std::string& source, const RuleSpec& spec,
                      std::optional<size_t> position);

// Removes the rule named `name`, with the comment lines directly above it.
// Throws RuleEditError when there is no such rule or the text does not load.
EditedConfig delete_rule(std::string_view text, const std::string& source, std::string_view name);

}  // namespace tlsgate::config
