// The steering program's cost per packet, printed as a table (bench only).
#pragma once

struct steer;

namespace tlsgate::bench {

// Configures the loaded object's maps for the cases and prints one row per
// packet kind; false (with a message on stderr) when a run fails.
bool print_steer_packet_costs(steer* skel);

}  // namespace tlsgate::bench
