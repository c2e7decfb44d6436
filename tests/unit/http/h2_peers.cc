#include "h2_peers.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace tlsgate::http::testing {

namespace {

// Points into `headers`, which must outlive the result.
std::vector<nghttp2_nv> to_nv(const Headers& headers) {
  std::vector<nghttp2_nv> nv;
  for (const auto& [name, value] : headers) {
    nv.push_back({reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                  reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(),
                  value.size(), NGHTTP2_NV_FLAG_NONE});
  }
  return nv;
}

void check(int rv, const char* what) {
  if (rv < 0) throw std::runtime_error(std::string(what) + ": " + nghttp2_strerror(rv));
}

struct CallbacksDeleter {
  void operator()(nghttp2_session_callbacks* c) const { nghttp2_session_callbacks_del(c); }
};
struct OptionDeleter {
  void operator()(nghttp2_option* o) const { nghttp2_option_del(o); }
};

}  // namespace

H2Peers::H2Peers() : H2Peers(Options{}) {}

H2Peers::H2Peers(const Options& options) : options_(options) {
  nghttp2_session_callbacks* raw_callbacks = nullptr;
  check(nghttp2_session_callbacks_new(&raw_callbacks), "callbacks");
  std::unique_ptr<nghttp2_session_callbacks, CallbacksDeleter> callbacks(raw_callbacks);
  nghttp2_session_callbacks_set_on_header_callback(callbacks.get(), on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks.get(), on_frame_recv);
  if (options_.padding > 0) {
    nghttp2_session_callbacks_set_select_padding_callback(callbacks.get(), pad);
  }
  nghttp2_option* raw_option = nullptr;
  check(nghttp2_option_new(&raw_option), "option");
  std::unique_ptr<nghttp2_option, OptionDeleter> client_option(raw_option);
  if (options_.client_deflate_table > 0) {
    nghttp2_option_set_max_deflate_dynamic_table_size(client_option.get(),
                                                      options_.client_deflate_table);
  }
  nghttp2_session* session = nullptr;
  check(nghttp2_session_client_new2(&session, callbacks.get(), this, client_option.get()),
        "client");
  client_.reset(session);
  check(nghttp2_session_server_new(&session, callbacks.get(), this), "server");
  server_.reset(session);

  const nghttp2_settings_entry client_settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, options_.enable_push ? 1u : 0u}};
  check(nghttp2_submit_settings(client_.get(), NGHTTP2_FLAG_NONE, client_settings, 1),
        "client settings");
  std::vector<nghttp2_settings_entry> server_settings = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 1000}};
  if (options_.server_header_table > 0) {
    server_settings.push_back({NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, options_.server_header_table});
  }
  check(nghttp2_submit_settings(server_.get(), NGHTTP2_FLAG_NONE, server_settings.data(),
                                server_settings.size()),
        "server settings");
}

H2Peers::~H2Peers() = default;

int32_t H2Peers::request(const RequestPlan& r) {
  Headers headers = {
      {":method", r.method}, {":scheme", "https"}, {":authority", r.authority}, {":path", r.path}};
  headers.insert(headers.end(), r.headers.begin(), r.headers.end());
  const auto nv = to_nv(headers);
  nghttp2_data_provider body = body_of(r.body);
  const int32_t stream = nghttp2_submit_request(client_.get(), nullptr, nv.data(), nv.size(),
                                                r.body > 0 ? &body : nullptr, nullptr);
  check(stream, "submit_request");
  return stream;
}

void H2Peers::exchange() {
  for (int round = 0; round < 100000; ++round) {
    const bool to_server = send(client_.get(), server_.get(), Direction::to_server);
    const bool to_client = send(server_.get(), client_.get(), Direction::to_client);
    if (!to_server && !to_client) return;
  }
  ADD_FAILURE() << "the peers never went quiet";
}

bool H2Peers::send(nghttp2_session* from, nghttp2_session* to, Direction d) {
  std::string out;
  while (true) {
    const uint8_t* data = nullptr;
    const ssize_t n = nghttp2_session_mem_send(from, &data);
    check(static_cast<int>(std::min<ssize_t>(n, 0)), "mem_send");
    if (n == 0) break;
    out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
  }
  if (out.empty()) return false;
  const ssize_t used =
      nghttp2_session_mem_recv(to, reinterpret_cast<const uint8_t*>(out.data()), out.size());
  check(static_cast<int>(std::min<ssize_t>(used, 0)), "mem_recv");
  transcript.push_back({d, std::move(out)});
  return true;
}

int H2Peers::on_header(nghttp2_session* session, const nghttp2_frame* frame, const uint8_t* name,
                       size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void* self) {
  auto* peers = static_cast<H2Peers*>(self);
  if (session != peers->server_.get() || frame->hd.type != NGHTTP2_HEADERS) return 0;
  const std::string n(reinterpret_cast<const char*>(name), namelen);
  const std::string v(reinterpret_cast<const char*>(value), valuelen);
  auto& request = peers->requests_[frame->hd.stream_id];
  if (n == ":path") request.first = v;
  if (n == ":authority") request.second = v;
  return 0;
}

