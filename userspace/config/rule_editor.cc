#include "config/rule_editor.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cstdio>

#include "config/config_loader.h"

namespace tlsgate::config {

namespace {

// One [[rule]] table's lines (0-based, inclusive), comments above included.
struct RuleBlock {
  size_t first;   // first comment line directly above the header, or the header
  size_t header;  // the "[[rule]]" line
  size_t last;    // last line of its last value
  std::optional<std::string> name;
};

struct Lines {
  std::vector<std::string> lines;
  bool final_newline = true;

  static Lines split(std::string_view text) {
    Lines out;
    out.final_newline = text.empty() || text.back() == '\n';
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string_view::npos) end = text.size();
      out.lines.emplace_back(text.substr(start, end - start));
      start = end + 1;
    }
    return out;
  }

  std::string join() const {
    std::string out;
    for (size_t i = 0; i < lines.size(); ++i) {
      out += lines[i];
      if (i + 1 < lines.size() || final_newline) out += '\n';
    }
    return out;
  }
};

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

bool is_blank(std::string_view line) {
  return trimmed(line).empty();
}

bool is_comment(std::string_view line) {
  return trimmed(line).starts_with('#');
}

size_t last_line_of(const toml::node& node) {
  size_t last = node.source().end.line;
  if (const auto* table = node.as_table()) {
    for (auto&& [key, value] : *table) last = std::max(last, last_line_of(value));
  } else if (const auto* array = node.as_array()) {
    for (const auto& value : *array) last = std::max(last, last_line_of(value));
  }
  return last;
}

std::vector<RuleBlock> find_rule_blocks(std::string_view text, const std::string& source,
                                        const Lines& lines) {
  toml::table root;
  try {
    root = toml::parse(text, std::string_view(source));
  } catch (const toml::parse_error& e) {
    throw RuleEditError(source + ":" + std::to_string(e.source().begin.line) + ": " +
                        std::string(e.description()));
  }
  std::vector<RuleBlock> blocks;
  const auto* rules = root.get_as<toml::array>("rule");
  if (rules == nullptr) return blocks;
  size_t previous_last = 0;
  bool have_previous = false;
  for (const auto& element : *rules) {
    const auto* table = element.as_table();
    if (table == nullptr || table->is_inline()) {
      throw RuleEditError(source + ": rules are written as inline tables; tlsgatectl edits only " +
                          "[[rule]] blocks, so edit this file by hand");
    }
    RuleBlock block;
    block.header = table->source().begin.line - 1;
    block.last = std::max(block.header, last_line_of(*table) - 1);
    block.first = block.header;
    // Comment lines directly above the header describe this rule.
    while (block.first > 0 && is_comment(lines.lines[block.first - 1]) &&
           (!have_previous || block.first - 1 > previous_last)) {
      --block.first;
    }
    if (const auto* name = table->get_as<std::string>("name")) block.name = name->get();
    previous_last = block.last;
    have_previous = true;
    blocks.push_back(std::move(block));
  }
  return blocks;
}

GatewayConfig load_current(std::string_view text, const std::string& source) {
  try {
    return load_config_text(text, source);
  } catch (const ConfigError& e) {
    throw RuleEditError(std::string(e.what()) + " (fix the file first: rules are edited only in " +
                        "a configuration that loads)");
  }
}

// A TOML basic string.
std::string toml_string(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string string_array(const std::vector<std::string>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + toml_string(values[i]);
  return out + "]";
}

template <typename T>
std::vector<std::string> texts(const std::vector<T>& items) {
  std::vector<std::string> out;
  for (const auto& item : items) out.push_back(item.to_string());
  return out;
}

bool is_default_name(const policy::Rule& rule, size_t index) {
  return rule.name == "rule-" + std::to_string(index + 1);
}

// Same rule, allowing a loader-assigned name to follow the rule's position.
bool same_rule(const policy::Rule& a, size_t a_index, const policy::Rule& b, size_t b_index) {
  const bool names_match =
      a.name == b.name || (is_default_name(a, a_index) && is_default_name(b, b_index));
  return names_match && a.action == b.action && texts(a.sni) == texts(b.sni) &&
         texts(a.dst) == texts(b.dst) && texts(a.client) == texts(b.client) && a.ports == b.ports &&
         texts(a.url) == texts(b.url) && a.methods == b.methods;
}

// Checks that `after` is `before` with one rule at `index` added (or removed).
void check_one_rule_changed(const std::vector<policy::Rule>& longer,
                            const std::vector<policy::Rule>& shorter, size_t index) {
  bool ok = longer.size() == shorter.size() + 1 && index < longer.size();
  for (size_t i = 0; ok && i < shorter.size(); ++i) {
    const size_t j = i < index ? i : i + 1;
    ok = same_rule(shorter[i], i, longer[j], j);
  }
  if (!ok) {
    throw RuleEditError(
        "the edited file would not hold the intended rules; the file's layout is "
        "unusual, edit it by hand");
  }
}

}  // namespace

