#include "http/message.h"

#include <gtest/gtest.h>

#include "http/filter.h"

namespace tlsgate::http {
namespace {

TEST(Message, FindHeaderIgnoresCaseAndReturnsTheFirst) {
  HeaderList h{{"Content-Type", "text/html"}, {"X-A", "1"}, {"x-a", "2"}};
  EXPECT_EQ(find_header(h, "content-type"), "text/html");
  EXPECT_EQ(find_header(h, "X-a"), "1");
  EXPECT_FALSE(find_header(h, "host").has_value());
}

struct CountingTarget : ExchangeResumer::Target {
  int proceeds = 0;
  int replies = 0;
  void resume_proceed() override { ++proceeds; }
  void resume_respond(LocalReply) override { ++replies; }
  void resume_replace_request(RequestHead, std::string) override {}
  void resume_replace_response(ResponseHead, std::string) override {}
};

TEST(ExchangeResumer, ActsOnceAndNeverAfterTheExchangeIsGone) {
  auto target = std::make_shared<CountingTarget>();
  ExchangeResumer r{std::weak_ptr<CountingTarget>(target)};
  ExchangeResumer copy = r;
  r.proceed();
  r.respond(LocalReply{});
  EXPECT_EQ(target->proceeds, 1);
  EXPECT_EQ(target->replies, 0);
  target.reset();  // the exchange ended
  EXPECT_FALSE(copy.alive());
  copy.proceed();  // nothing to reach: no crash, no effect
}

}  // namespace
}  // namespace tlsgate::http
