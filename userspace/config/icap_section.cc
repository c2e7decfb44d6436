#include "config/icap_section.h"

#include <map>

#include "config/config_loader.h"
#include "config/section_reader.h"

namespace tlsgate::config {

std::vector<IcapServiceSettings> read_icap_services(const toml::node& node,
                                                    const std::string& source) {
  const auto* array = node.as_array();
  if (array == nullptr) {
    throw ConfigError(source, line_of(node), "ICAP services must be written as [[icap]] tables");
  }
  std::vector<IcapServiceSettings> out;
  std::map<std::string, int> first_line_of_name;
  for (const toml::node& element : *array) {
    const auto* table = element.as_table();
    if (table == nullptr) {
      throw ConfigError(source, line_of(element),
                        "ICAP services must be written as [[icap]] tables");
    }
    SectionReader r(*table, "[[icap]] #" + std::to_string(out.size() + 1), source);
    r.reject_unknown_keys({"name", "url", "method", "timeout", "max_connections", "on_error",
                           "preview", "max_scan_size", "oversize"});
    IcapServiceSettings s;
    s.source_line = r.line();
    auto name = r.string("name");
    if (!name || name->empty()) r.fail(r.line(), "needs a name (e.g. name = \"av\")");
    s.name = *name;
    auto url_text = r.string("url");
    if (!url_text) r.fail(r.line(), "needs a url (e.g. url = \"icap://127.0.0.1:1344/avscan\")");
    std::string why;
    auto url = parse_icap_url(*url_text, &why);
    if (!url) r.fail(r.line_of_key("url"), "'url' " + why + " (got \"" + *url_text + "\")");
    s.url = *url;
    if (auto v = r.choice("method", {"respmod", "reqmod"})) {
      s.method = *v == "reqmod" ? IcapMethod::reqmod : IcapMethod::respmod;
    }
    if (auto v = r.duration("timeout")) s.timeout = *v;
    if (auto v = r.integer("max_connections", 1, 1024))
      s.max_connections = static_cast<unsigned>(*v);
    if (auto v = r.choice("on_error", {"block", "pass"})) {
      s.on_error = *v == "pass" ? IcapFailAction::pass : IcapFailAction::block;
    }
    if (auto v = r.integer("preview", 0, 1 << 20)) s.preview = static_cast<size_t>(*v);
    if (auto v = r.integer("max_scan_size", 1, int64_t{1} << 32)) {
      s.max_scan_size = static_cast<size_t>(*v);
    }
    if (auto v = r.choice("oversize", {"block", "pass"})) {
      s.oversize = *v == "block" ? IcapFailAction::block : IcapFailAction::pass;
    }
    auto [it, fresh] = first_line_of_name.emplace(s.name, s.source_line);
    if (!fresh) {
      r.fail(r.line_of_key("name"), "duplicate ICAP service name '" + s.name +
                                        "' (first used on line " + std::to_string(it->second) +
                                        ")");
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace tlsgate::config
