#include "config/config_loader.h"

#include <fcntl.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <limits>

#include "common/unique_fd.h"
#include "config/ca_section.h"
#include "config/capture_section.h"
#include "config/icap_section.h"
#include "config/rule_section.h"
#include "config/section_reader.h"
#include "config/suggest_section.h"
#include "config/threat_list_section.h"
#include "config/untrusted_cert_section.h"
#include "tlsgate_abi.h"

namespace tlsgate::config {

namespace {

constexpr size_t kMaxConfigBytes = 1 << 20;
constexpr std::string_view kSections[] = {"gateway", "paths",   "upstream",   "policy",
                                          "ca",      "suggest", "capture",    "groups",
                                          "rule",    "icap",    "threat_list"};
// Arrays of tables ([[rule]], [[icap]], [[threat_list]]): every other top-level key is a section.
constexpr std::string_view kTableArrays[] = {"rule", "icap", "threat_list"};

// The kernel's dev_valid_name(): 1..15 bytes, not "." or "..", no '/', ':' or space.
bool valid_ifname(std::string_view name) {
  if (name.empty() || name.size() > 15 || name == "." || name == "..") return false;
  return std::none_of(name.begin(), name.end(), [](unsigned char c) {
    return c == '/' || c == ':' || c <= ' ' || c == 0x7f;
  });
}

std::string nearest_section(std::string_view name) {
  for (std::string_view s : kSections) {
    if (edit_distance(name, s) <= 2) return " (did you mean [" + std::string(s) + "]?)";
  }
  return {};
}

void check_top_level(const toml::table& root, const std::string& source) {
  for (auto&& [key, node] : root) {
    const std::string_view name = key.str();
    const int line = static_cast<int>(key.source().begin.line);
    if (std::find(std::begin(kSections), std::end(kSections), name) == std::end(kSections)) {
      throw ConfigError(source, line,
                        node.is_table()
                            ? "unknown section [" + std::string(name) + "]" + nearest_section(name)
                            : "unknown top-level key '" + std::string(name) +
                                  "' (keys belong in a section such as [gateway])");
    }
    if (std::find(std::begin(kTableArrays), std::end(kTableArrays), name) ==
            std::end(kTableArrays) &&
        !node.is_table()) {
      throw ConfigError(
          source, line,
          "'" + std::string(name) + "' must be a section [" + std::string(name) + "]");
    }
  }
}

void read_gateway(const SectionReader& g, GatewayConfig& config) {
  g.reject_unknown_keys({"lan_interfaces", "intercept_ports", "listen_port", "workers", "fail_mode",
                         "non_tls", "non_http", "quic", "steer_mark", "route_table",
                         "max_client_hello", "handshake_timeout", "connect_timeout", "idle_timeout",
                         "max_connections_per_client", "drain_timeout"});

  auto interfaces = g.strings("lan_interfaces");
  if (!interfaces) {
    g.fail(g.line(), "'lan_interfaces' in [gateway] is required (the interfaces facing the LAN)");
  }
  for (const auto& item : *interfaces) {
    if (!valid_ifname(item.value)) {
      g.fail(item.line, "'lan_interfaces' in [gateway]: '" + item.value +
                            "' is not a valid interface name (1-15 characters, no '/', ':' or "
                            "spaces)");
    }
    if (std::find(config.lan_interfaces.begin(), config.lan_interfaces.end(), item.value) !=
        config.lan_interfaces.end()) {
      g.fail(item.line, "'lan_interfaces' in [gateway]: '" + item.value + "' is listed twice");
    }
    config.lan_interfaces.push_back(item.value);
  }

  if (auto ports = g.integers("intercept_ports", 1, 65535)) {
    if (ports->size() > TG_MAX_INTERCEPT_PORTS) {
      g.fail(g.line_of_key("intercept_ports"),
             "'intercept_ports' in [gateway] has " + std::to_string(ports->size()) +
                 " ports; at most " + std::to_string(TG_MAX_INTERCEPT_PORTS) + " are supported");
    }
    config.intercept_ports.clear();
    for (const auto& item : *ports) {
      const auto port = static_cast<uint16_t>(item.value);
      if (std::find(config.intercept_ports.begin(), config.intercept_ports.end(), port) !=
          config.intercept_ports.end()) {
        g.fail(item.line,
               "'intercept_ports' in [gateway]: " + std::to_string(port) + " is listed twice");
      }
      config.intercept_ports.push_back(port);
    }
  }

  if (auto v = g.integer("listen_port", 1, 65535)) config.listen_port = static_cast<uint16_t>(*v);
  if (std::find(config.intercept_ports.begin(), config.intercept_ports.end(), config.listen_port) !=
      config.intercept_ports.end()) {
    g.fail(g.line_of_key(g.has("listen_port") ? "listen_port" : "intercept_ports"),
           "'listen_port' " + std::to_string(config.listen_port) +
               " in [gateway] is also an intercept port; steered traffic would loop");
  }
  if (auto v = g.integer("workers", 0, 1024)) config.workers = static_cast<unsigned>(*v);
  if (auto v = g.choice("fail_mode", {"open", "closed"})) {
    config.fail_mode = *v == "open" ? FailMode::open : FailMode::closed;
  }
  if (auto v = g.choice("non_tls", {"pass", "block"})) {
    config.non_tls = *v == "pass" ? NonTlsMode::pass : NonTlsMode::block;
  }
  if (auto v = g.choice("non_http", {"relay", "block"})) {
    config.non_http = *v == "relay" ? NonHttpMode::relay : NonHttpMode::block;
  }
  if (auto v = g.choice("quic", {"block", "allow"})) {
    config.quic = *v == "block" ? QuicMode::block : QuicMode::allow;
  }
  constexpr int64_t kU32Max = std::numeric_limits<uint32_t>::max();
  if (auto v = g.integer("steer_mark", 1, kU32Max)) config.steer_mark = static_cast<uint32_t>(*v);
  if (auto v = g.integer("route_table", 1, kU32Max)) {
    if (*v >= 253 && *v <= 255) {
      g.fail(g.line_of_key("route_table"),
             "'route_table' in [gateway] must not be " + std::to_string(*v) +
                 ": 253, 254 and 255 are the kernel's default, main and local tables");
    }
    config.route_table = static_cast<uint32_t>(*v);
  }
  if (auto v = g.integer("max_connections_per_client", 0, 1000000)) {
    config.max_connections_per_client = static_cast<unsigned>(*v);
  }
  if (auto v = g.integer("max_client_hello", 512, 16384)) {
    config.max_client_hello = static_cast<size_t>(*v);
  }
  if (auto v = g.duration("handshake_timeout")) config.handshake_timeout = *v;
  if (auto v = g.duration("connect_timeout")) config.connect_timeout = *v;
  if (auto v = g.duration("idle_timeout")) config.idle_timeout = *v;
  if (auto v = g.duration("drain_timeout")) config.drain_timeout = *v;
}

// "127.0.0.1:9477", "[::1]:9477"; "" disables (nullopt).
std::optional<Endpoint> read_listen_address(const SectionReader& r, std::string_view key,
                                            const std::string& text, uint16_t listen_port) {
  if (text.empty()) return std::nullopt;
  const auto colon = text.rfind(':');
  std::string host = colon == std::string::npos ? "" : text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    host.clear();  // an IPv6 address needs brackets to be told from the port
  }
  const auto address = IpAddress::parse(host);
  unsigned port = 0;
  const char* digits = text.data() + (colon == std::string::npos ? text.size() : colon + 1);
  auto [end, ec] = std::from_chars(digits, text.data() + text.size(), port);
  const std::string where = "'" + std::string(key) + "' in " + r.label();
  if (!address || ec != std::errc() || end != text.data() + text.size() || port == 0 ||
      port > 65535) {
    r.fail(r.line_of_key(key), where + " must be \"<address>:<port>\" (\"[<ipv6>]:<port>\" for " +
                                   "IPv6) or \"\" to disable, not \"" + text + "\"");
  }
  if (port == listen_port) {
    r.fail(r.line_of_key(key),
           where + ": port " + std::to_string(port) + " is the terminator's listen_port");
  }
  return Endpoint{*address, static_cast<uint16_t>(port)};
}

void read_paths(const SectionReader& p, GatewayConfig& config) {
  p.reject_unknown_keys({"state_dir", "event_log", "bpf_pin_dir", "control_socket",
                         "metrics_listen", "event_journal"});
  if (auto v = read_absolute_path(p, "state_dir", false)) config.state_dir = *v;
  if (auto v = read_absolute_path(p, "event_log", true)) config.event_log = *v;
  if (auto v = read_absolute_path(p, "bpf_pin_dir", false)) {
    // The pin directory is removed on stop, so it must be a directory of its
    // own inside bpffs, never bpffs itself.
    const auto relative = v->lexically_relative("/sys/fs/bpf");
    if (relative.empty() || *relative.begin() == ".." || *relative.begin() == ".") {
      p.fail(p.line_of_key("bpf_pin_dir"),
             "'bpf_pin_dir' in [paths] must be a directory below /sys/fs/bpf (got \"" +
                 v->string() + "\")");
    }
    config.bpf_pin_dir = *v;
  }
  if (auto v = read_absolute_path(p, "control_socket", false)) config.control_socket = *v;
  if (auto v = p.string("metrics_listen")) {
    config.metrics_listen = read_listen_address(p, "metrics_listen", *v, config.listen_port);
  }
  if (auto v = p.boolean("event_journal")) config.event_journal = *v;
}

// A rule's `icap = [...]` names configured [[icap]] services.
void check_rule_icap_names(const GatewayConfig& config, const std::string& source) {
  for (const policy::Rule& rule : config.rules.rules) {
    if (!rule.icap) continue;
    for (const std::string& name : *rule.icap) {
      bool known = std::any_of(config.icap_services.begin(), config.icap_services.end(),
                               [&](const IcapServiceSettings& s) { return s.name == name; });
      if (!known) {
        throw ConfigError(source, rule.source_line,
                          "'icap' in rule '" + rule.name + "' names \"" + name +
                              "\", which no [[icap]] service is called");
      }
    }
  }
}

GatewayConfig read_config(const toml::table& root, const std::string& source) {
  check_top_level(root, source);
  GatewayConfig config;

  const auto* gateway = root.get_as<toml::table>("gateway");
  if (gateway == nullptr) throw ConfigError(source, 0, "missing required section [gateway]");
  read_gateway(SectionReader(*gateway, "[gateway]", source), config);

  if (const auto* paths = root.get_as<toml::table>("paths")) {
    read_paths(SectionReader(*paths, "[paths]", source), config);
  }
  if (const auto* upstream = root.get_as<toml::table>("upstream")) {
    SectionReader u(*upstream, "[upstream]", source);
    u.reject_unknown_keys(
        {"trust_store", "untrusted_server_cert", "revocation", "prompt_exception_ttl"});
    if (auto v = read_absolute_path(u, "trust_store", true)) config.trust_store = *v;
    if (auto v = read_untrusted_cert_policy(u, source)) config.rules.untrusted_server_cert = *v;
    if (auto v = u.choice("revocation", {"soft_fail", "hard_fail"})) {
      config.revocation = *v == "soft_fail" ? RevocationMode::soft_fail : RevocationMode::hard_fail;
    }
    if (auto v = u.duration("prompt_exception_ttl")) config.prompt_exception_ttl = *v;
  }
  if (const auto* policy = root.get_as<toml::table>("policy")) {
    SectionReader p(*policy, "[policy]", source);
    p.reject_unknown_keys({"default_action", "block_response"});
    if (auto v = p.choice("default_action", {"inspect", "bypass", "block"})) {
      config.rules.default_action = *policy::parse_action(*v);
    }
    if (auto v = p.choice("block_response", {"alert", "page"})) {
      config.rules.block_response = *v == "page" ? policy::RuleSet::BlockResponse::page
                                                 : policy::RuleSet::BlockResponse::alert;
    }
  }
  if (const auto* ca = root.get_as<toml::table>("ca")) {
    read_ca_section(SectionReader(*ca, "[ca]", source), config.ca);
  }
  if (const auto* suggest = root.get_as<toml::table>("suggest")) {
    read_suggest_section(SectionReader(*suggest, "[suggest]", source), config.suggest);
  }
  if (const auto* capture = root.get_as<toml::table>("capture")) {
    read_capture_section(SectionReader(*capture, "[capture]", source), config.capture);
  }
  ClientGroups groups;
  if (const auto* table = root.get_as<toml::table>("groups")) {
    groups = read_client_groups(*table, source);
  }
  if (const toml::node* icap = root.get("icap")) {
    config.icap_services = read_icap_services(*icap, source);
  }
  if (const toml::node* rules = root.get("rule")) {
    config.rules.rules = read_rules(*rules, source, config.intercept_ports, groups);
  }
  check_rule_icap_names(config, source);
  if (const toml::node* lists = root.get("threat_list")) {
    config.threat_lists = read_threat_lists(*lists, source);
  }
  return config;
}

std::string error_text(const std::string& file, int line, const std::string& problem) {
  return line > 0 ? file + ":" + std::to_string(line) + ": " + problem : file + ": " + problem;
}

}  // namespace

