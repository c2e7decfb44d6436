#include "http/exchange_run.h"

#include <algorithm>
#include <utility>

namespace tlsgate::http {

std::shared_ptr<ExchangeRun> ExchangeRun::make(HttpPort& port, const FilterChain& chain,
                                               ExchangeCallbacks& callbacks, uint32_t stream_id) {
  return std::make_shared<ExchangeRun>(port, chain, callbacks, stream_id);
}

ExchangeRun::ExchangeRun(HttpPort& port, const FilterChain& chain, ExchangeCallbacks& callbacks,
                         uint32_t stream_id)
    : port_(port), chain_(chain), callbacks_(callbacks), stream_id_(stream_id) {
  record_.stream_id = stream_id;
}

const FlowContext& ExchangeRun::flow() const {
  return port_.flow();
}

const ResponseHead* ExchangeRun::response() const {
  return response_head_ ? &*response_head_ : nullptr;
}

void ExchangeRun::note(std::string_view key, std::string value) {
  for (auto& [k, v] : record_.notes) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  record_.notes.emplace_back(std::string(key), std::move(value));
}

ExchangeResumer ExchangeRun::resumer() {
  return ExchangeResumer(std::weak_ptr<ExchangeResumer::Target>(weak_from_this()));
}

// ---------------------------------------------------------------- engine side

void ExchangeRun::start_request(RequestHead head) {
  if (ended_ || request_.phase != Phase::idle) return;
  capture(record_.method, head.method, kMaxMethod);
  capture(record_.host, head.authority, kMaxHost);
  record_.path_truncated = capture(record_.path, head.path, kMaxPath);
  request_head_ = std::move(head);
  request_.phase = Phase::head_steps;
  run_head_steps(request_);
}

void ExchangeRun::start_response(ResponseHead head) {
  if (ended_ || replied_ || response_.phase != Phase::idle) return;
  record_.status = head.status;
  response_head_ = std::move(head);
  response_.phase = Phase::head_steps;
  run_head_steps(response_);
}

ExchangeRun::BodyAction ExchangeRun::request_body(std::span<const uint8_t> bytes, bool end) {
  return take_body(request_, bytes, end);
}

ExchangeRun::BodyAction ExchangeRun::response_body(std::span<const uint8_t> bytes, bool end) {
  return take_body(response_, bytes, end);
}

bool ExchangeRun::waiting(const Message& m) {
  switch (m.phase) {
    case Phase::head_steps:
    case Phase::body_steps:
      return true;
    case Phase::collecting:
      return m.held.size() > m.limit;
    default:
      return false;
  }
}

ExchangeRun::BodyAction ExchangeRun::take_body(Message& m, std::span<const uint8_t> bytes,
                                               bool end) {
  if (ended_) return BodyAction::drop;
  m.bytes += bytes.size();
  switch (m.phase) {
    case Phase::passed:
      if (end) m.body_ended = true;
      return m.replaced ? BodyAction::drop : BodyAction::forward;
    case Phase::dropped:
      return BodyAction::drop;
    case Phase::idle:  // a body before its head: nothing to run it through
      return BodyAction::drop;
    case Phase::body_steps:
      if (m.replaced) return BodyAction::drop;
      m.late.append(bytes.begin(), bytes.end());
      m.body_ended = m.body_ended || end;
      return BodyAction::held;
    case Phase::head_steps:
      if (m.replaced) return BodyAction::drop;
      m.held.append(bytes.begin(), bytes.end());
      m.body_ended = m.body_ended || end;
      return BodyAction::held;
    case Phase::collecting:
      m.held.append(bytes.begin(), bytes.end());
      m.body_ended = m.body_ended || end;
      if (m.body_ended || m.held.size() > m.limit) run_body_steps(m);
      return BodyAction::held;
  }
  return BodyAction::drop;
}

// ---------------------------------------------------------------- the chain

void ExchangeRun::run_head_steps(Message& m) {
  while (m.next < chain_.size() && !ended_) {
    HttpFilter& filter = *chain_[m.next];
    stepping_ = true;
    FilterStep step = m.is_request ? filter.on_request_head(*this) : filter.on_response_head(*this);
    stepping_ = false;
    size_t index = m.next++;
    if (step.kind() == FilterStep::Kind::need_body) {
      m.body_filters.push_back(index);
      m.body_limits.push_back(step.body_limit());
      m.limit = std::max(m.limit, step.body_limit());
    }
    if (!go_on_after(m, step)) return;
  }
  if (!ended_) head_steps_done(m);
}

// What a filter's step means for the chain: true to ask the next filter.
bool ExchangeRun::go_on_after(Message& m, FilterStep& step) {
  switch (step.kind()) {
    case FilterStep::Kind::proceed:
    case FilterStep::Kind::need_body:
      deferred_.reset();
      return true;
    case FilterStep::Kind::reply:
      deferred_.reset();
      respond_locally(std::move(step.reply()));
      return false;
    case FilterStep::Kind::hold:
      m.holding = true;
      if (deferred_) {  // the filter resumed from within its own step
        DeferredResume r = std::move(*deferred_);
        deferred_.reset();
        apply_resume(std::move(r));
      }
      return false;
  }
  return false;
}

void ExchangeRun::head_steps_done(Message& m) {
  m.next = 0;
  if (m.body_filters.empty()) {
    pass(m);
    return;
  }
  m.phase = Phase::collecting;
  if (m.body_ended || m.held.size() > m.limit) run_body_steps(m);
}

void ExchangeRun::run_body_steps(Message& m) {
  m.phase = Phase::body_steps;
  while (m.next < m.body_filters.size() && !ended_) {
    size_t i = m.next;
    HttpFilter& filter = *chain_[m.body_filters[i]];
    size_t limit = m.body_limits[i];
    HeldBody body;
    body.bytes = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(m.held.data()),
                                          std::min(limit, m.held.size()));
    body.complete = m.body_ended && m.held.size() <= limit;
    stepping_ = true;
    FilterStep step =
        m.is_request ? filter.on_request_body(*this, body) : filter.on_response_body(*this, body);
    stepping_ = false;
    m.next++;
    if (!go_on_after(m, step)) return;  // need_body, which only a head step may ask: proceed
  }
  if (!ended_) pass(m);
}

