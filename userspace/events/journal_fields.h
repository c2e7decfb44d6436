// Events in the systemd journal (DESIGN.md §7): the same fields as the JSON
// line, upper-cased as journal fields (CLIENT=, SNI=, CLASS=, ...), plus
// MESSAGE (a one-line summary), PRIORITY, MESSAGE_ID (one per event type)
// and SYSLOG_IDENTIFIER, so `journalctl -t tlsgated TYPE=tls` filters them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace tlsgate::events {

// "FIELD=value" entries for one event (`fields` as written to the event
// file, "type" and "ts" included). Arrays become one entry per element;
// objects are written as JSON. Field names are upper-cased, characters
// outside [A-Z0-9_] become '_', and leading '_' (trusted fields) is dropped.
std::vector<std::string> journal_fields(const nlohmann::json& fields);

// The MESSAGE of an event: "flow 10.0.0.5:51234 -> 192.0.2.1:443 sni=a.example
// inspect rule=default reason=closed".
std::string journal_summary(const nlohmann::json& fields);

// Sends the entries to journald; false when it cannot be reached.
bool send_to_journal(const std::vector<std::string>& entries);

// Whether stdout is connected to the journal (systemd's $JOURNAL_STREAM
// names stdout's device and inode), where mirroring events to stdout would
// log each one twice.
bool stdout_is_journal();

}  // namespace tlsgate::events
