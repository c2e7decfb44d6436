#include "http/http1_observer.h"

#include <utility>

namespace tlsgate::http {

namespace {

bool starts_with_scheme(std::string_view target) {
  return target.starts_with("http://") || target.starts_with("https://");
}

// The request target as host and path (RFC 9112 §3.2): origin-form keeps the
// path, absolute-form is split, authority-form (CONNECT) is a host.
void split_target(std::string_view method, std::string_view target, std::string_view& authority,
                  std::string_view& path) {
  if (method == "CONNECT") {
    authority = target;
    path = {};
    return;
  }
  if (!starts_with_scheme(target)) {
    path = target;
    return;
  }
  const std::string_view rest = target.substr(target.find("//") + 2);
  const size_t end = rest.find_first_of("/?");
  authority = rest.substr(0, end);
  path = end == std::string_view::npos ? std::string_view("/") : rest.substr(end);
}

}  // namespace

Http1Observer::Http1Observer(ExchangeSink sink, bool sniffed)
    : sink_(std::move(sink)), sniffed_(sniffed) {}

void Http1Observer::observe(Direction d, std::span<const uint8_t> bytes) {
  if (stop_ != ObserverStop::observing) return;
  if (d == Direction::to_server) {
    read_requests(bytes);
  } else {
    read_responses(bytes);
  }
}

void Http1Observer::read_requests(std::span<const uint8_t> bytes) {
  while (!bytes.empty() && stop_ == ObserverStop::observing) {
    size_t used = 0;
    switch (request_reading_) {
      case Reading::head: {
        const auto status = request_head_.feed(bytes, used);
        bytes = bytes.subspan(used);
        if (!request_line_checked_) {
          // Not HTTP/1 is told from the first line, not after a whole head.
          const bool complete = request_head_.has_start_line();
          if (complete ? !starts_with_request_line(request_head_.head())
                       : !could_be_request(request_head_.head())) {
            stop(sniffed_ && !seen_request_ ? ObserverStop::not_http : ObserverStop::malformed);
            return;
          }
          request_line_checked_ = complete;
        }
        if (status == HeadCollector::Status::over_limit) {
          stop(ObserverStop::over_limit);
          return;
        }
        if (status == HeadCollector::Status::need_more) return;
        if (!start_request()) return;
        break;
      }
      case Reading::body: {
        const auto status = request_body_.feed(bytes, used);
        bytes = bytes.subspan(used);
        pending_.back().exchange.request_bytes = request_body_.payload();
        if (status == BodyReader::Status::malformed) {
          stop(ObserverStop::malformed);
          return;
        }
        if (status == BodyReader::Status::done) request_ended();
        break;
      }
      case Reading::tunnel:  // after a CONNECT: not HTTP, unless the tunnel is refused
        tunnel_bytes_ = true;
        return;
    }
  }
}

bool Http1Observer::start_request() {
  const auto head = parse_request_head(request_head_.head());
  if (!head) {
    stop(sniffed_ && !seen_request_ ? ObserverStop::not_http : ObserverStop::malformed);
    return false;
  }
  // A request must name its body's length; only a response may run to the close.
  if (head->headers.transfer_encoding && !head->headers.chunked) {
    stop(ObserverStop::malformed);
    return false;
  }
  if (pending_.size() >= kMaxPipelined) {
    stop(ObserverStop::over_limit);
    return false;
  }
  seen_request_ = true;
  Pending p;
  std::string_view authority;
  std::string_view path;
  split_target(head->method, head->target, authority, path);
  capture(p.exchange.method, head->method, kMaxMethod);
  capture(p.exchange.host, head->headers.host.empty() ? authority : head->headers.host, kMaxHost);
  p.exchange.path_truncated = capture(p.exchange.path, path, kMaxPath);
  p.head_request = head->method == "HEAD";
  p.connect = head->method == "CONNECT";
  p.upgrade_offered = head->headers.upgrade;
  bool has_body = true;
  if (head->headers.chunked) {
    request_body_.start_chunked();
  } else if (head->headers.content_length.value_or(0) > 0) {
    request_body_.start_fixed(*head->headers.content_length);
  } else {
    has_body = false;
  }
  pending_.push_back(std::move(p));
  request_head_.reset();  // `head` points into it: last
  request_line_checked_ = false;
  if (has_body) {
    request_reading_ = Reading::body;
  } else {
    request_ended();
  }
  return true;
}

void Http1Observer::request_ended() {
  Pending& p = pending_.back();
  p.request_done = true;
  request_reading_ = p.connect ? Reading::tunnel : Reading::head;
  report_finished();
}

void Http1Observer::read_responses(std::span<const uint8_t> bytes) {
  while (!bytes.empty() && stop_ == ObserverStop::observing) {
    size_t used = 0;
    if (response_reading_ == Reading::head) {
      const auto status = response_head_.feed(bytes, used);
      bytes = bytes.subspan(used);
      if (status == HeadCollector::Status::over_limit) {
        stop(ObserverStop::over_limit);
        return;
      }
      if (status == HeadCollector::Status::need_more) return;
      if (!start_response()) return;
      continue;
    }
    const auto status = response_body_.feed(bytes, used);
    bytes = bytes.subspan(used);
    pending_[responding_].exchange.response_bytes = response_body_.payload();
    if (status == BodyReader::Status::malformed) {
      stop(ObserverStop::malformed);
      return;
    }
    if (status == BodyReader::Status::done) response_ended();
  }
}

bool Http1Observer::start_response() {
  if (responding_ >= pending_.size()) {  // a response to no request
    stop(sniffed_ && !seen_request_ ? ObserverStop::not_http : ObserverStop::malformed);
    return false;
  }
  const auto head = parse_response_head(response_head_.head());
  if (!head) {
    stop(ObserverStop::malformed);
    return false;
  }
  Pending& p = pending_[responding_];
  const int status = head->status;
  const FramingHeaders framing = head->headers;
  response_head_.reset();  // `head` points into it
  if (status == 101) {
    if (!p.upgrade_offered) {
      stop(ObserverStop::malformed);
      return false;
    }
    switch_protocols(p, status);
    return false;
  }
  if (status < 200) return true;  // interim (100, 103): the final response follows
  p.exchange.status = status;
  if (p.connect && status < 300) {
    switch_protocols(p, status);
    return false;
  }
  // RFC 9112 §6.3.
  bool has_body = true;
  if (p.head_request || status == 204 || status == 304) {
    has_body = false;
  } else if (framing.transfer_encoding) {
    if (framing.chunked) {
      response_body_.start_chunked();
    } else {
      response_body_.start_until_close();
    }
  } else if (framing.content_length) {
    response_body_.start_fixed(*framing.content_length);
    has_body = *framing.content_length > 0;
  } else {
    response_body_.start_until_close();
  }
  if (has_body) {
    response_reading_ = Reading::body;
  } else {
    response_ended();
  }
  return true;
}

void Http1Observer::response_ended() {
  Pending& p = pending_[responding_];
  p.response_done = true;
  ++responding_;
  response_reading_ = Reading::head;
  if (p.connect && request_reading_ == Reading::tunnel) {
    // A refused tunnel: requests go on, unless the client already sent into it.
    if (tunnel_bytes_) {
      report_finished();
      if (stop_ == ObserverStop::observing) stop(ObserverStop::switched);
      return;
    }
    request_reading_ = Reading::head;
  }
  report_finished();
}

// Reports the switching exchange (and what waited before it), then stops:
// the rest of the connection is not HTTP/1.
void Http1Observer::switch_protocols(Pending& p, int status) {
  p.exchange.status = status;
  p.exchange.end = ExchangeEnd::upgrade;
  p.request_done = p.response_done = true;
  for (Pending& q : pending_) {
    if (!(q.request_done && q.response_done)) q.exchange.end = ExchangeEnd::incomplete;
    sink_(q.exchange);
    if (&q == &p) break;
  }
  stop(ObserverStop::switched);
}

void Http1Observer::report_finished() {
  while (!pending_.empty() && pending_.front().request_done && pending_.front().response_done) {
    sink_(pending_.front().exchange);
    pending_.pop_front();
    --responding_;
  }
}

void Http1Observer::end_of_stream(Direction d) {
  if (stop_ != ObserverStop::observing) return;
  if (d == Direction::to_client && response_reading_ == Reading::body &&
      response_body_.ends_at_close()) {
    response_ended();
  }
}

void Http1Observer::finish() {
  if (stop_ != ObserverStop::observing) return;
  for (Pending& p : pending_) {
    p.exchange.end = ExchangeEnd::incomplete;
    sink_(p.exchange);
  }
  pending_.clear();
  responding_ = 0;
}

void Http1Observer::stop(ObserverStop why) {
  stop_ = why;
  pending_.clear();
  responding_ = 0;
  request_head_.reset();
  response_head_.reset();
}

}  // namespace tlsgate::http
