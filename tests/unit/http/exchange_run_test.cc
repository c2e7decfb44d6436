#include "http/exchange_run.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "memory_port.h"

namespace tlsgate::http {
namespace {

using testing::bytes_of;
using testing::MemoryPort;
using Lines = std::vector<std::string>;

std::string text(std::span<const uint8_t> b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

// A filter whose every step is a function given by the test; each call is
// written to a shared log ("name:step").
class ScriptedFilter final : public HttpFilter {
 public:
  using HeadStep = std::function<FilterStep(FilterExchange&)>;
  using BodyStep = std::function<FilterStep(FilterExchange&, const HeldBody&)>;

  ScriptedFilter(std::string name, Lines& log) : name_(std::move(name)), log_(log) {}

  std::string_view name() const override { return name_; }
  FilterStep on_request_head(FilterExchange& ex) override {
    log_.push_back(name_ + ":request_head");
    return request_head ? request_head(ex) : FilterStep::proceed();
  }
  FilterStep on_request_body(FilterExchange& ex, const HeldBody& body) override {
    log_.push_back(name_ + ":request_body " + text(body.bytes) + (body.complete ? "" : "..."));
    return request_body ? request_body(ex, body) : FilterStep::proceed();
  }
  FilterStep on_response_head(FilterExchange& ex) override {
    log_.push_back(name_ + ":response_head");
    return response_head ? response_head(ex) : FilterStep::proceed();
  }
  FilterStep on_response_body(FilterExchange& ex, const HeldBody& body) override {
    log_.push_back(name_ + ":response_body " + text(body.bytes) + (body.complete ? "" : "..."));
    return response_body ? response_body(ex, body) : FilterStep::proceed();
  }
  void on_exchange_end(FilterExchange&) override { log_.push_back(name_ + ":end"); }

  HeadStep request_head, response_head;
  BodyStep request_body, response_body;

 private:
  std::string name_;
  Lines& log_;
};

// Plays the engine: logs what the run asked of it.
class RecordingEngine final : public ExchangeCallbacks {
 public:
  explicit RecordingEngine(Lines& log) : log_(log) {}
  void pass_request(ExchangeRun& run, const PassedMessage& m) override {
    log_.push_back("pass_request " + run.request().method + " " + describe(m));
  }
  void pass_response(ExchangeRun& run, const PassedMessage& m) override {
    log_.push_back("pass_response " + std::to_string(run.response()->status) + " " + describe(m));
  }
  void reply(ExchangeRun&, const LocalReply& r) override {
    log_.push_back("reply " + std::to_string(r.status) + " " + r.outcome);
  }

 private:
  static std::string describe(const PassedMessage& m) {
    return "[" + text(m.held_body) + "]" + (m.body_complete ? " complete" : "") +
           (m.replaced ? " replaced" : "");
  }
  Lines& log_;
};

LocalReply reply_with(int status, std::string outcome) {
  LocalReply r;
  r.status = status;
  r.outcome = std::move(outcome);
  r.detail = "test";
  return r;
}

RequestHead get(std::string path = "/x") {
  RequestHead h;
  h.method = "GET";
  h.scheme = "https";
  h.authority = "a.example";
  h.path = std::move(path);
  return h;
}

ResponseHead status(int code) {
  ResponseHead h;
  h.status = code;
  return h;
}

class ExchangeRunTest : public ::testing::Test {
 protected:
  ScriptedFilter& add(std::string name) {
    auto f = std::make_unique<ScriptedFilter>(std::move(name), log);
    ScriptedFilter& ref = *f;
    chain.push_back(std::move(f));
    return ref;
  }
  std::shared_ptr<ExchangeRun> start() { return ExchangeRun::make(port, chain, engine, 0); }

  Lines log;
  MemoryPort port;
  FilterChain chain;
  RecordingEngine engine{log};
};

TEST_F(ExchangeRunTest, FiltersThatProceedLetBothMessagesThroughInOrder) {
  add("a");
  add("b");
  auto run = start();
  run->start_request(get());
  EXPECT_EQ(run->request_body(bytes_of("up"), true), ExchangeRun::BodyAction::forward);
  run->start_response(status(200));
  EXPECT_EQ(run->response_body(bytes_of("down!"), true), ExchangeRun::BodyAction::forward);
  run->end(ExchangeEnd::complete);
  run->end(ExchangeEnd::incomplete);  // only the first end counts
  EXPECT_EQ(log,
            (Lines{"a:request_head", "b:request_head", "pass_request GET []", "a:response_head",
                   "b:response_head", "pass_response 200 []", "a:end", "b:end"}));
  ASSERT_EQ(port.exchanges.size(), 1u);
  const Exchange& x = port.exchanges[0];
  EXPECT_EQ(x.method, "GET");
  EXPECT_EQ(x.host, "a.example");
  EXPECT_EQ(x.path, "/x");
  EXPECT_EQ(x.status, 200);
  EXPECT_EQ(x.request_bytes, 2u);
  EXPECT_EQ(x.response_bytes, 5u);
  EXPECT_EQ(x.end, ExchangeEnd::complete);
  EXPECT_TRUE(x.outcome.empty());
}

TEST_F(ExchangeRunTest, AReplyAtTheRequestHeadStopsTheChainAndNothingGoesUpstream) {
  add("a").request_head = [](FilterExchange&) {
    return FilterStep::respond(reply_with(421, "misdirected"));
  };
  add("b");
  auto run = start();
  run->start_request(get());
  EXPECT_EQ(run->request_body(bytes_of("body"), true), ExchangeRun::BodyAction::drop);
  run->start_response(status(200));  // an upstream answer after a reply is ignored
  run->end(ExchangeEnd::complete);
  EXPECT_EQ(log, (Lines{"a:request_head", "reply 421 misdirected", "a:end", "b:end"}));
  ASSERT_EQ(port.exchanges.size(), 1u);
  EXPECT_EQ(port.exchanges[0].status, 421);
  EXPECT_EQ(port.exchanges[0].outcome, "misdirected");
  EXPECT_EQ(port.exchanges[0].detail, "test");
}

TEST_F(ExchangeRunTest, AHoldingFilterStopsTheChainUntilItResumes) {
  ExchangeResumer resumer;
  add("a").request_head = [&](FilterExchange& ex) {
    resumer = ex.resumer();
    return FilterStep::hold();
  };
  add("b");
  auto run = start();
  run->start_request(get());
  EXPECT_TRUE(run->request_waiting());
  EXPECT_EQ(run->request_body(bytes_of("early"), false), ExchangeRun::BodyAction::held);
  EXPECT_EQ(log, (Lines{"a:request_head"}));
  resumer.proceed();
  resumer.proceed();  // a resumer acts once
  EXPECT_FALSE(run->request_waiting());
  EXPECT_EQ(run->request_body(bytes_of(" late"), true), ExchangeRun::BodyAction::forward);
  EXPECT_EQ(log, (Lines{"a:request_head", "b:request_head", "pass_request GET [early]"}));
  EXPECT_EQ(port.exchanges.size(), 0u);
}

TEST_F(ExchangeRunTest, AResumeAfterTheExchangeEndedDoesNothing) {
  ExchangeResumer resumer;
  add("a").request_head = [&](FilterExchange& ex) {
    resumer = ex.resumer();
    return FilterStep::hold();
  };
  auto run = start();
  run->start_request(get());
  run->end(ExchangeEnd::incomplete);
  resumer.respond(reply_with(403, "blocked"));
  EXPECT_EQ(log, (Lines{"a:request_head", "a:end"}));
  ASSERT_EQ(port.exchanges.size(), 1u);
  EXPECT_EQ(port.exchanges[0].end, ExchangeEnd::incomplete);
  EXPECT_FALSE(port.exchanges[0].status.has_value());
}

TEST_F(ExchangeRunTest, AResumeFromWithinTheStepItselfIsKept) {
  add("a").request_head = [](FilterExchange& ex) {
    ex.resumer().proceed();  // answered at once (a cached verdict)
    return FilterStep::hold();
  };
  auto run = start();
  run->start_request(get());
  EXPECT_EQ(log, (Lines{"a:request_head", "pass_request GET []"}));
}

TEST_F(ExchangeRunTest, NeedBodyHoldsTheWholeBodyForTheFilterBeforeAnythingMovesOn) {
  add("a").request_head = [](FilterExchange&) { return FilterStep::need_body(100); };
  add("b");
  auto run = start();
  run->start_request(get());
  EXPECT_EQ(run->request_body(bytes_of("abc"), false), ExchangeRun::BodyAction::held);
  EXPECT_FALSE(run->request_waiting());  // under the limit: the engine reads on
  EXPECT_EQ(log, (Lines{"a:request_head", "b:request_head"}));
  EXPECT_EQ(run->request_body(bytes_of("def"), true), ExchangeRun::BodyAction::held);
  EXPECT_EQ(log, (Lines{"a:request_head", "b:request_head", "a:request_body abcdef",
                        "pass_request GET [abcdef] complete"}));
}

TEST_F(ExchangeRunTest, NeedBodyOverTheLimitShowsTheFirstBytesAndWaitsForTheVerdict) {
  ExchangeResumer resumer;
  auto& a = add("a");
  a.request_head = [](FilterExchange&) { return FilterStep::need_body(4); };
  a.request_body = [&](FilterExchange& ex, const HeldBody&) {
    resumer = ex.resumer();
    return FilterStep::hold();
  };
  auto run = start();
  run->start_request(get());
  EXPECT_EQ(run->request_body(bytes_of("abcdef"), false), ExchangeRun::BodyAction::held);
  EXPECT_TRUE(run->request_waiting());
  EXPECT_EQ(run->request_body(bytes_of("gh"), false), ExchangeRun::BodyAction::held);
  resumer.proceed();
  EXPECT_FALSE(run->request_waiting());
  EXPECT_EQ(run->request_body(bytes_of("ij"), true), ExchangeRun::BodyAction::forward);
  EXPECT_EQ(log,
            (Lines{"a:request_head", "a:request_body abcd...", "pass_request GET [abcdefgh]"}));
  run->end(ExchangeEnd::complete);
  EXPECT_EQ(port.exchanges.at(0).request_bytes, 10u);
}

TEST_F(ExchangeRunTest, EachBodyFilterSeesTheBodyUpToItsOwnLimit) {
  add("small").request_head = [](FilterExchange&) { return FilterStep::need_body(2); };
  add("large").request_head = [](FilterExchange&) { return FilterStep::need_body(10); };
  auto run = start();
  run->start_request(get());
  run->request_body(bytes_of("abcde"), true);
  EXPECT_EQ(log, (Lines{"small:request_head", "large:request_head", "small:request_body ab...",
                        "large:request_body abcde", "pass_request GET [abcde] complete"}));
}

TEST_F(ExchangeRunTest, AReplyAtTheRequestBodyReplacesTheExchange) {
  auto& av = add("av");
  av.request_head = [](FilterExchange&) { return FilterStep::need_body(100); };
  av.request_body = [](FilterExchange& ex, const HeldBody&) {
    ex.note("icap", "infected");
    return FilterStep::respond(reply_with(403, "infected"));
  };
  auto run = start();
  run->start_request(get());
  EXPECT_EQ(run->request_body(bytes_of("EICAR"), true), ExchangeRun::BodyAction::held);
  run->end(ExchangeEnd::complete);
  EXPECT_EQ(log,
            (Lines{"av:request_head", "av:request_body EICAR", "reply 403 infected", "av:end"}));
  ASSERT_EQ(port.exchanges.size(), 1u);
  EXPECT_EQ(port.exchanges[0].outcome, "infected");
  EXPECT_EQ(port.exchanges[0].notes,
            (std::vector<std::pair<std::string, std::string>>{{"icap", "infected"}}));
}

TEST_F(ExchangeRunTest, AReplyAtTheResponseHeadIsSentInsteadOfTheResponse) {
  add("a").response_head = [](FilterExchange& ex) {
    EXPECT_EQ(ex.response()->status, 200);
    return FilterStep::respond(reply_with(403, "blocked"));
  };
  auto run = start();
  run->start_request(get());
  run->request_body({}, true);
  run->start_response(status(200));
  EXPECT_EQ(run->response_body(bytes_of("secret"), true), ExchangeRun::BodyAction::drop);
  EXPECT_TRUE(run->replied());
  EXPECT_EQ(log, (Lines{"a:request_head", "pass_request GET []", "a:response_head",
                        "reply 403 blocked"}));
}

TEST_F(ExchangeRunTest, AHeldResponseBodyCanBeReplacedByTheFilter) {
  ExchangeResumer resumer;
  auto& av = add("av");
  av.response_head = [](FilterExchange&) { return FilterStep::need_body(3); };
  av.response_body = [&](FilterExchange& ex, const HeldBody&) {
    resumer = ex.resumer();
    return FilterStep::hold();
  };
  auto run = start();
  run->start_request(get());
  run->start_response(status(200));
  run->response_body(bytes_of("original"), false);
  ResponseHead modified = status(403);
  resumer.replace_response(modified, "clean");
  EXPECT_EQ(run->response_body(bytes_of("rest"), true), ExchangeRun::BodyAction::drop);
  EXPECT_EQ(log, (Lines{"av:request_head", "pass_request GET []", "av:response_head",
                        "av:response_body ori...", "pass_response 403 [clean] complete replaced"}));
  run->end(ExchangeEnd::complete);
  EXPECT_EQ(port.exchanges.at(0).status, 403);
}

TEST_F(ExchangeRunTest, AReplacedRequestGoesUpstreamInsteadOfTheOriginal) {
  ExchangeResumer resumer;
  auto& av = add("av");
  av.request_head = [](FilterExchange&) { return FilterStep::need_body(100); };
  av.request_body = [&](FilterExchange& ex, const HeldBody&) {
    resumer = ex.resumer();
    return FilterStep::hold();
  };
  auto run = start();
  run->start_request(get());
  run->request_body(bytes_of("upload"), true);
  RequestHead post = get("/cleaned");
  post.method = "POST";
  resumer.replace_request(post, "new");
  EXPECT_EQ(run->request().path, "/cleaned");
  EXPECT_EQ(log.back(), "pass_request POST [new] complete replaced");
}

TEST_F(ExchangeRunTest, AnEmptyChainPassesEverything) {
  auto run = start();
  run->start_request(get());
  run->start_response(status(204));
  run->end(ExchangeEnd::complete);
  EXPECT_EQ(log, (Lines{"pass_request GET []", "pass_response 204 []"}));
  EXPECT_EQ(port.exchanges.size(), 1u);
}

}  // namespace
}  // namespace tlsgate::http
