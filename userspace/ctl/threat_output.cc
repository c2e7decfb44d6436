#include "ctl/threat_output.h"

#include "ctl/human_output.h"

namespace tlsgate::ctl {

namespace {

std::string number(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end()) return "-";
  if (it->is_number_float()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", it->get<double>());
    return buf;
  }
  return it->is_string() ? it->get<std::string>() : it->dump();
}

}  // namespace

std::string format_threats(const nlohmann::json& answer) {
  const auto lists = answer.value("lists", nlohmann::json::array());
  if (lists.empty()) return "no threat lists ([[threat_list]] in the config file)\n";
  std::vector<std::vector<std::string>> rows = {{"LIST", "FORMAT", "ENTRIES", "MALFORMED", "LOADED",
                                                 "LOAD MS", "SNI HITS", "REQUEST HITS", "FILE"}};
  for (const auto& list : lists) {
    rows.push_back({number(list, "name"), number(list, "format"), number(list, "entries"),
                    number(list, "malformed"), number(list, "loaded_at"), number(list, "load_ms"),
                    number(list, "sni_hits"), number(list, "request_hits"), number(list, "file")});
  }
  std::string out = text_table(rows);
  for (const auto& list : lists) {
    const auto bad = list.value("malformed_lines", nlohmann::json::array());
    for (const auto& line : bad) {
      out +=
          number(list, "file") + ":" + number(line, "line") + ": " + number(line, "problem") + "\n";
    }
    const auto shown = bad.size();
    const auto total = list.value("malformed", size_t{0});
    if (total > shown) {
      out +=
          number(list, "file") + ": " + std::to_string(total - shown) + " more malformed lines\n";
    }
  }
  return out;
}

}  // namespace tlsgate::ctl
