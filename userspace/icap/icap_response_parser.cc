#include "icap/icap_response_parser.h"

#include <charconv>
#include <string_view>
#include <vector>

#include "icap/http_head_reader.h"

namespace tlsgate::icap {

namespace {

constexpr size_t kMaxChunkLine = 256;

struct Entity {
  std::string_view name;
  size_t offset;
};

// "req-hdr=0, res-hdr=137, res-body=296"; nullopt when malformed.
std::optional<std::vector<Entity>> parse_encapsulated(std::string_view value) {
  std::vector<Entity> out;
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    std::string_view name = item.substr(0, eq);
    std::string_view number = item.substr(eq + 1);
    size_t offset = 0;
    auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), offset);
    if (number.empty() || ec != std::errc() || end != number.data() + number.size()) {
      return std::nullopt;
    }
    out.push_back({name, offset});
  }
  if (out.empty()) return std::nullopt;
  return out;
}

bool is_body_entity(std::string_view n) {
  return n == "req-body" || n == "res-body" || n == "null-body" || n == "opt-body";
}

}  // namespace

void IcapResponseParser::reset() {
  status_ = Status::need_more;
  stage_ = Stage::icap_head;
  error_.clear();
  buf_.clear();
  response_ = {};
  heads_size_ = res_hdr_offset_ = 0;
  has_req_hdr_ = has_res_hdr_ = false;
  chunk_left_ = 0;
}

IcapResponseParser::Status IcapResponseParser::fail(std::string why) {
  error_ = std::move(why);
  status_ = Status::error;
  return status_;
}

IcapResponseParser::Status IcapResponseParser::feed(std::span<const uint8_t> in, size_t& used) {
  used = 0;
  if (status_ != Status::need_more) return status_;
  auto text = [&](size_t from) {
    return std::string_view(reinterpret_cast<const char*>(in.data()) + from, in.size() - from);
  };
  if (stage_ == Stage::icap_head) {
    // Gather through CRLF CRLF; look back 3 bytes across feeds.
    size_t search_from = buf_.size() >= 3 ? buf_.size() - 3 : 0;
    size_t room = kMaxHead - buf_.size();
    std::string_view chunk = text(0).substr(0, std::min(room + 1, in.size()));
    buf_.append(chunk);
    size_t end = buf_.find("\r\n\r\n", search_from);
    if (end == std::string::npos) {
      used = chunk.size();
      if (buf_.size() > kMaxHead) return fail("ICAP head longer than 64 KiB");
      if (buf_.size() >= 5 && buf_.compare(0, 5, "ICAP/") != 0) return fail("not an ICAP response");
      return status_;
    }
    size_t head_len = end + 4;
    used = chunk.size() - (buf_.size() - head_len);
    buf_.resize(head_len);
    if (on_icap_head() != Status::need_more) return status_;
  }
  while (status_ == Status::need_more && used < in.size()) {
    if (stage_ == Stage::http_heads) {
      size_t take = std::min(heads_size_ - buf_.size(), in.size() - used);
      buf_.append(text(used).substr(0, take));
      used += take;
      if (buf_.size() == heads_size_ && read_http_heads() != Status::need_more) return status_;
      continue;
    }
    size_t n = 0;
    feed_body(in.subspan(used), n);
    used += n;
  }
  return status_;
}

IcapResponseParser::Status IcapResponseParser::on_icap_head() {
  std::string_view head = buf_;
  size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  // "ICAP/1.0 204 Unmodified"
  if (line.size() < 12 || line.substr(0, 9) != "ICAP/1.0 " ||
      (line.size() > 12 && line[12] != ' ')) {
    return fail("malformed ICAP status line");
  }
  int status = 0;
  auto [end, ec] = std::from_chars(line.data() + 9, line.data() + 12, status);
  if (ec != std::errc() || end != line.data() + 12 || status < 100) {
    return fail("malformed ICAP status code");
  }
  response_.status = status;
  response_.reason = line.size() > 13 ? std::string(line.substr(13)) : std::string();
  if (!read_header_lines(head.substr(eol + 2), response_.headers)) {
    return fail("malformed ICAP header line");
  }
  buf_.clear();
  auto encapsulated = http::find_header(response_.headers, "encapsulated");
  // 100 and 204 carry no message; a response without Encapsulated neither.
  if (status == 100 || status == 204 || !encapsulated) {
    status_ = Status::done;
    return status_;
  }
  auto entities = parse_encapsulated(*encapsulated);
  if (!entities) return fail("malformed Encapsulated header");
  size_t previous = 0;
  for (size_t i = 0; i < entities->size(); ++i) {
    const Entity& e = (*entities)[i];
    bool last = i + 1 == entities->size();
    if ((i == 0 && e.offset != 0) || e.offset < previous) {
      return fail("Encapsulated offsets out of order");
    }
    previous = e.offset;
    if (e.name == "req-hdr" && !has_req_hdr_ && !has_res_hdr_ && !last) {
      has_req_hdr_ = true;
    } else if (e.name == "res-hdr" && !has_res_hdr_ && !last) {
      has_res_hdr_ = true;
      res_hdr_offset_ = e.offset;
    } else if (is_body_entity(e.name) && last) {
      heads_size_ = e.offset;
      response_.has_body = e.name != "null-body";
    } else {
      return fail("unexpected Encapsulated entity '" + std::string(e.name) + "'");
    }
  }
  if (heads_size_ > kMaxHead) return fail("encapsulated HTTP heads longer than 64 KiB");
  stage_ = heads_size_ > 0 ? Stage::http_heads : Stage::chunk_size;
  if (heads_size_ == 0) return read_http_heads();
  return status_;
}

