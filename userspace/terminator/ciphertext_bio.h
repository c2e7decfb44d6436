// The BIOs between a connection's SSL objects and its io_uring buffers
// (DESIGN.md §3: the SSL never touches a socket). Unlike memory BIOs they
// neither copy every byte nor keep buffers once idle:
//  - the read BIO reads the received ciphertext straight from the provided
//    buffer it was lent; only what the SSL left unread when the loan ends is
//    copied, and that copy is freed as soon as it has been read;
//  - the write BIO appends straight to the side's OutboundQueue.
#pragma once

#include <openssl/bio.h>
#include <openssl/ssl.h>

#include <cstdint>
#include <span>

#include "terminator/outbound_queue.h"

namespace tlsgate::terminator {

// A read BIO (empty: reads report "retry"); null on allocation failure.
BIO* new_ciphertext_in_bio();
// A write BIO appending to `out`, which must outlive the BIO.
BIO* new_ciphertext_out_bio(OutboundQueue& out);

// Lends `bytes` to the read BIO of `ssl` until this object ends; whatever the
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

// Copies `bytes` into the read BIO of `ssl` (bytes that do not outlive the call).
void give_ciphertext(SSL* ssl, std::span<const uint8_t> bytes);

}  // namespace tlsgate::terminator
