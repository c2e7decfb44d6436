// `tlsgatectl threats` without --json: one line per threat list, then the
// malformed lines the daemon reported.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace tlsgate::ctl {

std::string format_threats(const nlohmann::json& answer);

}  // namespace tlsgate::ctl