IcapResponseParser::Status IcapResponseParser::read_http_heads() {
  std::string_view all = buf_;
  size_t req_end = has_res_hdr_ ? res_hdr_offset_ : heads_size_;
  if (has_req_hdr_) {
    response_.request = read_http_request_head(all.substr(0, req_end));
    if (!response_.request) return fail("malformed encapsulated HTTP request head");
  }
  if (has_res_hdr_) {
    response_.response = read_http_response_head(all.substr(res_hdr_offset_));
    if (!response_.response) return fail("malformed encapsulated HTTP response head");
  }
  buf_.clear();
  if (!response_.has_body) {
    status_ = Status::done;
    return status_;
  }
  stage_ = Stage::chunk_size;
  return status_;
}

IcapResponseParser::Status IcapResponseParser::feed_body(std::span<const uint8_t> in,
                                                         size_t& used) {
  used = 0;
  auto* p = reinterpret_cast<const char*>(in.data());
  while (status_ == Status::need_more && used < in.size()) {
    switch (stage_) {
      case Stage::chunk_size: {
        // "<hex>[;ext]\r\n"
        std::string_view rest(p + used, in.size() - used);
        size_t lf = rest.find('\n');
        size_t take = lf == std::string_view::npos ? rest.size() : lf + 1;
        buf_.append(rest.substr(0, take));
        used += take;
        if (buf_.size() > kMaxChunkLine) return fail("ICAP chunk size line too long");
        if (lf == std::string_view::npos) break;
        if (buf_.size() < 2 || buf_[buf_.size() - 2] != '\r') return fail("bare LF in chunk size");
        std::string_view line(buf_.data(), buf_.size() - 2);
        std::string_view size_text = line.substr(0, line.find(';'));
        while (!size_text.empty() && size_text.back() == ' ') size_text.remove_suffix(1);
        uint64_t size = 0;
        auto [end, ec] =
            std::from_chars(size_text.data(), size_text.data() + size_text.size(), size, 16);
        if (size_text.empty() || ec != std::errc() || end != size_text.data() + size_text.size()) {
          return fail("malformed ICAP chunk size");
        }
        buf_.clear();
        if (size == 0) {
          stage_ = Stage::last_chunk_end;
          break;
        }
        if (size > max_body_ - response_.body.size()) return fail("ICAP body over the limit");
        chunk_left_ = size;
        stage_ = Stage::chunk_data;
        break;
      }
      case Stage::chunk_data: {
        size_t take = static_cast<size_t>(std::min<uint64_t>(chunk_left_, in.size() - used));
        response_.body.append(p + used, take);
        used += take;
        chunk_left_ -= take;
        if (chunk_left_ == 0) stage_ = Stage::chunk_data_end;
        break;
      }
      case Stage::chunk_data_end:
      case Stage::last_chunk_end: {
        // CRLF after a chunk's data, or the empty line after the last chunk.
        buf_ += p[used++];
        if (buf_.size() < 2) break;
        if (buf_ != "\r\n") return fail("ICAP chunk not ended by CRLF");
        buf_.clear();
        if (stage_ == Stage::last_chunk_end) {
          status_ = Status::done;
        } else {
          stage_ = Stage::chunk_size;
        }
        break;
      }
      default:
        return fail("parser stage");
    }
  }
  return status_;
}

}  // namespace tlsgate::icap
