#include "threat/threat_entry.h"

#include <gtest/gtest.h>

namespace tlsgate::threat {
namespace {

using policy::ThreatListFormat;

TEST(ThreatEntry, DomainLinesAreNormalizedNames) {
  EXPECT_EQ(parse_list_line("Evil.Example.", ThreatListFormat::domains).entries,
            std::vector<std::string>{"evil.example"});
  EXPECT_EQ(parse_list_line("*.evil.example", ThreatListFormat::domains).entries,
            std::vector<std::string>{"evil.example"});
  EXPECT_EQ(
      parse_list_line("  evil.example   # seen 2026-12-01", ThreatListFormat::domains).entries,
      std::vector<std::string>{"evil.example"});
  EXPECT_EQ(parse_list_line("evil.example\r", ThreatListFormat::domains).entries,
            std::vector<std::string>{"evil.example"});
}

TEST(ThreatEntry, BlankAndCommentLinesHoldNothing) {
  for (const char* line : {"", "   ", "# a comment", "\t# indented comment", "\r"}) {
    const auto parsed = parse_list_line(line, ThreatListFormat::domains);
    EXPECT_TRUE(parsed.entries.empty()) << line;
    EXPECT_TRUE(parsed.error.empty()) << line;
  }
}

TEST(ThreatEntry, MalformedDomainLinesSayWhy) {
  EXPECT_NE(
      parse_list_line("two names.example", ThreatListFormat::domains).error.find("one domain"),
      std::string::npos);
  EXPECT_NE(parse_list_line("a..example", ThreatListFormat::domains).error.find("empty label"),
            std::string::npos);
  EXPECT_NE(parse_list_line("bad/char.example", ThreatListFormat::domains).error.find("'/'"),
            std::string::npos);
  EXPECT_NE(parse_list_line("192.0.2.1", ThreatListFormat::domains).error.find("IP address"),
            std::string::npos);
  EXPECT_NE(parse_list_line("exämple.com", ThreatListFormat::domains).error.find("A-labels"),
            std::string::npos);
  EXPECT_FALSE(
      parse_list_line(std::string(64, 'a') + ".example", ThreatListFormat::domains).error.empty());
}

TEST(ThreatEntry, HostsLinesTakePlainNamesAndHostsFileLines) {
  EXPECT_EQ(parse_list_line("ads.example", ThreatListFormat::hosts).entries,
            std::vector<std::string>{"ads.example"});
  EXPECT_EQ(
      parse_list_line("0.0.0.0 ads.example Track.Example  # trackers", ThreatListFormat::hosts)
          .entries,
      (std::vector<std::string>{"ads.example", "track.example"}));
  EXPECT_EQ(parse_list_line("192.0.2.7", ThreatListFormat::hosts).entries,
            std::vector<std::string>{"192.0.2.7"});
  EXPECT_FALSE(parse_list_line("ads.example track.example", ThreatListFormat::hosts).error.empty());
  EXPECT_FALSE(parse_list_line("0.0.0.0 bad_name!", ThreatListFormat::hosts).error.empty());
}

TEST(ThreatEntry, UrlLinesBecomeHostAndPathKeys) {
  auto key = [](const char* line) {
    auto parsed = parse_list_line(line, ThreatListFormat::urls);
    return parsed.entries.empty() ? "error: " + parsed.error : parsed.entries.front();
  };
  EXPECT_EQ(key("http://Evil.Example/bins/mozi.m"), "evil.example/bins/mozi.m");
  EXPECT_EQ(key("https://evil.example:443/x"), "evil.example/x");
  EXPECT_EQ(key("evil.example:8443/x?y=1#frag"), "evil.example:8443/x?y=1");
  EXPECT_EQ(key("evil.example"), "evil.example/");
  EXPECT_EQ(key("http://[2001:DB8::1]:80/p"), "[2001:db8::1]/p");
  EXPECT_EQ(key("http://user@evil.example/%7Euser/%41%2f"), "evil.example/~user/A%2F");
  EXPECT_EQ(key("ftp://evil.example/x").substr(0, 6), "error:");
  EXPECT_EQ(key("http://evil.example:http/x").substr(0, 6), "error:");
}

TEST(ThreatEntry, RequestKeysMatchEntryKeys) {
  EXPECT_EQ(request_url_key("EVIL.example:443", "/%7Euser/a?b"), "evil.example/~user/a?b");
  EXPECT_EQ(request_url_key("evil.example:8443", "/"), "evil.example:8443/");
  EXPECT_EQ(request_url_key("evil.example", "*"), std::nullopt);
  EXPECT_EQ(authority_host("Evil.Example.:443"), "evil.example");
  EXPECT_EQ(authority_host("[2001:db8::1]:443"), "2001:db8::1");
  EXPECT_EQ(authority_host("bad host"), std::nullopt);
}

}  // namespace
}  // namespace tlsgate::threat
