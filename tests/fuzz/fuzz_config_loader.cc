// libFuzzer target: the config loader on arbitrary text. A broken file must
// be refused with a ConfigError (file:line: problem), never anything else.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/config_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    (void)tlsgate::config::load_config_text(text, "fuzz.toml");
  } catch (const tlsgate::config::ConfigError&) {
    // the expected way to refuse
  }
  return 0;
}
