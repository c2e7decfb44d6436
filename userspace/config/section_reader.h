// Typed, checked access to one TOML table of tlsgate.toml. Every failure
// throws ConfigError naming the file, the offending node's line and the key,
// so that config_loader.cc reads as the schema and nothing else.
#pragma once

#include <toml++/toml.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tlsgate::config {

// A value together with the line it was written on.
template <typename T>
struct Located {
  T value;
  int line = 0;
};

int line_of(const toml::node& node);

class SectionReader {
 public:
  // `label` names the table in messages: "[gateway]", "[[rule]] #2".
  SectionReader(const toml::table& table, std::string label, std::string source);

  const std::string& label() const { return label_; }
  const std::string& source() const { return source_; }
  int line() const { return line_of(table_); }
  [[noreturn]] void fail(int line, const std::string& problem) const;

  // Throws on the first key not in `allowed`, suggesting a near miss.
  void reject_unknown_keys(std::initializer_list<std::string_view> allowed) const;

  bool has(std::string_view key) const { return table_.contains(key); }
  // The raw value, for keys whose type varies (nullptr when absent).
  const toml::node* node(std::string_view key) const { return table_.get(key); }
  int line_of_key(std::string_view key) const;

  std::optional<int64_t> integer(std::string_view key, int64_t min, int64_t max) const;
  std::optional<std::string> string(std::string_view key) const;
  std::optional<bool> boolean(std::string_view key) const;
  // One of `choices`, e.g. "open" | "closed".
  std::optional<std::string> choice(std::string_view key,
                                    std::initializer_list<std::string_view> choices) const;
  // "<n>ms" | "<n>s" | "<n>m" | "<n>h", greater than zero, at most 24h.
  std::optional<std::chrono::milliseconds> duration(std::string_view key) const;

  // A non-empty array of strings, or a single string; nullopt when absent.
  std::optional<std::vector<Located<std::string>>> strings(std::string_view key) const;
  // A non-empty array of integers in [min, max], or a single integer.
  std::optional<std::vector<Located<int64_t>>> integers(std::string_view key, int64_t min,
                                                        int64_t max) const;

 private:
  const toml::node* find(std::string_view key) const;
  std::string quoted(std::string_view key) const;
  template <typename T>
  std::optional<std::vector<const toml::node*>> elements(std::string_view key,
                                                         std::string_view kind) const;

  const toml::table& table_;
  std::string label_;
  std::string source_;
};

// An absolute path, lexically normalized; "" only when `empty_allowed`.
std::optional<std::filesystem::path> read_absolute_path(const SectionReader& r,
                                                        std::string_view key, bool empty_allowed);

// Parses a duration as written in the config; nullopt with *error set.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text, std::string* error);

// Levenshtein distance, for "did you mean" hints.
size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace tlsgate::config