ConfigError::ConfigError(std::string file, int line, std::string problem)
    : std::runtime_error(error_text(file, line, problem)),
      file_(std::move(file)),
      line_(line),
      problem_(std::move(problem)) {}

GatewayConfig load_config_file(const std::filesystem::path& path) {
  return load_config_text(read_config_text(path), path.string());
}

std::string read_config_text(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw ConfigError(path.string(), 0, std::string("cannot open: ") + std::strerror(errno));
  std::string text;
  char buf[16384];
  while (true) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      throw ConfigError(path.string(), 0, std::string("cannot read: ") + std::strerror(errno));
    if (n == 0) break;
    // A config is a few KB; refuse to slurp something that is not one.
    if (text.size() + static_cast<size_t>(n) > kMaxConfigBytes) {
      throw ConfigError(path.string(), 0, "file is larger than 1 MiB; not a tlsgate config");
    }
    text.append(buf, static_cast<size_t>(n));
  }
  return text;
}

GatewayConfig load_config_text(std::string_view toml_text, std::string source_name) {
  toml::table root;
  try {
    root = toml::parse(toml_text, std::string_view(source_name));
  } catch (const toml::parse_error& e) {
    throw ConfigError(source_name, static_cast<int>(e.source().begin.line),
                      std::string(e.description()));
  }
  return read_config(root, source_name);
}

}  // namespace tlsgate::config
