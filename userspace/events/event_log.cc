#include "events/event_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>
#include <system_error>

#include "events/journal_fields.h"

namespace tlsgate::events {

namespace {

using nlohmann::json;

std::string rfc3339_now() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  tm utc{};
  gmtime_r(&now.tv_sec, &utc);
  char buf[40];
  const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(buf + n, sizeof buf - n, ".%03ldZ", now.tv_nsec / 1000000);
  return buf;
}

// New directories get 0750: the event log names clients and hosts.
void create_parent_directories(const std::filesystem::path& file) {
  std::filesystem::path dir;
  for (const auto& part : file.parent_path()) {
    dir /= part;
    if (::mkdir(dir.c_str(), 0750) == 0) {
      // The umask must not widen or narrow it: group readers (adm) rely on it.
      ::chmod(dir.c_str(), 0750);
    } else if (errno != EEXIST) {
      throw std::system_error(errno, std::generic_category(), "mkdir " + dir.string());
    }
  }
}

// Returns false when the line could not be written completely.
bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

nlohmann::json to_json(const FlowEvent& e) {
  json j = {
      {"client", e.client},
      {"server", e.server},
      {"action", e.action},
      {"rule", e.rule},
      {"reason", e.reason},
      {"bytes_from_client", e.bytes_from_client},
      {"bytes_from_server", e.bytes_from_server},
      {"duration_ms", e.duration.count()},
  };
  if (e.sni) j["sni"] = *e.sni;
  if (e.alpn) j["alpn"] = *e.alpn;
  if (e.tls_version) j["tls_version"] = *e.tls_version;
  if (e.upstream_cert_sha256) j["upstream_cert_sha256"] = *e.upstream_cert_sha256;
  if (e.ja4) j["ja4"] = *e.ja4;
  if (e.decided_by) j["decided_by"] = *e.decided_by;
  if (e.client_resumed) j["client_resumed"] = *e.client_resumed;
  if (!e.security_delta.empty()) {
    json delta = json::object();
    for (const auto& d : e.security_delta) {
      delta[d.property] = {{"without_inspection", d.without_inspection},
                           {"with_inspection", d.with_inspection}};
    }
    j["security_delta"] = std::move(delta);
  }
  return j;
}

nlohmann::json to_json(const TlsEvent& e) {
  json j = {
      {"client", e.client},
      {"server", e.server},
      {"class", e.error_class},
      {"detail", e.detail},
      {"subject", e.subject},
      {"issuer", e.issuer},
      {"fingerprint_sha256", e.fingerprint_sha256},
      {"chain", e.chain},
      {"action", e.action},
  };
  if (e.sni) j["sni"] = *e.sni;
  return j;
}

nlohmann::json to_json(const ClientRejectEvent& e) {
  json j = {
      {"device", e.device},       {"client", e.client},
      {"server", e.server},       {"ja4", e.ja4},
      {"alert", e.alert},         {"phase", e.phase},
      {"rule", e.rule},           {"candidate", e.candidate},
      {"in_window", e.in_window}, {"suggested", e.suggested},
  };
  if (e.sni) j["sni"] = *e.sni;
  if (e.alert_code) j["alert_code"] = *e.alert_code;
  if (e.retest) j["retest"] = *e.retest;
  if (e.auto_bypass) j["auto_bypass"] = *e.auto_bypass;
  return j;
}

EventLog::EventLog(const std::filesystem::path& path, bool also_stdout, bool to_journal)
    : also_stdout_(also_stdout), to_journal_(to_journal) {
  if (path.empty()) {
    also_stdout_ = also_stdout_ || !to_journal_;  // events must go somewhere
    return;
  }
  path_ = path;
  create_parent_directories(path);
  fd_.reset(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
  if (!fd_) throw std::system_error(errno, std::generic_category(), "open " + path.string());
}

std::string EventLog::reopen() {
  if (path_.empty()) return {};
  UniqueFd fresh(::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
  if (!fresh) return "open " + path_.string() + ": " + std::strerror(errno);
  std::lock_guard lock(mu_);
  fd_ = std::move(fresh);
  return {};
}

void EventLog::emit(const FlowEvent& e) {
  emit("flow", to_json(e));
}

void EventLog::emit(const TlsEvent& e) {
  emit("tls", to_json(e));
}

void EventLog::emit(const ClientRejectEvent& e) {
  emit("client_reject", to_json(e));
}

void EventLog::emit(std::string_view type, nlohmann::json fields) {
  if (!fields.is_object()) fields = json{{"data", std::move(fields)}};
  fields["ts"] = rfc3339_now();
  fields["type"] = type;
  // Names from the network may be any bytes: replace invalid UTF-8 instead
  // of throwing out of the data path.
  std::string line = fields.dump(-1, ' ', false, json::error_handler_t::replace);
  line.push_back('\n');
  if (to_journal_ && !send_to_journal(journal_fields(fields))) {
    journal_failures_.fetch_add(1, std::memory_order_relaxed);
  }

  std::lock_guard lock(mu_);
  // One write per line: O_APPEND keeps lines whole between writers.
  if (fd_ && !write_all(fd_.get(), line)) ++failed_writes_;
  if (also_stdout_ && !write_all(STDOUT_FILENO, line)) ++failed_writes_;
}

uint64_t EventLog::failed_writes() {
  std::lock_guard lock(mu_);
  return failed_writes_;
}

}  // namespace tlsgate::events
