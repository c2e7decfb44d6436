#include "events/event_log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "../support/temp_dir.h"

namespace tlsgate::events {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

using tlsgate::test_support::TempDir;

std::vector<std::string> read_lines(const fs::path& file) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// "2026-01-31T23:59:59.123Z": RFC 3339, UTC, milliseconds.
bool is_rfc3339_utc_millis(const std::string& ts) {
  const std::string shape = "dddd-dd-ddTdd:dd:dd.dddZ";
  if (ts.size() != shape.size()) return false;
  for (size_t i = 0; i < ts.size(); ++i) {
    if (shape[i] == 'd' ? !std::isdigit(static_cast<unsigned char>(ts[i])) : ts[i] != shape[i]) {
      return false;
    }
  }
  return true;
}

FlowEvent full_flow() {
  FlowEvent e;
  e.client = "10.0.0.5:51234";
  e.server = "192.0.2.1:443";
  e.sni = "www.example.com";
  e.action = "inspect";
  e.rule = "default";
  e.reason = "closed";
  e.bytes_from_client = 1234;
  e.bytes_from_server = 5678901234ULL;
  e.duration = std::chrono::milliseconds(1500);
  e.alpn = "h2";
  e.tls_version = "TLSv1.3";
  e.upstream_cert_sha256 = std::string(64, 'a');
  return e;
}

TEST(EventJson, FlowHasEveryField) {
  const json j = to_json(full_flow());
  EXPECT_EQ(j.at("client"), "10.0.0.5:51234");
  EXPECT_EQ(j.at("server"), "192.0.2.1:443");
  EXPECT_EQ(j.at("sni"), "www.example.com");
  EXPECT_EQ(j.at("action"), "inspect");
  EXPECT_EQ(j.at("rule"), "default");
  EXPECT_EQ(j.at("reason"), "closed");
  EXPECT_EQ(j.at("bytes_from_client"), 1234);
  EXPECT_EQ(j.at("bytes_from_server"), 5678901234ULL);
  EXPECT_TRUE(j.at("bytes_from_server").is_number_unsigned());
  EXPECT_EQ(j.at("duration_ms"), 1500);
  EXPECT_EQ(j.at("alpn"), "h2");
  EXPECT_EQ(j.at("tls_version"), "TLSv1.3");
  EXPECT_EQ(j.at("upstream_cert_sha256"), std::string(64, 'a'));
  EXPECT_EQ(j.size(), 12u);
}

TEST(EventJson, FlowOmitsAbsentOptionals) {
  FlowEvent e;
  e.client = "[2001:db8::5]:40000";
  e.server = "[2001:db8::1]:443";
  e.action = "bypass";
  e.rule = "iot";
  e.reason = "client_bypass";
  const json j = to_json(e);
  for (const char* absent : {"sni", "alpn", "tls_version", "upstream_cert_sha256", "decided_by"}) {
    EXPECT_FALSE(j.contains(absent)) << absent;  // omitted, not null
  }
  EXPECT_EQ(j.at("duration_ms"), 0);
  EXPECT_EQ(j.at("bytes_from_client"), 0);
}

TEST(EventJson, FlowDecidedInTheKernelSaysSo) {
  FlowEvent e;
  e.action = "block";
  e.rule = "kernel";
  e.reason = "kernel:sni_mismatch";
  e.decided_by = "kernel";
  EXPECT_EQ(to_json(e).at("decided_by"), "kernel");
}

TEST(EventJson, TlsHasEveryField) {
  TlsEvent e;
  e.client = "10.0.0.5:51234";
  e.server = "192.0.2.1:443";
  e.sni = "expired.example";
  e.error_class = "expired";
  e.detail = "certificate has expired";
  e.subject = "CN=expired.example";
  e.issuer = "CN=Lab CA";
  e.fingerprint_sha256 = std::string(64, 'f');
  e.chain = {"CN=expired.example", "CN=Lab CA"};
  e.action = "block";
  const json j = to_json(e);
  EXPECT_EQ(j.at("class"), "expired");
  EXPECT_EQ(j.at("detail"), "certificate has expired");
  EXPECT_EQ(j.at("subject"), "CN=expired.example");
  EXPECT_EQ(j.at("issuer"), "CN=Lab CA");
  EXPECT_EQ(j.at("fingerprint_sha256"), std::string(64, 'f'));
  EXPECT_EQ(j.at("chain"), json::array({"CN=expired.example", "CN=Lab CA"}));
  EXPECT_EQ(j.at("action"), "block");
  EXPECT_EQ(j.at("sni"), "expired.example");
  EXPECT_EQ(j.at("client"), "10.0.0.5:51234");
  EXPECT_EQ(j.at("server"), "192.0.2.1:443");
  EXPECT_EQ(j.size(), 10u);

  e.sni.reset();
  EXPECT_FALSE(to_json(e).contains("sni"));
}

TEST(EventLog, WritesOneLineWithTimestampAndType) {
  TempDir dir;
  const fs::path file = dir.path() / "events.jsonl";
  {
    EventLog log(file, false);
    log.emit(full_flow());
    TlsEvent t;
    t.error_class = "self_signed";
    log.emit(t);
    log.emit("ca", json{{"step", "activate"}});
  }
  const auto lines = read_lines(file);
  ASSERT_EQ(lines.size(), 3u);
  const char* types[] = {"flow", "tls", "ca"};
  for (size_t i = 0; i < 3; ++i) {
    const json j = json::parse(lines[i]);
    EXPECT_EQ(j.at("type"), types[i]);
    EXPECT_TRUE(is_rfc3339_utc_millis(j.at("ts"))) << j.at("ts");
  }
  EXPECT_EQ(json::parse(lines[0]).at("sni"), "www.example.com");
  EXPECT_EQ(json::parse(lines[1]).at("class"), "self_signed");
  EXPECT_EQ(json::parse(lines[2]).at("step"), "activate");
}

TEST(EventLog, AppendsToAnExistingFile) {
  TempDir dir;
  const fs::path file = dir.path() / "events.jsonl";
  { std::ofstream(file) << "{\"earlier\":true}\n"; }
  EventLog(file, false).emit("ca", json{{"step", "stage"}});
  const auto lines = read_lines(file);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "{\"earlier\":true}");
}

