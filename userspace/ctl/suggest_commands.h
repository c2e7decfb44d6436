// `tlsgatectl suggest [accept|dismiss ID]` (DESIGN.md §7): the control
// requests and the daemon's answers as text.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace tlsgate::ctl {

// `command`: "suggest.list", "suggest.accept" or "suggest.dismiss" ("" id for list).
nlohmann::json suggest_request(const std::string& command, const std::string& id);

// The suggestions (id, kind, count, device, SNI, JA4, why), then the
// automatic bypasses in force; a line saying there are none otherwise.
std::string format_suggestions(const nlohmann::json& answer);
// One line for accept / dismiss.
std::string format_suggest_change(const nlohmann::json& answer);

}  // namespace tlsgate::ctl
