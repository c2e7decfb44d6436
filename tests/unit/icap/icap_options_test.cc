// OPTIONS answers and what they mean for each scan (RFC 3507 §4.10).
#include "icap/icap_options.h"

#include <gtest/gtest.h>

namespace tlsgate::icap {
namespace {

IcapResponse options_answer(http::HeaderList headers) {
  IcapResponse r;
  r.status = 200;
  r.headers = std::move(headers);
  return r;
}

TEST(IcapOptions, ReadsWhatCIcapSends) {
  std::string error;
  auto o = read_options(options_answer({{"Methods", "RESPMOD, REQMOD"},
                                        {"Service", "C-ICAP/0.5.10 server - Antivirus service"},
                                        {"ISTag", "\"CI0001-1-clamav-1\""},
                                        {"Max-Connections", "400"},
                                        {"Options-TTL", "3600"},
                                        {"Allow", "204"},
                                        {"Preview", "1024"},
                                        {"Transfer-Preview", "*"},
                                        {"Transfer-Ignore", "JPG, gif"},
                                        {"Transfer-Complete", "exe"}}),
                        &error);
  ASSERT_TRUE(o) << error;
  EXPECT_TRUE(o->serves(config::IcapMethod::respmod));
  EXPECT_TRUE(o->serves(config::IcapMethod::reqmod));
  EXPECT_EQ(o->istag, "CI0001-1-clamav-1");
  EXPECT_EQ(o->max_connections, 400u);
  EXPECT_EQ(o->ttl, std::chrono::seconds(3600));
  EXPECT_TRUE(o->allow_204);
  EXPECT_EQ(o->preview, 1024u);
  EXPECT_EQ(o->transfer_ignore, (std::vector<std::string>{"jpg", "gif"}));
}

TEST(IcapOptions, RefusesAnswersItCannotUse) {
  std::string error;
  IcapResponse not_ok;
  not_ok.status = 404;
  not_ok.reason = "Service not found";
  EXPECT_FALSE(read_options(not_ok, &error));
  EXPECT_NE(error.find("404"), std::string::npos);
  EXPECT_FALSE(read_options(options_answer({{"ISTag", "x"}}), &error));
  EXPECT_NE(error.find("Methods"), std::string::npos);
  EXPECT_FALSE(read_options(options_answer({{"Methods", "RESPMOD"}, {"Preview", "lots"}}), &error));
  EXPECT_FALSE(
      read_options(options_answer({{"Methods", "RESPMOD"}, {"Max-Connections", "0"}}), &error));
  auto only_resp = read_options(options_answer({{"Methods", "RESPMOD"}}), &error);
  ASSERT_TRUE(only_resp);
  EXPECT_FALSE(only_resp->serves(config::IcapMethod::reqmod));
}

TEST(IcapOptions, TransferListsDecideEachScan) {
  IcapOptions o;
  o.preview = 1024;
  o.transfer_preview = {"*"};
  o.transfer_ignore = {"jpg"};
  o.transfer_complete = {"exe"};
  using K = TransferPlan::Kind;
  EXPECT_EQ(plan_transfer(o, "/a/b.JPG?x=1", 4096).kind, K::ignore);
  EXPECT_EQ(plan_transfer(o, "/setup.exe", 4096).kind, K::complete);
  TransferPlan p = plan_transfer(o, "/doc.pdf", 4096);
  EXPECT_EQ(p.kind, K::preview);
  EXPECT_EQ(p.preview_size, 1024u) << "the service's Preview caps the configured one";
  EXPECT_EQ(plan_transfer(o, "/doc.pdf", 100).preview_size, 100u);
  EXPECT_EQ(plan_transfer(o, "/doc.pdf", 0).kind, K::complete) << "preview = 0 turns it off";
  IcapOptions ignore_all;
  ignore_all.transfer_ignore = {"*"};
  ignore_all.transfer_preview = {"exe"};
  ignore_all.preview = 10;
  EXPECT_EQ(plan_transfer(ignore_all, "/x.zip", 10).kind, K::ignore);
  EXPECT_EQ(plan_transfer(ignore_all, "/x.exe", 10).kind, K::preview) << "named beats *";
  IcapOptions no_preview;
  EXPECT_EQ(plan_transfer(no_preview, "/x", 4096).kind, K::complete);
}

}  // namespace
}  // namespace tlsgate::icap