int H2Peers::on_frame_recv(nghttp2_session* session, const nghttp2_frame* frame, void* self) {
  auto* peers = static_cast<H2Peers*>(self);
  if (session != peers->server_.get()) return 0;
  const bool request_ended =
      (frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
      (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  if (request_ended) peers->respond(frame->hd.stream_id);
  return 0;
}

ssize_t H2Peers::pad(nghttp2_session*, const nghttp2_frame* frame, size_t max_payload, void* self) {
  const auto* peers = static_cast<H2Peers*>(self);
  return static_cast<ssize_t>(std::min(frame->hd.length + peers->options_.padding, max_payload));
}

ssize_t H2Peers::read_body(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* flags,
                           nghttp2_data_source* source, void*) {
  auto* left = static_cast<size_t*>(source->ptr);
  const size_t n = std::min(length, *left);
  std::memset(buf, 'b', n);
  *left -= n;
  if (*left == 0) *flags |= NGHTTP2_DATA_FLAG_EOF;
  return static_cast<ssize_t>(n);
}

nghttp2_data_provider H2Peers::body_of(size_t n) {
  bodies_.push_back(std::make_unique<size_t>(n));
  nghttp2_data_provider provider{};
  provider.source.ptr = bodies_.back().get();
  provider.read_callback = read_body;
  return provider;
}

void H2Peers::submit_response(int32_t stream, int status, size_t body) {
  const Headers headers = {{":status", std::to_string(status)}};
  const auto nv = to_nv(headers);  // points into `headers`
  nghttp2_data_provider provider = body_of(body);
  check(nghttp2_submit_response(server_.get(), stream, nv.data(), nv.size(),
                                body > 0 ? &provider : nullptr),
        "submit_response");
}

void H2Peers::respond(int32_t stream) {
  const auto [path, authority] = requests_[stream];
  auto it = plans_.find(path);
  const ResponsePlan plan = it == plans_.end() ? answer(404, 0) : it->second;
  for (int status : plan.interim) {
    const Headers headers = {{":status", std::to_string(status)}};
    const auto nv = to_nv(headers);
    check(nghttp2_submit_headers(server_.get(), NGHTTP2_FLAG_NONE, stream, nullptr, nv.data(),
                                 nv.size(), nullptr),
          "interim");
  }
  if (plan.reset) {
    check(nghttp2_submit_rst_stream(server_.get(), NGHTTP2_FLAG_NONE, stream, NGHTTP2_CANCEL),
          "rst_stream");
    return;
  }
  if (plan.push_path) {
    const Headers headers = {{":method", "GET"},
                             {":scheme", "https"},
                             {":authority", authority},
                             {":path", *plan.push_path}};
    const auto nv = to_nv(headers);
    const int32_t promised = nghttp2_submit_push_promise(server_.get(), NGHTTP2_FLAG_NONE, stream,
                                                         nv.data(), nv.size(), nullptr);
    check(promised, "push_promise");
    submit_response(promised, 200, plan.push_body);
  }
  submit_response(stream, plan.status, plan.body);
}

// ---------------------------------------------------------------- H2Wire

H2Wire::H2Wire() {
  for (auto& d : deflaters_) {
    nghttp2_hd_deflater* raw = nullptr;
    check(nghttp2_hd_deflate_new(&raw, 4096), "deflater");
    d.reset(raw);
  }
}

std::string H2Wire::preface() {
  return NGHTTP2_CLIENT_MAGIC;
}

std::string H2Wire::frame(uint8_t type, uint8_t flags, uint32_t stream, std::string_view payload) {
  const auto length = static_cast<uint32_t>(payload.size());
  std::string f = {static_cast<char>(length >> 16), static_cast<char>(length >> 8),
                   static_cast<char>(length),       static_cast<char>(type),
                   static_cast<char>(flags),        static_cast<char>(stream >> 24),
                   static_cast<char>(stream >> 16), static_cast<char>(stream >> 8),
                   static_cast<char>(stream)};
  f.append(payload);
  return f;
}

std::string H2Wire::settings(const std::vector<std::pair<uint16_t, uint32_t>>& entries) {
  std::string payload;
  for (const auto& [id, value] : entries) {
    payload += {static_cast<char>(id >> 8),     static_cast<char>(id),
                static_cast<char>(value >> 24), static_cast<char>(value >> 16),
                static_cast<char>(value >> 8),  static_cast<char>(value)};
  }
  return frame(NGHTTP2_SETTINGS, 0, 0, payload);
}

std::string H2Wire::data(uint32_t stream, uint8_t flags, size_t length) {
  return frame(NGHTTP2_DATA, flags, stream, std::string(length, 'd'));
}

std::string H2Wire::rst(uint32_t stream) {
  return frame(NGHTTP2_RST_STREAM, 0, stream, std::string("\0\0\0\x08", 4));
}

std::string H2Wire::block(Direction d, const Headers& headers) {
  auto* deflater = deflaters_[d == Direction::to_server ? 0 : 1].get();
  const auto nv = to_nv(headers);
  std::string out(nghttp2_hd_deflate_bound(deflater, nv.data(), nv.size()), '\0');
  const ssize_t n = nghttp2_hd_deflate_hd(deflater, reinterpret_cast<uint8_t*>(out.data()),
                                          out.size(), nv.data(), nv.size());
  check(static_cast<int>(std::min<ssize_t>(n, 0)), "deflate");
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string H2Wire::headers(Direction d, uint32_t stream, uint8_t flags, const Headers& headers) {
  return frame(NGHTTP2_HEADERS, static_cast<uint8_t>(flags | NGHTTP2_FLAG_END_HEADERS), stream,
               block(d, headers));
}

}  // namespace tlsgate::http::testing
