#include "threat/threat_lists.h"

#include <fcntl.h>
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
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
  struct stat st {};
  if (::fstat(fd.get(), &st) == 0 && st.st_size > 0) {
    if (static_cast<size_t>(st.st_size) > kMaxListBytes) {
      throw ThreatListError(where + ": larger than 1 GiB");
    }
  }
  // Read straight into one buffer of the file's size: a list is read once
  // and dropped, and growing copies would leave the heap fragmented.
  std::string text(static_cast<size_t>(std::max<off_t>(st.st_size, 0)) + 1, '\0');
  size_t used = 0;
  while (true) {
    if (used == text.size()) {
      if (text.size() > kMaxListBytes) throw ThreatListError(where + ": larger than 1 GiB");
      text.resize(text.size() * 2);
    }
    const ssize_t n = ::read(fd.get(), text.data() + used, text.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw ThreatListError(where + ": cannot read: " + std::strerror(errno));
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  text.resize(used);
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
  // `expected`: about how many entries will come (the lines of every list).
  Builder(ThreatLists& out, std::span<const std::string> watched, size_t expected) : out_(out) {
    for (const auto& w : watched) watched_.insert(w);
    out_.table_ = FingerprintTable(expected);
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
        out_.table_.add({fingerprint(kind, entry), index});
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
  std::unordered_set<std::string, StringHash, std::equal_to<>> watched_;
};

std::shared_ptr<const ThreatLists> ThreatLists::load(std::span<const policy::ThreatListSpec> specs,
                                                     const ThreatLists* previous,
                                                     std::span<const std::string> watched) {
  // Every file first: a missing one refuses the load before any work, and
  // their lines size the table once.
  std::vector<std::string> texts;
  std::vector<std::chrono::steady_clock::duration> read_times;
  size_t lines = 0;
  for (const auto& spec : specs) {
    const auto started = std::chrono::steady_clock::now();
    texts.push_back(read_list_file(spec));
    read_times.push_back(std::chrono::steady_clock::now() - started);
    lines += static_cast<size_t>(std::count(texts.back().begin(), texts.back().end(), '\n')) + 1;
  }
  auto lists = std::make_shared<ThreatLists>();
  {
    Builder builder(*lists, watched, lines);
    for (size_t i = 0; i < specs.size(); ++i) {
      std::shared_ptr<ThreatListCounters> counters;
      if (previous != nullptr) {
        for (const auto& old : previous->lists()) {
          if (old.spec.name == specs[i].name) counters = old.counters;
        }
      }
      builder.add_list(specs[i], texts[i], std::move(counters),
                       std::chrono::steady_clock::now() - read_times[i]);
      std::string().swap(texts[i]);
    }
  }
  ::malloc_trim(0);  // hand the list texts' memory back to the system
  return lists;
}

std::shared_ptr<const ThreatLists> ThreatLists::from_text(
    std::span<const policy::ThreatListSpec> specs, std::span<const std::string> texts,
    std::span<const std::string> watched) {
  auto lists = std::make_shared<ThreatLists>();
  size_t lines = 0;
  for (const auto& text : texts)
    lines += static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
  Builder builder(*lists, watched, lines);
  for (size_t i = 0; i < specs.size() && i < texts.size(); ++i) {
    builder.add_list(specs[i], texts[i], nullptr, std::chrono::steady_clock::now());
  }
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
  // The name and every name above it; their slots are fetched together.
  constexpr size_t kMaxLabels = 128;  // a 253-byte name has at most 127 labels
  std::array<uint64_t, kMaxLabels> fingerprints;
  std::array<uint16_t, kMaxLabels> starts;
  size_t n = 0;
  for (size_t start = 0; n < kMaxLabels;) {
    fingerprints[n] = fingerprint(KeyKind::domain, name.substr(start));
    starts[n] = static_cast<uint16_t>(start);
    table_.prefetch(fingerprints[n++]);
    const auto dot = name.find('.', start);
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  std::optional<uint16_t> best;
  size_t best_at = 0;
  for (size_t i = 0; i < n; ++i) {
    auto list = table_.find(fingerprints[i]);
    if (list && (!best || *list < *best)) {
      best = list;
      best_at = i;
    }
  }
  if (!best) return std::nullopt;
  return ThreatHit{*best, lists_[*best].spec.name, std::string(name.substr(starts[best_at]))};
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
  const auto key = request_key(authority, target, has_urls_);
  if (!key) return std::nullopt;
  std::optional<ThreatHit> best = match_name(key->host);
  if (key->url.empty()) return best;
  // The URL with its query, without it, and every directory above its path
  // (".../a/b/c" -> ".../a/b/", ".../a/", ".../"), their slots fetched
  // together a batch at a time.
  const std::string_view url = key->url;
  const size_t path_at = key->path_at;
  std::string_view k = url.substr(0, url.find('?', path_at));
  constexpr size_t kBatch = 16;
  std::array<uint64_t, kBatch> fingerprints;
  std::array<std::string_view, kBatch> keys;
  size_t n = 0;
  std::optional<uint16_t> found;
  std::string_view found_key;
  auto probe = [&] {
    for (size_t i = 0; i < n; ++i) {
      auto list = table_.find(fingerprints[i]);
      if (list && (!found || *list < *found)) {
        found = list;
        found_key = keys[i];
      }
    }
    n = 0;
  };
  auto add = [&](std::string_view candidate) {
    keys[n] = candidate;
    fingerprints[n] = fingerprint(KeyKind::url, candidate);
    table_.prefetch(fingerprints[n]);
    if (++n == kBatch) probe();
  };
  add(url);
  if (k.size() != url.size()) add(k);
  for (size_t slash = k.size(); slash > path_at;) {
    slash = k.rfind('/', slash - 1);
    if (slash == std::string_view::npos || slash < path_at) break;
    if (slash + 1 == k.size()) continue;  // the path itself, already looked up
    add(k.substr(0, slash + 1));
  }
  probe();
  if (!found) return best;
  return lowest(std::move(best),
                ThreatHit{*found, lists_[*found].spec.name, std::string(found_key)});
}

}  // namespace tlsgate::threat
