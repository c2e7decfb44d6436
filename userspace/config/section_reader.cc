#include "config/section_reader.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <numeric>

#include "config/config_loader.h"

namespace tlsgate::config {

namespace {

std::string_view type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time:
      return "a date/time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

constexpr std::chrono::milliseconds kMaxDuration = std::chrono::hours(24);

}  // namespace

int line_of(const toml::node& node) {
  return static_cast<int>(node.source().begin.line);
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), size_t{0});
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text, std::string* error) {
  auto fail = [&](std::string message) -> std::optional<std::chrono::milliseconds> {
    if (error != nullptr) *error = std::move(message);
    return std::nullopt;
  };
  const std::string shown = "'" + std::string(text) + "'";
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec == std::errc::result_out_of_range) return fail("duration " + shown + " is too long");
  if (ec != std::errc() || end == text.data()) {
    return fail("duration " + shown + " must be a number followed by ms, s, m or h (e.g. \"10s\")");
  }
  const std::string_view unit(end, static_cast<size_t>(text.data() + text.size() - end));
  uint64_t unit_ms = 0;
  if (unit == "ms") {
    unit_ms = 1;
  } else if (unit == "s") {
    unit_ms = 1000;
  } else if (unit == "m") {
    unit_ms = 60 * 1000;
  } else if (unit == "h") {
    unit_ms = 3600 * 1000;
  } else {
    return fail("duration " + shown + " has no valid unit (ms, s, m or h)");
  }
  if (n == 0) return fail("duration " + shown + " must be greater than zero");
  const auto max_ms = static_cast<uint64_t>(kMaxDuration.count());
  if (n > max_ms / unit_ms) return fail("duration " + shown + " is longer than 24h");
  return std::chrono::milliseconds(static_cast<int64_t>(n * unit_ms));
}

SectionReader::SectionReader(const toml::table& table, std::string label, std::string source)
    : table_(table), label_(std::move(label)), source_(std::move(source)) {}

void SectionReader::fail(int line, const std::string& problem) const {
  throw ConfigError(source_, line, problem);
}

std::string SectionReader::quoted(std::string_view key) const {
  return "'" + std::string(key) + "' in " + label_;
}

void SectionReader::reject_unknown_keys(std::initializer_list<std::string_view> allowed) const {
  for (auto&& [key, node] : table_) {
    const std::string_view name = key.str();
    if (std::find(allowed.begin(), allowed.end(), name) != allowed.end()) continue;
    std::string problem = "unknown key '" + std::string(name) + "' in " + label_;
    auto best = std::min_element(allowed.begin(), allowed.end(), [&](auto x, auto y) {
      return edit_distance(name, x) < edit_distance(name, y);
    });
    if (best != allowed.end() && edit_distance(name, *best) <= 2) {
      problem += " (did you mean '" + std::string(*best) + "'?)";
    }
    fail(static_cast<int>(key.source().begin.line), problem);
  }
}

const toml::node* SectionReader::find(std::string_view key) const {
  return table_.get(key);
}

int SectionReader::line_of_key(std::string_view key) const {
  const toml::node* node = find(key);
  return node != nullptr ? line_of(*node) : line();
}

std::optional<int64_t> SectionReader::integer(std::string_view key, int64_t min,
                                              int64_t max) const {
  const toml::node* node = find(key);
  if (node == nullptr) return std::nullopt;
  const auto* value = node->as_integer();
  if (value == nullptr) {
    fail(line_of(*node), quoted(key) + " must be an integer, not " + std::string(type_name(*node)));
  }
  const int64_t v = value->get();
  if (v < min || v > max) {
    fail(line_of(*node), quoted(key) + " must be between " + std::to_string(min) + " and " +
                             std::to_string(max) + " (got " + std::to_string(v) + ")");
  }
  return v;
}

std::optional<std::string> SectionReader::string(std::string_view key) const {
  const toml::node* node = find(key);
  if (node == nullptr) return std::nullopt;
  const auto* value = node->as_string();
  if (value == nullptr) {
    fail(line_of(*node), quoted(key) + " must be a string, not " + std::string(type_name(*node)));
  }
  return value->get();
}

