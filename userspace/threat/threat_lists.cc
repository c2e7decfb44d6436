#include "threat/threat_lists.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unordered_set>

#include "common/unique_fd.h"
#include "threat/threat_entry.h"

namespace tlsgate::threat {

namespace {

constexpr size_t kMaxListBytes = size_t{1} << 30;
constexpr size_t kMaxLists = 65535;  // list indexes are 16 bits in the table

std::string read_list_file(const policy::ThreatListSpec& spec) {
  const std::string where = "threat list '" + spec.name + "': " + spec.file.string();
  UniqueFd fd(::open(spec.file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw ThreatListError(where + ": cannot open: " + std::strerror(errno));
  std::string text;
  char buf[1 << 16];
  while (true) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw ThreatListError(where + ": cannot read: " + std::strerror(errno));
    if (n == 0) break;
    if (text.size() + static_cast<size_t>(n) > kMaxListBytes) {
      throw ThreatListError(where + ": larger than 1 GiB");
    }
    text.append(buf, static_cast<size_t>(n));
  }
  return text;
}

KeyKind kind_of(policy::ThreatListFormat format) {
  switch (format) {
    case policy::ThreatListFormat::domains:
      return KeyKind::domain;
    case policy::ThreatListFormat::hosts:
      return KeyKind::host;
    case policy::ThreatListFormat::urls:
      return KeyKind::url;
  }
  return KeyKind::domain;
}

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

}  // namespace

class ThreatLists::Builder {
 public:
  Builder(ThreatLists& out, std::span<const std::string> watched) : out_(out) {
    for (const auto& w : watched) watched_.insert(w);
  }

  void add_list(const policy::ThreatListSpec& spec, std::string_view text,
                std::shared_ptr<ThreatListCounters> counters,
                std::chrono::steady_clock::time_point started) {
    if (out_.lists_.size() >= kMaxLists) throw ThreatListError("more than 65535 threat lists");
    const auto index = static_cast<uint16_t>(out_.lists_.size());
    ThreatListInfo info;
    info.spec = spec;
    info.counters = counters ? std::move(counters) : std::make_shared<ThreatListCounters>();
    const KeyKind kind = kind_of(spec.format);
    if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // a UTF-8 BOM
    size_t line_number = 0;
    while (!text.empty()) {
      ++line_number;
      const auto eol = text.find('\n');
      const std::string_view line = text.substr(0, eol);
      text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
      ParsedLine parsed = parse_list_line(line, spec.format);
      if (!parsed.error.empty()) {
        ++info.malformed;
        if (info.malformed_lines.size() < ThreatListInfo::kMalformedShown) {
          info.malformed_lines.push_back({line_number, std::move(parsed.error)});
        }
        continue;
      }
      for (const std::string& entry : parsed.entries) {
        items_.push_back({fingerprint(kind, entry), index});
        ++info.entries;
        if (kind != KeyKind::url && !watched_.empty()) note_below_watched(spec.name, entry);
      }
    }
    switch (spec.format) {
      case policy::ThreatListFormat::domains:
        out_.has_domains_ = true;
        break;
      case policy::ThreatListFormat::hosts:
        out_.has_hosts_ = true;
        break;
      case policy::ThreatListFormat::urls:
        out_.has_urls_ = true;
        break;
    }
    info.loaded_at = std::chrono::system_clock::now();
    info.load_time = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - started);
    out_.lists_.push_back(std::move(info));
  }

  void finish() {
    out_.table_ = FingerprintTable(items_);
    items_.clear();
    items_.shrink_to_fit();
  }

 private:
  // Is `entry` strictly below a watched wildcard suffix?
  void note_below_watched(const std::string& list, std::string_view entry) {
    for (size_t dot = entry.find('.'); dot != std::string_view::npos;
         dot = entry.find('.', dot + 1)) {
      auto it = watched_.find(entry.substr(dot + 1));
      if (it != watched_.end() && !out_.entries_below_.contains(*it)) {
        out_.entries_below_.emplace(*it, list + ": " + std::string(entry));
      }
    }
  }

