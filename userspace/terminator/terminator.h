// The userspace data path: one Worker per core, each with its own listeners,
// io_uring and connections (DESIGN.md §3).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "terminator/terminator_context.h"
#include "terminator/worker.h"

namespace tlsgate::terminator {

class Terminator {
 public:
  // Opens every worker's listeners (so that steering finds them as soon as the
  // kernel side is installed); throws std::runtime_error when it cannot.
  explicit Terminator(const TerminatorContext& ctx);
  ~Terminator();

  void start();
  void stop();  // ends every flow (flow events are written) and joins

  // Counter name -> value summed over workers.
  std::map<std::string, uint64_t> counters() const;

 private:
  const TerminatorContext& ctx_;
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace tlsgate::terminator