std::optional<bool> SectionReader::boolean(std::string_view key) const {
  const toml::node* node = find(key);
  if (node == nullptr) return std::nullopt;
  const auto* value = node->as_boolean();
  if (value == nullptr) {
    fail(line_of(*node),
         quoted(key) + " must be true or false, not " + std::string(type_name(*node)));
  }
  return value->get();
}

std::optional<std::string> SectionReader::choice(
    std::string_view key, std::initializer_list<std::string_view> choices) const {
  auto value = string(key);
  if (!value) return std::nullopt;
  if (std::find(choices.begin(), choices.end(), *value) == choices.end()) {
    std::string list;
    for (std::string_view c : choices)
      list += (list.empty() ? "\"" : ", \"") + std::string(c) + "\"";
    fail(line_of_key(key), quoted(key) + " must be one of " + list + " (got \"" + *value + "\")");
  }
  return value;
}

std::optional<std::chrono::milliseconds> SectionReader::duration(std::string_view key) const {
  auto text = string(key);
  if (!text) return std::nullopt;
  std::string error;
  auto value = parse_duration(*text, &error);
  if (!value) fail(line_of_key(key), quoted(key) + ": " + error);
  return value;
}

template <typename T>
std::optional<std::vector<const toml::node*>> SectionReader::elements(std::string_view key,
                                                                      std::string_view kind) const {
  const toml::node* node = find(key);
  if (node == nullptr) return std::nullopt;
  if (node->is<T>()) return std::vector<const toml::node*>{node};
  const auto* array = node->as_array();
  if (array == nullptr) {
    fail(line_of(*node), quoted(key) + " must be " + std::string(kind) +
                             " or an array of them, not " + std::string(type_name(*node)));
  }
  // An explicit empty list would read as "match anything": make it a typo.
  if (array->empty())
    fail(line_of(*node), quoted(key) + " is an empty array; omit the key instead");
  std::vector<const toml::node*> out;
  for (const toml::node& element : *array) {
    if (!element.is<T>()) {
      fail(line_of(element), "elements of " + quoted(key) + " must be " + std::string(kind) +
                                 ", not " + std::string(type_name(element)));
    }
    out.push_back(&element);
  }
  return out;
}

std::optional<std::vector<Located<std::string>>> SectionReader::strings(
    std::string_view key) const {
  auto nodes = elements<std::string>(key, "a string");
  if (!nodes) return std::nullopt;
  std::vector<Located<std::string>> out;
  for (const toml::node* n : *nodes) out.push_back({n->as_string()->get(), line_of(*n)});
  return out;
}

std::optional<std::vector<Located<int64_t>>> SectionReader::integers(std::string_view key,
                                                                     int64_t min,
                                                                     int64_t max) const {
  auto nodes = elements<int64_t>(key, "an integer");
  if (!nodes) return std::nullopt;
  std::vector<Located<int64_t>> out;
  for (const toml::node* n : *nodes) {
    const int64_t v = n->as_integer()->get();
    if (v < min || v > max) {
      fail(line_of(*n), "elements of " + quoted(key) + " must be between " + std::to_string(min) +
                            " and " + std::to_string(max) + " (got " + std::to_string(v) + ")");
    }
    out.push_back({v, line_of(*n)});
  }
  return out;
}

std::optional<std::filesystem::path> read_absolute_path(const SectionReader& r,
                                                        std::string_view key, bool empty_allowed) {
  auto text = r.string(key);
  if (!text) return std::nullopt;
  if (text->empty() && empty_allowed) return std::filesystem::path();
  if (text->find('\0') != std::string::npos) {
    r.fail(r.line_of_key(key), "'" + std::string(key) + "' in " + r.label() + " contains a NUL");
  }
  std::filesystem::path path(*text);
  if (!path.is_absolute()) {
    r.fail(r.line_of_key(key), "'" + std::string(key) + "' in " + r.label() + " must be an " +
                                   "absolute path (got \"" + *text + "\")");
  }
  return path.lexically_normal();
}

}  // namespace tlsgate::config