  ThreatLists& out_;
  std::vector<FingerprintTable::Item> items_;
  std::unordered_set<std::string, StringHash, std::equal_to<>> watched_;
};

std::shared_ptr<const ThreatLists> ThreatLists::load(std::span<const policy::ThreatListSpec> specs,
                                                     const ThreatLists* previous,
                                                     std::span<const std::string> watched) {
  auto lists = std::make_shared<ThreatLists>();
  Builder builder(*lists, watched);
  for (const auto& spec : specs) {
    const auto started = std::chrono::steady_clock::now();
    const std::string text = read_list_file(spec);
    std::shared_ptr<ThreatListCounters> counters;
    if (previous != nullptr) {
      for (const auto& old : previous->lists()) {
        if (old.spec.name == spec.name) counters = old.counters;
      }
    }
    builder.add_list(spec, text, std::move(counters), started);
  }
  builder.finish();
  return lists;
}

std::shared_ptr<const ThreatLists> ThreatLists::from_text(
    std::span<const policy::ThreatListSpec> specs, std::span<const std::string> texts,
    std::span<const std::string> watched) {
  auto lists = std::make_shared<ThreatLists>();
  Builder builder(*lists, watched);
  for (size_t i = 0; i < specs.size() && i < texts.size(); ++i) {
    builder.add_list(specs[i], texts[i], nullptr, std::chrono::steady_clock::now());
  }
  builder.finish();
  return lists;
}

std::optional<ThreatHit> ThreatLists::hit(KeyKind kind, std::string_view key) const {
  auto list = table_.find(fingerprint(kind, key));
  if (!list) return std::nullopt;
  return ThreatHit{*list, lists_[*list].spec.name, std::string(key)};
}

std::optional<ThreatHit> ThreatLists::lowest(std::optional<ThreatHit> a,
                                             std::optional<ThreatHit> b) const {
  if (!a) return b;
  if (!b) return a;
  return b->list < a->list ? b : a;
}

std::optional<ThreatHit> ThreatLists::match_domain_or_above(std::string_view name) const {
  if (!has_domains_) return std::nullopt;
  std::optional<ThreatHit> best;
  for (size_t start = 0;;) {
    best = lowest(std::move(best), hit(KeyKind::domain, name.substr(start)));
    const auto dot = name.find('.', start);
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return best;
}

std::optional<ThreatHit> ThreatLists::match_name(std::string_view host) const {
  if (lists_.empty() || host.empty()) return std::nullopt;
  std::string lowered;
  if (std::any_of(host.begin(), host.end(), [](char c) { return c >= 'A' && c <= 'Z'; }) ||
      host.back() == '.') {
    auto normalized = normalize_host(host, true, nullptr);
    if (!normalized) return std::nullopt;
    lowered = std::move(*normalized);
    host = lowered;
  }
  std::optional<ThreatHit> best = match_domain_or_above(host);
  if (has_hosts_) best = lowest(std::move(best), hit(KeyKind::host, host));
  return best;
}

std::optional<ThreatHit> ThreatLists::match_request(std::string_view authority,
                                                    std::string_view target) const {
  if (lists_.empty()) return std::nullopt;
  std::optional<ThreatHit> best;
  if (auto host = authority_host(authority)) best = match_name(*host);
  if (!has_urls_) return best;
  auto key = request_url_key(authority, target);
  if (!key) return best;
  std::string_view k = *key;
  const auto path_start = k.find('/');
  best = lowest(std::move(best), hit(KeyKind::url, k));
  const auto query = k.find('?', path_start);
  if (query != std::string_view::npos) {
    k = k.substr(0, query);
    best = lowest(std::move(best), hit(KeyKind::url, k));
  }
  // Every directory above the path: ".../a/b/c" -> ".../a/b/", ".../a/", ".../".
  for (size_t slash = k.size(); slash > path_start;) {
    slash = k.rfind('/', slash - 1);
    if (slash == std::string_view::npos || slash < path_start) break;
    if (slash + 1 == k.size()) continue;  // the path itself, already looked up
    best = lowest(std::move(best), hit(KeyKind::url, k.substr(0, slash + 1)));
  }
  return best;
}

}  // namespace tlsgate::threat
