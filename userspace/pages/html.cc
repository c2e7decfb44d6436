#include "pages/html.h"

#include <cstdint>

namespace tlsgate::pages {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the valid UTF-8 sequence starting at text[i] (2-4), or 0.
size_t utf8_sequence(std::string_view text, size_t i) {
  const auto b0 = static_cast<uint8_t>(text[i]);
  size_t len = 0;
  uint32_t cp = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
    cp = b0 & 0x1Fu;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    cp = b0 & 0x0Fu;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    cp = b0 & 0x07u;
  } else {
    return 0;
  }
  if (i + len > text.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<uint8_t>(text[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3Fu);
  }
  // Overlong forms, surrogates, beyond U+10FFFF, and C1 controls.
  if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
      (cp >= 0xD800 && cp <= 0xDFFF) || (cp >= 0x80 && cp <= 0x9F)) {
    return 0;
  }
  return len;
}

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<uint8_t>(text[i]);
    if (c >= 0x80) {
      if (size_t len = utf8_sequence(text, i); len > 0) {
        out.append(text.substr(i, len));
        i += len;
      } else {
        out.append(kReplacement);
        ++i;
      }
      continue;
    }
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          out.append(kReplacement);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  return out;
}

namespace {

constexpr std::string_view kStyle =
    "body{font-family:system-ui,sans-serif;background:#f4f4f4;color:#222;margin:0}"
    "main{max-width:46rem;margin:3rem auto;background:#fff;padding:2rem 2.5rem;"
    "border-top:6px solid #b00020;border-radius:4px}"
    "main.warning{border-top-color:#c77700}"
    "h1{font-size:1.6rem;margin-top:0}h2{font-size:1.1rem;margin-top:1.8rem}"
    "dt{font-weight:600;margin-top:.6rem}dd{margin:0;word-break:break-all}"
    ".detail,.foot{color:#555;font-size:.9rem;word-break:break-all}"
    "button{font-size:1rem;padding:.5rem 1rem;margin-top:.5rem}";

}  // namespace

std::string page_head(std::string_view title) {
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         "<meta name=\"referrer\" content=\"no-referrer\"><title>" +
         html_escape(title) + "</title><style>" + std::string(kStyle) + "</style></head>\n<body>";
}

}  // namespace tlsgate::pages
