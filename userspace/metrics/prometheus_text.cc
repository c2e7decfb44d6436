#include "metrics/prometheus_text.h"

#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace tlsgate::metrics {

namespace {

bool valid_name(const std::string& name, bool colon_allowed) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon_allowed && c == ':');
    if (!letter && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

// HELP text escapes backslash and newline; label values also the quote.
std::string escaped(const std::string& text, bool quote) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  // Integral values (every counter) print without a fraction or exponent.
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.17g", v);
  }
  return buf;
}

}  // namespace

std::string render(const std::vector<MetricFamily>& families) {
  std::string out;
  for (const auto& f : families) {
    if (!valid_name(f.name, true)) throw std::invalid_argument("bad metric name " + f.name);
    if (f.type != "counter" && f.type != "gauge" && f.type != "histogram") {
      throw std::invalid_argument("bad metric type " + f.type);
    }
    out += "# HELP " + f.name + " " + escaped(f.help, false) + "\n";
    out += "# TYPE " + f.name + " " + f.type + "\n";
    for (const auto& s : f.samples) {
      if (!s.suffix.empty() &&
          (f.type != "histogram" ||
           (s.suffix != "_bucket" && s.suffix != "_sum" && s.suffix != "_count"))) {
        throw std::invalid_argument("bad sample suffix " + s.suffix);
      }
      out += f.name + s.suffix;
      if (!s.labels.empty()) {
        out += "{";
        for (size_t i = 0; i < s.labels.size(); ++i) {
          if (!valid_name(s.labels[i].first, false)) {
            throw std::invalid_argument("bad label name " + s.labels[i].first);
          }
          out +=
              (i ? "," : "") + s.labels[i].first + "=\"" + escaped(s.labels[i].second, true) + "\"";
        }
        out += "}";
      }
      out += " " + number(s.value) + "\n";
    }
  }
  return out;
}

}  // namespace tlsgate::metrics
