// HPACK (RFC 7541) for one direction of an observed HTTP/2 connection: every
// header block of that direction must pass through it, in order, to keep
// its dynamic table in step with the peer's encoder. nghttp2's inflater
// decodes; fragments are fed as they arrive, without gathering the block.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>

namespace tlsgate::http {

class HpackBlockDecoder {
 public:
  // The largest dynamic table followed; a peer allowing more makes the
  // observer stop once an encoder uses it.
  static constexpr size_t kMaxTable = 64 * 1024;

  using FieldFn = std::function<void(std::string_view name, std::string_view value)>;

  // Throws std::bad_alloc when nghttp2 cannot allocate.
  HpackBlockDecoder();

  // The decoding side announced SETTINGS_HEADER_TABLE_SIZE = `size`. Only
  // ever raises the bound (the encoder may use the new size once it saw it;
  // the observer cannot tell when), up to kMaxTable; applied between blocks.
  void allow_table_size(uint32_t size);

  // Decodes part of a block; `field` is called for each header in it.
  // false: the block is not valid HPACK (or uses more than we follow).
  bool decode(std::span<const uint8_t> fragment, const FieldFn& field);
  // The block ended (END_HEADERS).
  bool end_block(const FieldFn& field);

 private:
  struct InflaterDeleter {
    void operator()(nghttp2_hd_inflater* i) const { nghttp2_hd_inflate_del(i); }
  };

  bool inflate(std::span<const uint8_t> in, bool final, const FieldFn& field);

  std::unique_ptr<nghttp2_hd_inflater, InflaterDeleter> inflater_;
  bool in_block_ = false;
  size_t allowed_ = 4096;  // RFC 7541's initial size
  size_t applied_ = 4096;
};

}  // namespace tlsgate::http
