#include "ctl/ca_commands.h"

#include <charconv>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "ca/ca_time.h"

namespace tlsgate::ctl {
namespace {

using nlohmann::json;

constexpr std::uintmax_t kMaxInputBytes = 256 << 10;

std::string read_input(const std::filesystem::path& path, const char* what) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw std::runtime_error(std::string(what) + " " + path.string() + ": " + ec.message());
  if (size > kMaxInputBytes) {
    throw std::runtime_error(std::string(what) + " " + path.string() + " is larger than 256 KiB");
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  if (!in) throw std::runtime_error(std::string("cannot read ") + what + " " + path.string());
  return s.str();
}

std::string str(const json& j, const char* key, const std::string& fallback = "-") {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  return it->is_string() ? it->get<std::string>() : it->dump();
}

std::string cert_line(const char* label, const json& cert) {
  return std::string("  ") + label + " " + str(cert, "subject") + "\n      issuer " +
         str(cert, "issuer") + "\n      sha256 " + str(cert, "sha256") + ", valid until " +
         str(cert, "not_after") + "\n";
}

std::string when(const json& ca) {
  std::string out;
  if (ca.contains("activate_at")) out += ", activates " + str(ca, "activate_at");
  if (ca.contains("activated")) out += ", activated " + str(ca, "activated");
  if (ca.contains("retire_at")) out += ", retires " + str(ca, "retire_at");
  if (ca.contains("retired")) out += ", retired " + str(ca, "retired");
  return out;
}

}  // namespace

std::optional<int64_t> parse_at(std::string_view text, int64_t now, std::string* error) {
  if (text == "now") return now;
  if (auto t = tls::parse_rfc3339(text)) return t;
  if (text.size() >= 3 && text.front() == '+') {
    int64_t n = 0;
    auto [end, ec] = std::from_chars(text.data() + 1, text.data() + text.size() - 1, n);
    const char unit = text.back();
    int64_t per = 0;
    if (unit == 's') per = 1;
    if (unit == 'm') per = 60;
    if (unit == 'h') per = 3600;
    if (unit == 'd') per = 86400;
    if (ec == std::errc() && end == text.data() + text.size() - 1 && n >= 0 && per != 0 &&
        n <= 3650 * 86400 / per) {
      return now + n * per;
    }
  }
  if (error != nullptr) {
    *error = "'" + std::string(text) +
             "' is neither \"now\", a delay (+90s, +10m, +2h, +3d) nor a time "
             "(2025-03-01T12:00:00Z)";
  }
  return std::nullopt;
}

std::string read_passphrase_file(const std::filesystem::path& path) {
  std::string text = read_input(path, "passphrase file");
  text = text.substr(0, text.find('\n'));
  if (!text.empty() && text.back() == '\r') text.pop_back();
  if (text.empty()) throw std::runtime_error("passphrase file " + path.string() + " is empty");
  return text;
}

json ca_import_request(const CaImportFiles& f) {
  json request = {{"command", "ca.import"}, {"name", f.name}};
  if (!f.cross.empty()) {
    if (!f.cert.empty() || !f.key.empty() || !f.passphrase.empty() || !f.chain.empty()) {
      throw std::runtime_error(
          "--cross imports a cross-certificate alone (no --cert, --key, "
          "--passphrase-file or --chain)");
    }
    request["cross_pem"] = read_input(f.cross, "cross-certificate file");
    return request;
  }
  if (f.cert.empty() || f.key.empty()) {
    throw std::runtime_error("ca import needs --cert and --key (or --cross)");
  }
  request["cert_pem"] = read_input(f.cert, "certificate file");
  request["key_pem"] = read_input(f.key, "key file");
  if (!f.passphrase.empty()) request["passphrase"] = read_passphrase_file(f.passphrase);
  if (!f.chain.empty()) request["chain_pem"] = read_input(f.chain, "chain file");
  return request;
}

std::string format_ca_list(const json& answer) {
  std::string out;
  for (const json& ca : answer.value("cas", json::array())) {
    out += str(ca, "id") + "  " + str(ca, "state") + "  " + str(ca, "origin") + when(ca) + "\n";
    if (ca.contains("root")) out += cert_line("root  ", ca["root"]);
    if (ca.contains("signer")) out += cert_line("signer", ca["signer"]);
    for (const json& c : ca.value("served_chain", json::array())) out += cert_line("served", c);
  }
  return out.empty() ? "no CA\n" : out;
}

std::string format_ca_status(const json& answer) {
  std::string out = "rules:\n";
  for (const json& r : answer.value("rules", json::array())) {
    out += "  " + str(r, "rule") + ": CA " + str(r, "ca") + "." + str(r, "generation") +
           ", rotation " +
           (r.value("rotation_complete", false) ? std::string("complete") : "in progress") +
           "\n    signer " + str(r, "signer_subject") + "\n    issued by " +
           str(r, "signer_issuer") + "\n";
  }
  for (const json& ca : answer.value("cas", json::array())) {
    out += "CA " + str(ca, "name") + ": active generation " + str(ca, "active_generation");
    if (ca.contains("staged_generation")) {
      out += ", staged " + str(ca, "staged_generation") +
             (ca.contains("activate_at") ? " (activates " + str(ca, "activate_at") + ")" : "");
    }
    if (ca.contains("previous_generation")) {
      out += ", previous " + str(ca, "previous_generation") + " until " +
             str(ca, "previous_retire_at");
    }
    out +=
        ca.value("rotation_complete", false) ? ", rotation complete\n" : ", rotation in progress\n";
    if (!ca.contains("rotation")) continue;
    const json& rot = ca["rotation"];
    out += "  rotation " + str(rot, "from") + " -> " + str(rot, "to") + " since " +
           str(rot, "started") + "\n";
    for (const json& c : rot.value("clients", json::array())) {
      out += "    " + str(c, "client") + "  " + str(c, "state");
      if (c.contains("accepted_at")) out += ", accepted the new CA " + str(c, "accepted_at");
      if (c.value("rejections", 0) > 0) {
        out += ", rejected it " + str(c, "rejections") + "x (" + str(c, "last_rejection") +
               ", last " + str(c, "last_rejected") + ")";
      }
      if (c.value("fallback_served", 0) > 0) {
        out += ", served by the previous CA " + str(c, "fallback_served") + "x";
      }
      out += "\n";
    }
    if (rot.value("untracked_clients", 0) > 0) {
      out += "    (" + str(rot, "untracked_clients") + " clients beyond the table's capacity)\n";
    }
  }
  return out;
}

std::string format_ca_change(const json& answer) {
  std::string out = str(answer, "id") + ": " + str(answer, "done") + " (" + str(answer, "state") +
                    when(answer) + ")\n";
  for (const json& w : answer.value("warnings", json::array())) {
    out += "warning: " + w.get<std::string>() + "\n";
  }
  return out;
}

}  // namespace tlsgate::ctl
