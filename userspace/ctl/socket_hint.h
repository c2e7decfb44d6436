// Where to find the control socket when the config file does not load (an
// administrator just broke it and now runs `tlsgatectl reload` to hear the
// daemon's verdict): the [paths] control_socket line, read leniently.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tlsgate::ctl {

// The value of `control_socket = "..."` (or '...') in the [paths] section
// of `config_text`, whatever else in the text is broken.
std::optional<std::string> control_socket_hint(std::string_view config_text);

}  // namespace tlsgate::ctl