std::string rule_block_text(const RuleSpec& spec) {
  std::string out =
      "[[rule]]\nname = " + toml_string(spec.name) + "\naction = " + toml_string(spec.action);
  if (!spec.sni.empty()) out += "\nsni = " + string_array(spec.sni);
  if (!spec.dst.empty()) out += "\ndst = " + string_array(spec.dst);
  if (!spec.client.empty()) out += "\nclient = " + string_array(spec.client);
  if (!spec.url.empty()) out += "\nurl = " + string_array(spec.url);
  if (!spec.method.empty()) out += "\nmethod = " + string_array(spec.method);
  if (!spec.port.empty()) {
    out += "\nport = [";
    for (size_t i = 0; i < spec.port.size(); ++i) {
      out += (i ? ", " : "") + std::to_string(spec.port[i]);
    }
    out += "]";
  }
  return out;
}

EditedConfig add_rule(std::string_view text, const std::string& source, const RuleSpec& spec,
                      std::optional<size_t> position) {
  if (spec.name.empty()) throw RuleEditError("a rule added at run time needs a name");
  const GatewayConfig before = load_current(text, source);
  Lines lines = Lines::split(text);
  const auto blocks = find_rule_blocks(text, source, lines);

  std::vector<std::string> block_lines;
  for (const auto& line : Lines::split(rule_block_text(spec)).lines) block_lines.push_back(line);
  size_t index = blocks.size();
  if (position && *position >= 1 && *position <= blocks.size()) {
    index = *position - 1;
    block_lines.emplace_back();  // a blank line before the rule that follows
    lines.lines.insert(lines.lines.begin() + static_cast<ptrdiff_t>(blocks[index].first),
                       block_lines.begin(), block_lines.end());
  } else {
    if (!lines.lines.empty() && !is_blank(lines.lines.back())) lines.lines.emplace_back();
    lines.lines.insert(lines.lines.end(), block_lines.begin(), block_lines.end());
    lines.final_newline = true;
  }

  EditedConfig edited{lines.join(), {}};
  try {
    edited.config = load_config_text(edited.text, source);
  } catch (const ConfigError& e) {
    throw RuleEditError("rule '" + spec.name + "' refused: " + e.problem());
  }
  check_one_rule_changed(edited.config.rules.rules, before.rules.rules, index);
  return edited;
}

EditedConfig delete_rule(std::string_view text, const std::string& source, std::string_view name) {
  const GatewayConfig before = load_current(text, source);
  const auto& rules = before.rules.rules;
  const auto it = std::find_if(rules.begin(), rules.end(),
                               [&](const policy::Rule& r) { return r.name == name; });
  if (it == rules.end()) throw RuleEditError("no rule named '" + std::string(name) + "'");
  const auto index = static_cast<size_t>(it - rules.begin());

  Lines lines = Lines::split(text);
  const auto blocks = find_rule_blocks(text, source, lines);
  if (blocks.size() != rules.size()) {
    throw RuleEditError(source + ": cannot locate the [[rule]] blocks; edit this file by hand");
  }
  const RuleBlock& block = blocks[index];
  if (block.name.value_or(rules[index].name) != name) {
    throw RuleEditError(source + ": cannot locate rule '" + std::string(name) +
                        "'; edit this file by hand");
  }
  auto begin = lines.lines.begin() + static_cast<ptrdiff_t>(block.first);
  lines.lines.erase(begin, lines.lines.begin() + static_cast<ptrdiff_t>(block.last + 1));
  // The blank line that separated the block from what follows goes with it
  // (add_rule puts one there).
  const size_t at = block.first;
  if (at < lines.lines.size() && is_blank(lines.lines[at])) {
    lines.lines.erase(lines.lines.begin() + static_cast<ptrdiff_t>(at));
  }
  if (at >= lines.lines.size() && !lines.lines.empty() && is_blank(lines.lines.back())) {
    lines.lines.pop_back();  // the blank line that separated it from the rule above
  }
  if (lines.lines.empty()) lines.final_newline = true;

  EditedConfig edited{lines.join(), {}};
  try {
    edited.config = load_config_text(edited.text, source);
  } catch (const ConfigError& e) {
    throw RuleEditError("removing rule '" + std::string(name) +
                        "' would break the file: " + e.problem());
  }
  check_one_rule_changed(before.rules.rules, edited.config.rules.rules, index);
  return edited;
}

}  // namespace tlsgate::config
