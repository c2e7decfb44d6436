#include "config/capture_section.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace tlsgate::config {

namespace {

// The shadow-utils default NAME_REGEX: [a-z_][a-z0-9_-]*[$]?, at most 32.
bool valid_user_name(std::string_view name) {
  if (name.empty() || name.size() > 32) return false;
  if (name.back() == '$') name.remove_suffix(1);
  if (name.empty() || !(std::islower(static_cast<unsigned char>(name[0])) || name[0] == '_')) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::islower(c) || std::isdigit(c) || c == '_' || c == '-';
  });
}

std::string octal(unsigned mode) {
  char text[16];
  std::snprintf(text, sizeof text, "0o%03o", mode);
  return text;
}

}  // namespace

void read_capture_section(const SectionReader& r, CaptureSettings& out) {
  r.reject_unknown_keys(
      {"directory", "rotate_size", "rotate_age", "max_total", "file_mode", "owner"});
  if (auto v = read_absolute_path(r, "directory", false)) out.directory = *v;
  constexpr int64_t kMinFile = 4096;
  constexpr int64_t kMaxBytes = int64_t{1} << 44;  // 16 TiB
  if (auto v = r.integer("rotate_size", kMinFile, kMaxBytes)) {
    out.rotate_size = static_cast<uint64_t>(*v);
  }
  if (auto v = r.duration("rotate_age")) out.rotate_age = *v;
  if (auto v = r.integer("max_total", kMinFile, kMaxBytes)) {
    out.max_total = static_cast<uint64_t>(*v);
  }
  if (out.max_total < out.rotate_size) {
    r.fail(r.line_of_key(r.has("max_total") ? "max_total" : "rotate_size"),
           "'max_total' in [capture] (" + std::to_string(out.max_total) +
               " bytes) is smaller than 'rotate_size' (" + std::to_string(out.rotate_size) +
               "): not even one file would fit");
  }
  if (auto v = r.integer("file_mode", 0, 07777)) {
    const auto mode = static_cast<unsigned>(*v);
    if ((mode & ~0640u) != 0 || (mode & 0400u) == 0) {
      r.fail(r.line_of_key("file_mode"),
             "'file_mode' in [capture] is " + octal(mode) +
                 "; capture files hold users' decrypted traffic: the owner must read them, "
                 "the group may read them, nobody else and nobody may execute them (at most "
                 "0o640, written as an octal number such as 0o600)");
    }
    out.file_mode = mode;
  }
  if (auto v = r.string("owner")) {
    if (!v->empty() && !valid_user_name(*v)) {
      r.fail(r.line_of_key("owner"), "'owner' in [capture]: \"" + *v +
                                         "\" is not a user name (a-z, 0-9, '_' and '-', "
                                         "starting with a letter or '_')");
    }
    out.owner = *v;
  }
}

}  // namespace tlsgate::config
