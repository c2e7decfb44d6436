// Test support: loading `text` must fail with ConfigError on `line`, with a
// message containing `fragment`.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "config/config_loader.h"

namespace tlsgate::config::test {

inline void expect_config_error(const std::string& text, int line, const std::string& fragment) {
  try {
    load_config_text(text, "gw.toml");
    ADD_FAILURE() << "loaded: " << text;
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.line(), line) << e.what();
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

}  // namespace tlsgate::config::test
