// A stand-in for the terminator's listener: bound to 127.0.0.1 or ::1 on the
// listen port with IP_TRANSPARENT and SO_REUSEPORT, as the terminator binds.
#pragma once

#include <cstdint>

#include "common/unique_fd.h"

namespace tlsgate::test {

UniqueFd transparent_listener(int family, uint16_t port);

}  // namespace tlsgate::test
