// Reads a client's first flight until the whole ClientHello handshake message
// has arrived (it may span several TCP segments and several TLS records),
// bounded in size, and parses it with the same parser the kernel runs
// (bpf/parse_clienthello.h). Keeps every byte received so that the flight can
// be replayed to the upstream (bypass) or to our own TLS server (inspect).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "parse_clienthello.h"

namespace tlsgate::terminator {

class ClientHelloReader {
 public:
  enum class Status { need_more, complete, not_tls, malformed, too_large };

  explicit ClientHelloReader(size_t max_bytes) : max_bytes_(max_bytes) {}

  // Appends bytes from the client; returns where the reading stands. Once a
  // final status (anything but need_more) is returned, it stays.
  Status feed(std::span<const uint8_t> bytes);

  Status status() const { return status_; }
  // Everything the client sent so far, records and all.
  const std::vector<uint8_t>& raw() const { return raw_; }
  // Valid once status() == complete.
  const tg_hello_info& info() const { return info_; }
  // The SNI as normalized by the parser, empty when absent.
  std::string sni() const;
  // Protocols offered in the ALPN extension, in the client's order.
  std::vector<std::string> alpn_offered() const;
  // The ClientHello handshake message, its 4-byte header included; empty
  // unless complete (and after clear()).
  std::span<const uint8_t> message() const;

  // Releases the buffers once the flight has been handed on.
  void clear();

 private:
  Status parse_records();

  size_t max_bytes_;
  Status status_ = Status::need_more;
  std::vector<uint8_t> raw_;      // bytes as received
  size_t records_end_ = 0;        // raw_ offset after the last whole record consumed
  std::vector<uint8_t> message_;  // handshake message reassembled from record fragments
  tg_hello_info info_{};
};

}  // namespace tlsgate::terminator
