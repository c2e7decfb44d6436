#include "daemon/kernel_counter_names.h"

#include "tlsgate_abi.h"

namespace tlsgate::daemon {

std::string kernel_counter_name(size_t index) {
  switch (static_cast<tg_counter>(index)) {
    case TG_CNT_PACKETS:
      return "packets";
    case TG_CNT_SYN_SEEN:
      return "syn_seen";
    case TG_CNT_STEERED_FLOWS:
      return "steered_flows";
    case TG_CNT_STEERED_PACKETS:
      return "steered_packets";
    case TG_CNT_BYPASS_CLIENT:
      return "bypass_client_flows";
    case TG_CNT_BYPASS_DST:
      return "bypass_dst_flows";
    case TG_CNT_BYPASS_PACKETS:
      return "bypass_packets";
    case TG_CNT_NO_LISTENER:
      return "no_listener";
    case TG_CNT_FAIL_CLOSED_RESETS:
      return "fail_closed_resets";
    case TG_CNT_ASSIGN_ERRORS:
      return "assign_errors";
    case TG_CNT_FRAGMENTS_DROPPED:
      return "fragments_dropped";
    case TG_CNT_LEARNED_FLOWS:
      return "learned_flows";
    case TG_CNT_SNI_VERIFIED:
      return "sni_verified";
    case TG_CNT_SNI_RESETS:
      return "sni_resets";
    case TG_CNT_NFQUEUE_FLOWS:
      return "nfqueue_flows";
    case TG_CNT_NFQUEUE_PACKETS:
      return "nfqueue_packets";
    case TG_CNT_RESET_REPLIES:
      return "reset_replies";
    case TG_CNT_QUIC_REFUSED:
      return "quic_refused";
    case TG_CNT_DECISIONS_DROPPED:
      return "decision_records_dropped";
    default:
      break;
  }
  return "counter_" + std::to_string(index);
}

}  // namespace tlsgate::daemon
