#include "terminator/client_hello_reader.h"

namespace tlsgate::terminator {

namespace {

constexpr size_t kRecordHeader = 5;
constexpr size_t kHandshakeHeader = 4;

}  // namespace

ClientHelloReader::Status ClientHelloReader::feed(std::span<const uint8_t> bytes) {
  if (status_ != Status::need_more) return status_;
  if (raw_.size() + bytes.size() > max_bytes_ + kRecordHeader * 4) {
    // Accept what fits so that the error is decided on real content below.
    bytes = bytes.first(std::min(bytes.size(), max_bytes_ + kRecordHeader * 4 - raw_.size()));
  }
  raw_.insert(raw_.end(), bytes.begin(), bytes.end());
  status_ = parse_records();
  return status_;
}

ClientHelloReader::Status ClientHelloReader::parse_records() {
  while (true) {
    const uint8_t* rec = raw_.data() + records_end_;
    auto available = static_cast<__u32>(raw_.size() - records_end_);
    __u32 fragment_len = 0;
    int rs = tg_parse_record_header(rec, available, &fragment_len);
    if (rs == TG_HELLO_NOT_CLIENT_HELLO) {
      // The very first byte decides "not TLS at all"; a later non-handshake
      // record in the middle of a ClientHello is a malformed flight.
      return records_end_ == 0 ? Status::not_tls : Status::malformed;
    }
    if (rs == TG_HELLO_NEED_MORE || available < kRecordHeader + fragment_len) {
      return raw_.size() >= max_bytes_ + kRecordHeader * 4 ? Status::too_large : Status::need_more;
    }
    if (fragment_len == 0) return Status::malformed;  // RFC 8446 §5.1: no empty handshake fragments
    message_.insert(message_.end(), rec + kRecordHeader, rec + kRecordHeader + fragment_len);
    records_end_ += kRecordHeader + fragment_len;

    if (message_.size() >= kHandshakeHeader) {
      size_t declared =
          (size_t{message_[1]} << 16 | size_t{message_[2]} << 8 | message_[3]) + kHandshakeHeader;
      if (message_[0] != 1)
        return Status::malformed;  // a first handshake message must be a ClientHello
      if (declared > max_bytes_) return Status::too_large;
      if (message_.size() >= declared) {
        info_ = {};
        int ps = tg_parse_client_hello(message_.data(), static_cast<__u32>(declared), &info_);
        switch (ps) {
          case TG_HELLO_OK:
            return Status::complete;
          case TG_HELLO_TOO_LARGE:
            return Status::too_large;
          case TG_HELLO_NOT_CLIENT_HELLO:
            return Status::not_tls;
          default:
            return Status::malformed;
        }
      }
    }
  }
}

std::string ClientHelloReader::sni() const {
  if (status_ != Status::complete || !info_.has_sni) return {};
  return std::string(info_.sni, info_.sni_len);
}

std::vector<std::string> ClientHelloReader::alpn_offered() const {
  std::vector<std::string> out;
  if (status_ != Status::complete || info_.alpn_len < 2) return out;
  size_t off = info_.alpn_off;
  size_t end = off + info_.alpn_len;
  if (end > message_.size()) return out;
  size_t list_len = size_t{message_[off]} << 8 | message_[off + 1];
  off += 2;
  end = std::min(end, off + list_len);
  while (off < end) {
    size_t n = message_[off++];
    if (n == 0 || off + n > end) break;
    out.emplace_back(reinterpret_cast<const char*>(message_.data() + off), n);
    off += n;
  }
  return out;
}

std::span<const uint8_t> ClientHelloReader::message() const {
  if (status_ != Status::complete) return {};
  return std::span<const uint8_t>(message_).first(std::min<size_t>(info_.msg_len, message_.size()));
}

void ClientHelloReader::clear() {
  std::vector<uint8_t>().swap(raw_);
  std::vector<uint8_t>().swap(message_);
}

}  // namespace tlsgate::terminator
