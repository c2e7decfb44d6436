#include "icap/icap_filter.h"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "icap/icap_ring_client.h"
#include "icap/scan_event.h"
#include "icap/worker_client.h"
#include "pages/icap_block_page.h"

namespace tlsgate::icap {

namespace {

using Clock = std::chrono::steady_clock;
using config::IcapFailAction;
using config::IcapMethod;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x | 0x20) == (y | 0x20);
         });
}

// The layer frames the message it sends on; the service's framing fields
// describe the ICAP transfer, not what the client or server will get.
void drop_framing(http::HeaderList& headers) {
  std::erase_if(headers, [](const http::HeaderField& f) {
    return iequals(f.name, "content-length") || iequals(f.name, "transfer-encoding") ||
           iequals(f.name, "connection") || iequals(f.name, "keep-alive");
  });
}

http::LocalReply to_reply(const pages::PageResponse& page, std::string outcome,
                          std::string detail) {
  http::LocalReply r;
  r.status = page.status;
  for (const auto& [name, value] : page.headers) r.headers.push_back({name, value});
  r.body = page.body;
  r.outcome = std::move(outcome);
  r.detail = std::move(detail);
  return r;
}

std::string url_of(const http::RequestHead& r) {
  return (r.scheme.empty() ? std::string("https") : r.scheme) + "://" + r.authority + r.path;
}

class IcapFilter final : public http::HttpFilter {
 public:
  IcapFilter(std::shared_ptr<const IcapFilterShared> shared, IcapRingClient* client,
             std::vector<size_t> reqmod, std::vector<size_t> respmod, const http::FlowContext& flow)
      : shared_(std::move(shared)),
        client_(client),
        reqmod_(std::move(reqmod)),
        respmod_(std::move(respmod)),
        client_text_(flow.client.to_string()),
        client_ip_(flow.client.address.to_string()),
        server_text_(flow.server.to_string()) {}

  ~IcapFilter() override {
    for (auto& [stream, p] : pending_) cancel(p);
  }

  std::string_view name() const override { return "icap"; }

  http::FilterStep on_request_head(http::FilterExchange&) override {
    if (reqmod_.empty()) return http::FilterStep::proceed();
    return http::FilterStep::need_body(hold_limit(reqmod_));
  }
  http::FilterStep on_request_body(http::FilterExchange& ex, const http::HeldBody& body) override {
    return scan_body(ex, body, true);
  }
  http::FilterStep on_response_head(http::FilterExchange&) override {
    if (respmod_.empty()) return http::FilterStep::proceed();
    return http::FilterStep::need_body(hold_limit(respmod_));
  }
  http::FilterStep on_response_body(http::FilterExchange& ex, const http::HeldBody& body) override {
    return scan_body(ex, body, false);
  }
  void on_exchange_end(http::FilterExchange& ex) override {
    auto it = pending_.find(ex.stream_id());
    if (it == pending_.end()) return;
    cancel(it->second);
    pending_.erase(it);
  }

 private:
  // One message being scanned, service after service.
  struct Pending {
    bool upload = false;
    http::RequestHead request;
    std::optional<http::ResponseHead> response;
    std::span<const uint8_t> body;
    bool complete = true;
    size_t next = 0;  // into the method's service list
    uint64_t scan_id = 0;
    Clock::time_point started;
    http::ExchangeResumer resumer;
    bool held = false;  // the step answered hold: continue through the resumer
  };
  // What a service's answer means for the message.
  struct Decision {
    enum class Kind { next, respond, replace } kind = Kind::next;
    http::LocalReply reply;
    ScanOutcome outcome;  // replace: the service's message
  };

  size_t hold_limit(const std::vector<size_t>& list) const {
    size_t limit = 0;
    for (size_t i : list) limit = std::max(limit, shared_->services[i].max_scan_size);
    return limit;
  }

  void cancel(Pending& p) {
    if (p.scan_id != 0 && client_ != nullptr) client_->cancel(p.scan_id);
    p.scan_id = 0;
  }

  http::FilterStep scan_body(http::FilterExchange& ex, const http::HeldBody& body, bool upload) {
    if (body.complete && body.bytes.empty()) return http::FilterStep::proceed();
    uint32_t stream = ex.stream_id();
    Pending& p = pending_[stream];
    p = Pending{};
    p.upload = upload;
    p.request = ex.request();
    if (!upload && ex.response() != nullptr) p.response = *ex.response();
    p.body = body.bytes;
    p.complete = body.complete;
    return advance(stream, &ex);
  }

