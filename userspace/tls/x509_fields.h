// Building blocks for the certificates tlsgate issues (its CA and forged
// leaves): keys, serials, validity, extensions. Internal to tls/.
#pragma once

#include <ctime>

#include "tls/openssl_handles.h"

namespace tlsgate::tls {

// Fresh EC key on a named curve ("P-256", "P-384").
EvpPkeyPtr generate_ec_key(const char* curve);

// The public half of `key`, in the form X509_set_pubkey encodes fastest:
// OpenSSL 3.0 encodes a provider key's SubjectPublicKeyInfo with its encoder
// and then decodes the result (~0.2 ms, most of a forged leaf's cost); a
// legacy EC key is encoded directly, to the same bytes. Other key types:
// `key` itself (up-ref'd).
EvpPkeyPtr public_key_for_certificates(EVP_PKEY* key);

// Random positive serial of exactly 16 bytes: 126 random bits, the top bit
// clear (positive) and the next one set (no leading zero byte to drop).
void set_random_serial(X509* cert);

void set_validity(X509* cert, time_t not_before, time_t not_after);
time_t to_time_t(const ASN1_TIME* t);

// RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits.
Asn1OctetStringPtr public_key_id(X509* cert);

// An extension from its OpenSSL config form ("critical,CA:TRUE,pathlen:0").
X509ExtensionPtr make_extension(int nid, const char* value);
X509ExtensionPtr make_subject_key_id(const ASN1_OCTET_STRING* key_id);
X509ExtensionPtr make_authority_key_id(const ASN1_OCTET_STRING* issuer_key_id);

// Adds a copy of `ext`.
void add_extension(X509* cert, const X509_EXTENSION* ext);

void sign_certificate(X509* cert, EVP_PKEY* issuer_key, const EVP_MD* md);

}  // namespace tlsgate::tls
