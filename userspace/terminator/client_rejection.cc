#include "terminator/client_rejection.h"

#include <openssl/err.h>

namespace tlsgate::terminator {
namespace {

// The alerts with which clients refuse a certificate chain they do not trust.
constexpr uint8_t kBadCertificate = 42;
constexpr uint8_t kUnsupportedCertificate = 43;
constexpr uint8_t kCertificateUnknown = 46;
constexpr uint8_t kUnknownCa = 48;
constexpr uint8_t kAccessDenied = 49;

bool rejects_certificate(int alert) {
  return alert == kBadCertificate || alert == kUnsupportedCertificate ||
         alert == kCertificateUnknown || alert == kUnknownCa || alert == kAccessDenied;
}

// A received alert is reported as reason SSL_AD_REASON_OFFSET + description.
std::optional<uint8_t> received_alert(unsigned long error) {
  if (error == 0 || ERR_GET_LIB(error) != ERR_LIB_SSL) return std::nullopt;
  const int reason = ERR_GET_REASON(error);
  if (reason < SSL_AD_REASON_OFFSET || reason > SSL_AD_REASON_OFFSET + 255) return std::nullopt;
  return static_cast<uint8_t>(reason - SSL_AD_REASON_OFFSET);
}

}  // namespace

std::string ClientRejection::to_string() const {
  if (kind == Kind::closed_after_certificate) return "closed_after_certificate";
  switch (alert) {
    case kBadCertificate:
      return "alert:bad_certificate";
    case kUnsupportedCertificate:
      return "alert:unsupported_certificate";
    case kCertificateUnknown:
      return "alert:certificate_unknown";
    case kUnknownCa:
      return "alert:unknown_ca";
    case kAccessDenied:
      return "alert:access_denied";
    default:
      return "alert:" + std::to_string(alert);
  }
}

bool certificate_sent(const SSL* ssl) {
  if (ssl == nullptr || SSL_session_reused(const_cast<SSL*>(ssl)) == 1) return false;
  switch (SSL_get_state(ssl)) {
    // TLS 1.2: after Certificate, the rest of our flight and the client's answer.
    case TLS_ST_SW_CERT_STATUS:
    case TLS_ST_SW_KEY_EXCH:
    case TLS_ST_SW_CERT_REQ:
    case TLS_ST_SW_SRVR_DONE:
    case TLS_ST_SR_CERT:
    case TLS_ST_SR_KEY_EXCH:
    case TLS_ST_SR_CERT_VRFY:
    case TLS_ST_SR_NEXT_PROTO:
    case TLS_ST_SR_CHANGE:
    case TLS_ST_SR_FINISHED:
    // TLS 1.3: CertificateVerify and Finished follow Certificate in one flight.
    case TLS_ST_SW_CERT_VRFY:
    case TLS_ST_SW_FINISHED:
    case TLS_ST_EARLY_DATA:
    case TLS_ST_SR_END_OF_EARLY_DATA:
      return true;
    default:
      return false;
  }
}

std::optional<ClientRejection> classify_client_rejection(SSL* ssl, int ssl_ret, bool eof) {
  if (eof) {
    if (!certificate_sent(ssl)) return std::nullopt;
    return ClientRejection{ClientRejection::Kind::closed_after_certificate, 0};
  }
  if (SSL_get_error(ssl, ssl_ret) != SSL_ERROR_SSL) return std::nullopt;
  for (unsigned long error : {ERR_peek_error(), ERR_peek_last_error()}) {
    if (auto alert = received_alert(error); alert && rejects_certificate(*alert)) {
      return ClientRejection{ClientRejection::Kind::alert, *alert};
    }
  }
  return std::nullopt;
}

ClientRejection classify_client_close_after_handshake(bool ssl_error) {
  if (ssl_error) {
    for (unsigned long error : {ERR_peek_error(), ERR_peek_last_error()}) {
      if (auto alert = received_alert(error)) return {ClientRejection::Kind::alert, *alert};
    }
  }
  return {ClientRejection::Kind::closed_after_certificate, 0};
}

}  // namespace tlsgate::terminator
