#include "config/threat_list_section.h"

#include <map>

#include "common/ca_name.h"
#include "config/config_loader.h"
#include "config/section_reader.h"

namespace tlsgate::config {

namespace {

policy::ThreatListSpec read_threat_list(const SectionReader& r) {
  r.reject_unknown_keys({"name", "file", "format"});
  policy::ThreatListSpec spec;
  spec.source_line = r.line();
  auto name = r.string("name");
  if (!name) r.fail(r.line(), r.label() + " has no 'name' (shown on the block page and in events)");
  // The CA alphabet: the name appears in events, metrics labels and pages.
  if (!valid_ca_name(*name)) {
    r.fail(r.line_of_key("name"), "'name' in " + r.label() + ": \"" + *name +
                                      "\" must be 1-32 characters of a-z, 0-9, '-' and '_'");
  }
  spec.name = *name;
  auto file = read_absolute_path(r, "file", false);
  if (!file) r.fail(r.line(), r.label() + " has no 'file' (the list, one entry a line)");
  spec.file = *file;
  auto format = r.choice("format", {"domains", "hosts", "urls"});
  if (!format) {
    r.fail(r.line(), r.label() + " has no 'format' (one of \"domains\", \"hosts\", \"urls\")");
  }
  spec.format = *policy::parse_threat_list_format(*format);
  return spec;
}

}  // namespace

std::vector<policy::ThreatListSpec> read_threat_lists(const toml::node& node,
                                                      const std::string& source) {
  const auto* array = node.as_array();
  if (array == nullptr) {
    throw ConfigError(source, line_of(node),
                      "threat lists must be written as [[threat_list]] tables");
  }
  std::vector<policy::ThreatListSpec> specs;
  std::map<std::string, int> first_line_of_name;
  for (const toml::node& element : *array) {
    const auto* table = element.as_table();
    if (table == nullptr) {
      throw ConfigError(source, line_of(element),
                        "threat lists must be written as [[threat_list]] tables");
    }
    SectionReader reader(*table, "[[threat_list]] #" + std::to_string(specs.size() + 1), source);
    auto spec = read_threat_list(reader);
    auto [it, fresh] = first_line_of_name.emplace(spec.name, spec.source_line);
    if (!fresh) {
      reader.fail(reader.line_of_key("name"), "duplicate threat list name '" + spec.name +
                                                  "' (first used on line " +
                                                  std::to_string(it->second) + ")");
    }
    specs.push_back(std::move(spec));
  }
  return specs;
}

}  // namespace tlsgate::config
