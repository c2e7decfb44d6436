// The bytes of one h2 message body on their way from one session to the
// other: what one side's DATA frames brought and the other side's session
// has not taken yet, then the trailers and the end. What it holds is bounded
// by the flow-control window the receiving session advertises, because the
// receiving side consumes (reopens its window) only what the other side took.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "http/message.h"

namespace tlsgate::http {

class H2BodyQueue {
 public:
  void append(std::span<const uint8_t> bytes) {
    bytes_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
  void append(std::string_view bytes) { bytes_.append(bytes); }
  // Bytes at the front whose sender was already told they were consumed
  // (held for the filters first): taking them reopens no window.
  void append_prepaid(std::string_view bytes) {
    append(bytes);
    prepaid_ += bytes.size();
  }
  // Moves up to `out.size()` bytes into `out`; returns how many, and in
  // `unpaid` how many of them the sender must still be told were consumed.
  size_t take(std::span<uint8_t> out, size_t& unpaid);
  // Drops what is waiting; returns how many unpaid bytes it dropped.
  size_t discard();
  size_t size() const { return bytes_.size() - head_; }
  bool empty() const { return size() == 0; }

  bool ended = false;  // END_STREAM came (after the trailers, if any)
  HeaderList trailers;

 private:
  std::string bytes_;
  size_t head_ = 0;  // bytes_[0, head_) were taken
  size_t prepaid_ = 0;
};

}  // namespace tlsgate::http
