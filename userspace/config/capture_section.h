// Reads [capture] of tlsgate.toml: where rules' decrypted capture goes.
//   [capture]
//   directory = "/var/log/tlsgate/capture"
//   rotate_size = 104857600     # bytes; a new file past this size
//   rotate_age = "1h"           # or past this age
//   max_total = 1073741824      # bytes of the directory; oldest deleted first
//   file_mode = 0o600           # at most 0o640
//   owner = ""                  # user owning the files; "": the daemon's
#pragma once

#include "config/gateway_config.h"
#include "config/section_reader.h"

namespace tlsgate::config {

void read_capture_section(const SectionReader& r, CaptureSettings& out);

}  // namespace tlsgate::config