TEST(EventLog, EscapesNetworkStrings) {
  TempDir dir;
  const fs::path file = dir.path() / "events.jsonl";
  FlowEvent e = full_flow();
  // A hostile SNI must not break the line, forge fields or abort emit().
  e.sni = std::string("evil\"}\n{\"type\":\"forged\x01\t") + "\xff\xfe" + "\xc3";
  e.alpn = std::string("h2\0x", 4);
  EventLog log(file, false);
  EXPECT_NO_THROW(log.emit(e));
  const auto lines = read_lines(file);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find(R"(\"}\n{\"type\")"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find(R"(\u0001\t)"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find(R"(\u0000)"), std::string::npos) << lines[0];
  const json j = json::parse(lines[0]);
  EXPECT_EQ(j.at("type"), "flow");
  // Invalid UTF-8 bytes become U+FFFD.
  const std::string sni = j.at("sni");
  EXPECT_TRUE(sni.starts_with("evil\"}\n{\"type\":\"forged\x01\t")) << sni;
  EXPECT_NE(sni.find("\xef\xbf\xbd"), std::string::npos) << sni;
  EXPECT_EQ(j.at("alpn"), std::string("h2\0x", 4));
}

TEST(EventLog, WholeLinesFromManyThreadsAndTwoWriters) {
  TempDir dir;
  const fs::path file = dir.path() / "events.jsonl";
  constexpr int kThreads = 8;
  constexpr int kPerThread = 250;
  {
    // Two logs on one file stand for two processes (daemon and ctl).
    EventLog first(file, false);
    EventLog second(file, false);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        EventLog& log = t % 2 == 0 ? first : second;
        for (int i = 0; i < kPerThread; ++i) {
          // Long lines (beyond PIPE_BUF) make interleaving visible if it happens.
          log.emit("test", json{{"thread", t}, {"seq", i}, {"pad", std::string(6000, 'x')}});
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(first.failed_writes(), 0u);
    EXPECT_EQ(second.failed_writes(), 0u);
  }
  const auto lines = read_lines(file);
  ASSERT_EQ(lines.size(), static_cast<size_t>(kThreads * kPerThread));
  std::set<std::pair<int, int>> seen;
  for (const auto& line : lines) {
    const json j = json::parse(line);  // throws (fails) on a torn line
    EXPECT_EQ(j.at("pad").get<std::string>().size(), 6000u);
    seen.emplace(j.at("thread").get<int>(), j.at("seq").get<int>());
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(kThreads * kPerThread));
}

TEST(EventLog, CreatesParentDirectoriesPrivate) {
  TempDir dir;
  const fs::path file = dir.path() / "log" / "tlsgate" / "events.jsonl";
  EventLog(file, false).emit("ca", json::object());
  ASSERT_TRUE(fs::exists(file));
  struct stat st {};
  ASSERT_EQ(::stat((dir.path() / "log").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0750u);
  ASSERT_EQ(::stat((dir.path() / "log" / "tlsgate").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0750u);
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0007, 0u);  // not world-readable
}

TEST(EventLog, UnopenableFileThrows) {
  TempDir dir;
  const fs::path blocker = dir.path() / "file";
  { std::ofstream(blocker) << "x"; }
  EXPECT_THROW(EventLog(blocker / "events.jsonl", false), std::system_error);
}

// Runs `body` with stdout redirected to a file and returns what it wrote.
template <typename Body>
std::string capture_stdout(const fs::path& into, Body body) {
  fflush(stdout);
  const int saved = ::dup(STDOUT_FILENO);
  const int fd = ::open(into.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ::dup2(fd, STDOUT_FILENO);
  ::close(fd);
  body();
  ::dup2(saved, STDOUT_FILENO);
  ::close(saved);
  std::ifstream in(into);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(EventLog, EmptyPathWritesToStdoutOnly) {
  TempDir dir;
  const std::string out = capture_stdout(dir.path() / "stdout", [] {
    EventLog log("", false);  // stdout even when not asked: it is the only sink
    log.emit("ca", json{{"step", "retire"}});
  });
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back(), '\n');
  EXPECT_EQ(json::parse(out).at("step"), "retire");
}

TEST(EventLog, MirrorsToStdoutWhenAsked) {
  TempDir dir;
  const fs::path file = dir.path() / "events.jsonl";
  const std::string out = capture_stdout(dir.path() / "stdout", [&] {
    EventLog log(file, true);
    log.emit("ca", json{{"step", "stage"}});
  });
  const auto lines = read_lines(file);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(out, lines[0] + "\n");
}

TEST(EventLog, ReopenAfterRotationWritesToTheNewFile) {
  TempDir dir;
  const fs::path file = dir.path() / "events.jsonl";
  const fs::path rotated = dir.path() / "events.jsonl.1";
  EventLog log(file, /*also_stdout=*/false);
  log.emit(full_flow());
  fs::rename(file, rotated);
  log.emit(full_flow());  // still the old descriptor: the rotated file
  EXPECT_EQ(log.reopen(), "");
  log.emit(full_flow());
  EXPECT_EQ(read_lines(rotated).size(), 2u);
  EXPECT_EQ(read_lines(file).size(), 1u);
  EXPECT_EQ(log.failed_writes(), 0u);
}

TEST(EventLog, FailedReopenKeepsWritingToTheOldFile) {
  TempDir dir;
  const fs::path sub = dir.path() / "log";
  fs::create_directories(sub);
  const fs::path file = sub / "events.jsonl";
  const fs::path moved = dir.path() / "moved";
  EventLog log(file, /*also_stdout=*/false);
  fs::rename(sub, moved);  // the directory is gone: the path cannot be opened
  const std::string error = log.reopen();
  EXPECT_NE(error.find(file.string()), std::string::npos) << error;
  log.emit(full_flow());
  EXPECT_EQ(read_lines(moved / "events.jsonl").size(), 1u);
}

}  // namespace
}  // namespace tlsgate::events