  // Runs the services from p.next on; `ex` is set while inside a filter step.
  http::FilterStep advance(uint32_t stream, http::FilterExchange* ex) {
    const std::vector<size_t>& list = pending_.at(stream).upload ? reqmod_ : respmod_;
    while (true) {
      Pending& p = pending_.at(stream);
      if (p.next >= list.size()) return finish(stream, ex, Decision{});
      size_t service = list[p.next];
      const auto& settings = shared_->services[service];
      if (!p.complete || p.body.size() > settings.max_scan_size) {
        Decision d = on_oversize(p, service);
        if (d.kind != Decision::Kind::next) return finish(stream, ex, std::move(d));
        p.next += 1;
        continue;
      }
      if (client_ == nullptr) {
        ScanOutcome o;
        o.error = "no ICAP client on this worker";
        Decision d = decide(p, service, std::move(o));
        if (d.kind != Decision::Kind::next) return finish(stream, ex, std::move(d));
        p.next += 1;
        continue;
      }
      ScanRequest req;
      req.service = service;
      req.request = p.request;
      req.response = p.response;
      req.client_ip = client_ip_;
      req.body = p.body;
      p.started = Clock::now();
      auto started = client_->scan(std::move(req), [this, stream, service](ScanOutcome o) {
        on_answer(stream, service, std::move(o));
      });
      if (started.immediate) {
        Decision d = decide(p, service, std::move(*started.immediate));
        if (d.kind != Decision::Kind::next) return finish(stream, ex, std::move(d));
        p.next += 1;
        continue;
      }
      p.scan_id = started.id;
      if (ex != nullptr) {
        p.resumer = ex->resumer();
        p.held = true;
      }
      return http::FilterStep::hold();
    }
  }

  void on_answer(uint32_t stream, size_t service, ScanOutcome o) {
    auto it = pending_.find(stream);
    if (it == pending_.end()) return;
    Pending& p = it->second;
    p.scan_id = 0;
    Decision d = decide(p, service, std::move(o));
    if (d.kind != Decision::Kind::next) {
      finish(stream, nullptr, std::move(d));
      return;
    }
    p.next += 1;
    advance(stream, nullptr);
  }

  // Ends the message's scanning: as the step's answer inside a step, else
  // through the resumer.
  http::FilterStep finish(uint32_t stream, http::FilterExchange* ex, Decision d) {
    Pending p = std::move(pending_.at(stream));
    pending_.erase(stream);
    if (ex != nullptr && !p.held) {
      switch (d.kind) {
        case Decision::Kind::next:
          return http::FilterStep::proceed();
        case Decision::Kind::respond:
          return http::FilterStep::respond(std::move(d.reply));
        case Decision::Kind::replace:
          // A replacement is only possible through the resumer: take it now
          // and use it at once.
          p.resumer = ex->resumer();
          break;
      }
    }
    switch (d.kind) {
      case Decision::Kind::next:
        p.resumer.proceed();
        break;
      case Decision::Kind::respond:
        p.resumer.respond(std::move(d.reply));
        break;
      case Decision::Kind::replace:
        if (d.outcome.request) {
          drop_framing(d.outcome.request->headers);
          p.resumer.replace_request(std::move(*d.outcome.request), std::move(d.outcome.body));
        } else if (d.outcome.response) {
          drop_framing(d.outcome.response->headers);
          p.resumer.replace_response(std::move(*d.outcome.response), std::move(d.outcome.body));
        }
        break;
    }
    return http::FilterStep::hold();
  }

  Decision on_oversize(const Pending& p, size_t service) {
    const auto& settings = shared_->services[service];
    ScanOutcome o;
    o.verdict = Verdict::oversize;
    Decision d;
    bool block = settings.oversize == IcapFailAction::block;
    if (block) {
      d.kind = Decision::Kind::respond;
      d.reply = to_reply(pages::render_icap_unscanned_page(
                             url_of(p.request), settings.name,
                             "it is larger than the " + std::to_string(settings.max_scan_size) +
                                 " bytes the gateway scans",
                             p.upload),
                         "oversize", "icap:" + settings.name);
    }
    report(p, service, o, block ? "block" : "pass");
    return d;
  }

