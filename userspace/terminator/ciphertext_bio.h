// The BIO between a connection's SSL object and its io_uring buffers
// (DESIGN.md §3: the SSL never touches a socket). Unlike memory BIOs it
// neither copies every byte nor keeps buffers once idle:
//  - reading, it takes the received ciphertext straight from the provided
//    buffer it was lent; only what the SSL left unread when the loan ends is
//    copied, and that copy is freed as soon as it has been read;
//  - writing, it appends straight to the side's OutboundQueue.
// One BIO is both the SSL's read and its write BIO: a pair per SSL would
// cost every idle connection ~0.4 KiB more (bench/RESULTS.md, memory).
#pragma once

#include <openssl/bio.h>
#include <openssl/ssl.h>

#include <cstdint>
#include <span>

#include "terminator/outbound_queue.h"

namespace tlsgate::terminator {

// A BIO for SSL_set_bio(ssl, bio, bio): reads what was lent or given (empty:
// reads report "retry"), writes append to `out`, which must outlive the BIO.
// Null on allocation failure.
BIO* new_ciphertext_bio(OutboundQueue& out);

// Lends `bytes` to the BIO of `ssl` until this object ends; whatever the
// SSL has not read by then is copied and read first next time. The BIO is
// held (up-ref'd) for the loan, so the SSL may be freed meanwhile.
class LentCiphertext {
 public:
  LentCiphertext(SSL* ssl, std::span<const uint8_t> bytes);
  ~LentCiphertext();
  LentCiphertext(const LentCiphertext&) = delete;
  LentCiphertext& operator=(const LentCiphertext&) = delete;

 private:
  BIO* bio_ = nullptr;
};

// Copies `bytes` into the BIO of `ssl` (bytes that do not outlive the call).
void give_ciphertext(SSL* ssl, std::span<const uint8_t> bytes);

}  // namespace tlsgate::terminator
