// Which ICAP client the calling worker thread owns. The filter factory is
// shared by all workers and makes a flow's filter on the worker that runs
// the flow; the filter then scans with that worker's client, on its ring.
#pragma once

#include "icap/icap_ring_client.h"

namespace tlsgate::icap {

// Binds `client` to the current thread for the binding's lifetime (the
// worker holds one while it runs).
class WorkerClientBinding {
 public:
  explicit WorkerClientBinding(IcapRingClient* client);
  ~WorkerClientBinding();
  WorkerClientBinding(const WorkerClientBinding&) = delete;
  WorkerClientBinding& operator=(const WorkerClientBinding&) = delete;

 private:
  IcapRingClient* previous_;
};

// The current thread's client; null on a thread without one.
IcapRingClient* worker_client();

}  // namespace tlsgate::icap