  Decision decide(const Pending& p, size_t service, ScanOutcome o) {
    const auto& settings = shared_->services[service];
    Decision d;
    std::string action = "pass";
    switch (o.verdict) {
      case Verdict::clean:
      case Verdict::oversize:
        break;
      case Verdict::infected:
        action = "block";
        d.kind = Decision::Kind::respond;
        d.reply = to_reply(
            pages::render_icap_infected_page(url_of(p.request), settings.name, o.threat, p.upload),
            "infected", "icap:" + settings.name + (o.threat.empty() ? "" : ":" + o.threat));
        break;
      case Verdict::modified:
        if (p.upload && o.response) {
          // REQMOD answered with a response: the client gets it, the
          // server nothing.
          action = "respond";
          d.kind = Decision::Kind::respond;
          d.reply.status = o.response->status;
          d.reply.headers = o.response->headers;
          drop_framing(d.reply.headers);
          d.reply.body = o.body;
          d.reply.outcome = "modified";
          d.reply.detail = "icap:" + settings.name;
        } else {
          action = "replace";
          d.kind = Decision::Kind::replace;
        }
        break;
      case Verdict::error:
        if (settings.on_error == IcapFailAction::block) {
          action = "block";
          d.kind = Decision::Kind::respond;
          d.reply = to_reply(
              pages::render_icap_unscanned_page(url_of(p.request), settings.name,
                                                "the service failed (" + o.error + ")", p.upload),
              "icap_error", "icap:" + settings.name);
        }
        break;
    }
    report(p, service, o, action);
    d.outcome = std::move(o);
    return d;
  }

  void report(const Pending& p, size_t service, const ScanOutcome& o, const std::string& action) {
    const auto& settings = shared_->services[service];
    auto took = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - p.started);
    if (o.verdict == Verdict::oversize) took = {};
    if (shared_->stats) shared_->stats->record(service, o.verdict, took);
    if (shared_->events == nullptr) return;
    ScanEvent e;
    e.service = settings.name;
    e.method = p.upload ? "reqmod" : "respmod";
    e.url = url_of(p.request);
    e.client = client_text_;
    e.server = server_text_;
    e.verdict = o.verdict;
    e.threat = o.threat;
    e.error = o.error;
    e.action = action;
    e.istag = o.istag;
    e.bytes = p.body.size();
    e.ms = static_cast<uint64_t>(took.count() / 1000);
    shared_->events->emit("icap", to_json(e));
  }

  std::shared_ptr<const IcapFilterShared> shared_;
  IcapRingClient* client_;
  std::vector<size_t> reqmod_;
  std::vector<size_t> respmod_;
  std::string client_text_;
  std::string client_ip_;
  std::string server_text_;
  std::unordered_map<uint32_t, Pending> pending_;  // by h2 stream (0: HTTP/1.1)
};

}  // namespace

std::vector<size_t> IcapFilterFactory::services_for(const std::string& rule) const {
  std::optional<std::vector<std::string>> chosen;
  if (shared_->rules != nullptr) {
    auto rules = shared_->rules->load();
    if (rules) {
      for (const auto& r : rules->rules) {
        if (r.name == rule) {
          chosen = r.icap;
          break;
        }
      }
    }
  }
  std::vector<size_t> out;
  for (size_t i = 0; i < shared_->services.size(); ++i) {
    if (!chosen ||
        std::find(chosen->begin(), chosen->end(), shared_->services[i].name) != chosen->end()) {
      out.push_back(i);
    }
  }
  return out;
}

std::unique_ptr<http::HttpFilter> IcapFilterFactory::make(const http::FlowContext& flow) const {
  std::vector<size_t> reqmod, respmod;
  for (size_t i : services_for(flow.rule)) {
    (shared_->services[i].method == IcapMethod::reqmod ? reqmod : respmod).push_back(i);
  }
  if (reqmod.empty() && respmod.empty()) return nullptr;
  return std::make_unique<IcapFilter>(shared_, worker_client(), std::move(reqmod),
                                      std::move(respmod), flow);
}

}  // namespace tlsgate::icap
