#include "http/message.h"

#include <algorithm>
#include <cctype>

namespace tlsgate::http {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

std::optional<std::string_view> find_header(const HeaderList& headers, std::string_view name) {
  for (const HeaderField& f : headers) {
    if (iequals(f.name, name)) return std::string_view(f.value);
  }
  return std::nullopt;
}

}  // namespace tlsgate::http
