// Reads [suggest] (DESIGN.md §7):
//   [suggest]
//   threshold = 3              # client rejects of one device, SNI and JA4 (or
//   window = "10m"             # validation failures of one host) within window
//   auto_bypass = false        # suggestions from client rejects bypass by themselves
//   auto_bypass_expiry = "1h"
//   retest_interval = "15m"    # while active, one flow per interval is inspected again
//   device_prefix_v4 = 32      # the device group a bypass is scoped to
//   device_prefix_v6 = 128
#pragma once

#include "config/gateway_config.h"
#include "config/section_reader.h"

namespace tlsgate::config {

void read_suggest_section(const SectionReader& r, SuggestSettings& out);

}  // namespace tlsgate::config
