// What an ICAP answer means for the scanned message.
#include "icap/scan_verdict.h"

#include <gtest/gtest.h>

namespace tlsgate::icap {
namespace {

using config::IcapMethod;

IcapResponse answer(int status, http::HeaderList headers = {}) {
  IcapResponse r;
  r.status = status;
  r.headers = std::move(headers);
  return r;
}

TEST(ScanVerdict, NoContentIsClean) {
  ScanOutcome o = interpret(IcapMethod::respmod, answer(204, {{"ISTag", "\"T-1\""}}));
  EXPECT_EQ(o.verdict, Verdict::clean);
  EXPECT_EQ(o.istag, "T-1");
}

TEST(ScanVerdict, ThreatNamedByInfectionFoundOrVirusId) {
  IcapResponse r = answer(
      200, {{"X-Infection-Found", "Type=0; Resolution=2; Threat=Lab.Eicar.Test.UNOFFICIAL;"}});
  r.response = http::ResponseHead{403, {}};
  ScanOutcome o = interpret(IcapMethod::respmod, std::move(r));
  EXPECT_EQ(o.verdict, Verdict::infected);
  EXPECT_EQ(o.threat, "Lab.Eicar.Test.UNOFFICIAL");
  IcapResponse v = answer(200, {{"X-Virus-ID", " Win.Test.EICAR_HDB-1 "}});
  v.response = http::ResponseHead{200, {}};
  EXPECT_EQ(interpret(IcapMethod::respmod, std::move(v)).threat, "Win.Test.EICAR_HDB-1");
}

TEST(ScanVerdict, ServiceBlockPageIsInfectedWithoutName) {
  IcapResponse r = answer(200);
  r.response = http::ResponseHead{403, {}};
  ScanOutcome o = interpret(IcapMethod::reqmod, std::move(r));
  EXPECT_EQ(o.verdict, Verdict::infected);
  EXPECT_EQ(o.threat, "");
}

TEST(ScanVerdict, ModifiedMessageGoesOn) {
  IcapResponse r = answer(200);
  r.response = http::ResponseHead{200, {{"content-type", "text/plain"}}};
  r.body = "cleaned";
  ScanOutcome o = interpret(IcapMethod::respmod, std::move(r));
  EXPECT_EQ(o.verdict, Verdict::modified);
  ASSERT_TRUE(o.response);
  EXPECT_EQ(o.body, "cleaned");
  IcapResponse q = answer(200);
  q.request = http::RequestHead{"POST", "https", "up.example", "/x", "", {}};
  q.body = "redacted";
  ScanOutcome m = interpret(IcapMethod::reqmod, std::move(q));
  EXPECT_EQ(m.verdict, Verdict::modified);
  ASSERT_TRUE(m.request);
  EXPECT_FALSE(m.response);
}

TEST(ScanVerdict, AnswersThatAreNotVerdictsAreErrors) {
  EXPECT_EQ(interpret(IcapMethod::respmod, answer(500)).verdict, Verdict::error);
  EXPECT_EQ(interpret(IcapMethod::respmod, answer(200)).verdict, Verdict::error)
      << "a RESPMOD 200 must carry the response";
  EXPECT_EQ(interpret(IcapMethod::reqmod, answer(200)).verdict, Verdict::error);
}

TEST(ScanVerdict, ThreatNamesAreTidied) {
  auto t = threat_named_in({{"X-Virus-ID", std::string("bad\x01name")}});
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, "bad?name");
  EXPECT_FALSE(threat_named_in({{"X-Other", "x"}}));
}

}  // namespace
}  // namespace tlsgate::icap
