#include "ctl/threat_output.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tlsgate::ctl {
namespace {

using ::testing::HasSubstr;

TEST(ThreatOutput, OneLinePerListThenMalformedLines) {
  const auto answer = nlohmann::json::parse(R"({"lists": [
    {"name": "malware", "format": "domains", "entries": 1000000, "malformed": 3,
     "malformed_lines": [{"line": 7, "problem": "'a..b' has an empty label"}],
     "loaded_at": "2026-12-07T21:00:00Z", "load_ms": 812.5, "sni_hits": 4, "request_hits": 2,
     "file": "/var/lib/tlsgate/malware.txt"}]})");
  const std::string text = format_threats(answer);
  EXPECT_THAT(text, HasSubstr("LIST"));
  EXPECT_THAT(text, HasSubstr("malware"));
  EXPECT_THAT(text, HasSubstr("1000000"));
  EXPECT_THAT(text, HasSubstr("812.5"));
  EXPECT_THAT(text, HasSubstr("/var/lib/tlsgate/malware.txt:7: 'a..b' has an empty label"));
  EXPECT_THAT(text, HasSubstr("/var/lib/tlsgate/malware.txt: 2 more malformed lines"));
}

TEST(ThreatOutput, SaysWhenThereAreNone) {
  EXPECT_THAT(format_threats(nlohmann::json::parse(R"({"lists": []})")),
              HasSubstr("no threat lists"));
}

}  // namespace
}  // namespace tlsgate::ctl
