// What tlsgatectl prints without --json: the daemon's answers as short
// aligned text.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tlsgate::ctl {

// Columns padded to their widest cell; the last column is not padded.
std::string text_table(const std::vector<std::vector<std::string>>& rows);

std::string format_status(const nlohmann::json& status);
std::string format_flows(const nlohmann::json& flows);
// `only_action`: "bypass" for `bypass list`, "" for every rule.
std::string format_rules(const nlohmann::json& rules, const std::string& only_action);
std::string format_stats(const nlohmann::json& stats);
// One event line: "<ts> <summary>" (the journal's MESSAGE).
std::string format_event(const nlohmann::json& event);

// "1h02m", "45s", "3d04h".
std::string format_duration(int64_t seconds);

}  // namespace tlsgate::ctl
