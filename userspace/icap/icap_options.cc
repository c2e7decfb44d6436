#include "icap/icap_options.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace tlsgate::icap {

namespace {

std::vector<std::string> split_list(std::string_view v, bool lower) {
  std::vector<std::string> out;
  while (!v.empty()) {
    size_t comma = v.find(',');
    std::string_view item = v.substr(0, comma);
    v = comma == std::string_view::npos ? std::string_view() : v.substr(comma + 1);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item.empty()) continue;
    std::string s(item);
    if (lower) {
      std::transform(s.begin(), s.end(), s.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::optional<uint64_t> number(std::string_view v) {
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size()) return std::nullopt;
  return n;
}

// The extension of the last path segment, lower case, without the query.
std::string extension_of(std::string_view path) {
  path = path.substr(0, path.find_first_of("?#"));
  size_t slash = path.rfind('/');
  if (slash != std::string_view::npos) path.remove_prefix(slash + 1);
  size_t dot = path.rfind('.');
  if (dot == std::string_view::npos) return {};
  std::string ext(path.substr(dot + 1));
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext;
}

bool listed(const std::vector<std::string>& list, const std::string& ext) {
  return std::find(list.begin(), list.end(), ext) != list.end();
}

}  // namespace

bool IcapOptions::serves(config::IcapMethod m) const {
  std::string_view want = m == config::IcapMethod::reqmod ? "REQMOD" : "RESPMOD";
  return std::find(methods.begin(), methods.end(), want) != methods.end();
}

std::optional<IcapOptions> read_options(const IcapResponse& r, std::string* error) {
  if (r.status != 200) {
    *error = "OPTIONS answered " + std::to_string(r.status) + " " + r.reason;
    return std::nullopt;
  }
  IcapOptions o;
  auto methods = http::find_header(r.headers, "methods");
  if (!methods) {
    *error = "OPTIONS answer without Methods";
    return std::nullopt;
  }
  o.methods = split_list(*methods, false);
  if (auto v = http::find_header(r.headers, "preview")) {
    auto n = number(*v);
    if (!n) {
      *error = "OPTIONS answer with a malformed Preview";
      return std::nullopt;
    }
    o.preview = static_cast<size_t>(*n);
  }
  if (auto v = http::find_header(r.headers, "max-connections")) {
    auto n = number(*v);
    if (!n || *n == 0) {
      *error = "OPTIONS answer with a malformed Max-Connections";
      return std::nullopt;
    }
    o.max_connections = static_cast<unsigned>(std::min<uint64_t>(*n, 1u << 20));
  }
  if (auto v = http::find_header(r.headers, "options-ttl")) {
    if (auto n = number(*v)) o.ttl = std::chrono::seconds(std::min<uint64_t>(*n, 86400 * 7));
  }
  if (auto v = http::find_header(r.headers, "istag")) {
    std::string tag(*v);
    if (tag.size() >= 2 && tag.front() == '"' && tag.back() == '"')
      tag = tag.substr(1, tag.size() - 2);
    o.istag = tag;
  }
  if (auto v = http::find_header(r.headers, "allow")) {
    for (const auto& a : split_list(*v, false)) o.allow_204 |= a == "204";
  }
  if (auto v = http::find_header(r.headers, "transfer-preview"))
    o.transfer_preview = split_list(*v, true);
  if (auto v = http::find_header(r.headers, "transfer-ignore"))
    o.transfer_ignore = split_list(*v, true);
  if (auto v = http::find_header(r.headers, "transfer-complete")) {
    o.transfer_complete = split_list(*v, true);
  }
  return o;
}

TransferPlan plan_transfer(const IcapOptions& o, std::string_view path, size_t configured) {
  std::string ext = extension_of(path);
  // RFC 3507 §4.10.2: a named extension wins over "*"; Ignore and Complete
  // are checked first as the more specific lists.
  if (!ext.empty()) {
    if (listed(o.transfer_ignore, ext)) return {TransferPlan::Kind::ignore, 0};
    if (listed(o.transfer_complete, ext)) return {TransferPlan::Kind::complete, 0};
    if (listed(o.transfer_preview, ext)) {
      // falls through to the preview decision below
    } else if (listed(o.transfer_ignore, "*")) {
      return {TransferPlan::Kind::ignore, 0};
    } else if (listed(o.transfer_complete, "*")) {
      return {TransferPlan::Kind::complete, 0};
    }
  } else if (listed(o.transfer_ignore, "*")) {
    return {TransferPlan::Kind::ignore, 0};
  } else if (listed(o.transfer_complete, "*")) {
    return {TransferPlan::Kind::complete, 0};
  }
  if (!o.preview || configured == 0) return {TransferPlan::Kind::complete, 0};
  return {TransferPlan::Kind::preview, std::min(*o.preview, configured)};
}

}  // namespace tlsgate::icap