void ExchangeRun::pass(Message& m) {
  m.phase = Phase::passed;
  m.holding = false;
  if (!m.replaced) m.held += m.late;
  std::string held = std::exchange(m.held, {});
  std::string().swap(m.late);
  PassedMessage message;
  message.held_body =
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(held.data()), held.size());
  message.body_complete = m.body_ended;
  message.replaced = m.replaced;
  if (m.is_request) {
    callbacks_.pass_request(*this, message);
  } else {
    callbacks_.pass_response(*this, message);
  }
}

void ExchangeRun::respond_locally(LocalReply reply) {
  replied_ = true;
  for (Message* m : {&request_, &response_}) {
    m->phase = Phase::dropped;
    m->holding = false;
    std::string().swap(m->held);
    std::string().swap(m->late);
  }
  record_.status = reply.status;
  record_.outcome = reply.outcome;
  record_.detail = reply.detail;
  callbacks_.reply(*this, reply);
}

// ---------------------------------------------------------------- resumes

ExchangeRun::Message* ExchangeRun::holding_message() {
  if (request_.holding) return &request_;
  if (response_.holding) return &response_;
  return nullptr;
}

void ExchangeRun::apply_resume(DeferredResume r) {
  switch (r.kind) {
    case DeferredResume::Kind::proceed:
      resume_proceed();
      return;
    case DeferredResume::Kind::respond:
      resume_respond(std::move(r.reply));
      return;
    case DeferredResume::Kind::replace:
      if (r.request) {
        resume_replace_request(std::move(*r.request), std::move(r.body));
      } else if (r.response) {
        resume_replace_response(std::move(*r.response), std::move(r.body));
      }
      return;
  }
}

void ExchangeRun::resume_proceed() {
  if (ended_) return;
  if (stepping_) {
    deferred_ = DeferredResume{};  // not emplace(): clang 14 rejects it (nested NSDMI)
    return;
  }
  Message* m = holding_message();
  if (m == nullptr) return;
  m->holding = false;
  if (m->phase == Phase::head_steps) {
    run_head_steps(*m);
  } else if (m->phase == Phase::body_steps) {
    run_body_steps(*m);
  }
}

void ExchangeRun::resume_respond(LocalReply reply) {
  if (ended_) return;
  if (stepping_) {
    deferred_ = DeferredResume{};  // not emplace(): clang 14 rejects it (nested NSDMI)
    deferred_->kind = DeferredResume::Kind::respond;
    deferred_->reply = std::move(reply);
    return;
  }
  if (holding_message() == nullptr) return;
  respond_locally(std::move(reply));
}

void ExchangeRun::resume_replace_request(RequestHead head, std::string body) {
  if (ended_) return;
  if (stepping_) {
    deferred_ = DeferredResume{};  // not emplace(): clang 14 rejects it (nested NSDMI)
    deferred_->kind = DeferredResume::Kind::replace;
    deferred_->request = std::move(head);
    deferred_->body = std::move(body);
    return;
  }
  if (!request_.holding) return;
  request_head_ = std::move(head);
  request_.held = std::move(body);
  std::string().swap(request_.late);
  request_.body_ended = true;
  request_.replaced = true;
  resume_proceed();
}

void ExchangeRun::resume_replace_response(ResponseHead head, std::string body) {
  if (ended_) return;
  if (stepping_) {
    deferred_ = DeferredResume{};  // not emplace(): clang 14 rejects it (nested NSDMI)
    deferred_->kind = DeferredResume::Kind::replace;
    deferred_->response = std::move(head);
    deferred_->body = std::move(body);
    return;
  }
  if (!response_.holding) return;
  record_.status = head.status;
  response_head_ = std::move(head);
  response_.held = std::move(body);
  std::string().swap(response_.late);
  response_.body_ended = true;
  response_.replaced = true;
  resume_proceed();
}

// ---------------------------------------------------------------- end

void ExchangeRun::mark(std::string outcome, std::string detail, std::optional<int> status) {
  record_.outcome = std::move(outcome);
  record_.detail = std::move(detail);
  if (status) record_.status = status;
}

void ExchangeRun::end(ExchangeEnd how) {
  if (ended_) return;
  ended_ = true;
  for (const auto& filter : chain_) filter->on_exchange_end(*this);
  for (Message* m : {&request_, &response_}) {
    m->holding = false;
    std::string().swap(m->held);
    std::string().swap(m->late);
  }
  record_.request_bytes = request_.bytes;
  record_.response_bytes = response_.bytes;
  record_.end = how;
  port_.emit_exchange(record_);
}

}  // namespace tlsgate::http
