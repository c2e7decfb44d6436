// [[icap]] (DESIGN.md §4a): the ICAP services (RFC 3507) inspected messages
// are handed to, e.g. c-icap's virus_scan over ClamAV.
//   [[icap]]
//   name = "av"
//   url = "icap://127.0.0.1:1344/avscan"
//   method = "respmod"          # or "reqmod" (uploads)
//   timeout = "30s"             # per scan, connect to answer
//   max_connections = 8         # all workers together; the service's Max-Connections caps it
//   on_error = "block"          # service down, slow or garbled: "block" | "pass"
//   preview = 4096              # bytes; the service's OPTIONS Preview caps it
//   max_scan_size = 33554432    # bytes held for a scan
//   oversize = "pass"           # bigger messages: "pass" | "block"
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tlsgate::config {

enum class IcapMethod { reqmod, respmod };
enum class IcapFailAction { block, pass };

// "icap://host[:port]/service[?query]"; the port defaults to 1344.
struct IcapUrl {
  std::string host;  // a name or an address; IPv6 without brackets
  uint16_t port = 1344;
  std::string service;  // the path after the authority, with the query ("avscan")
  std::string to_string() const;
};
// nullopt with *error set when `text` is not such a URL.
std::optional<IcapUrl> parse_icap_url(std::string_view text, std::string* error);

struct IcapServiceSettings {
  std::string name;
  IcapUrl url;
  IcapMethod method = IcapMethod::respmod;
  std::chrono::milliseconds timeout{30000};
  unsigned max_connections = 8;
  IcapFailAction on_error = IcapFailAction::block;
  size_t preview = 4096;
  size_t max_scan_size = size_t{32} << 20;
  IcapFailAction oversize = IcapFailAction::pass;
  int source_line = 0;
};

const char* to_string(IcapMethod m);  // "respmod" | "reqmod"
const char* to_string(IcapFailAction a);

}  // namespace tlsgate::config
