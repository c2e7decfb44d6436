#include "icap/worker_client.h"

namespace tlsgate::icap {

namespace {
thread_local IcapRingClient* current = nullptr;
}  // namespace

WorkerClientBinding::WorkerClientBinding(IcapRingClient* client) : previous_(current) {
  current = client;
}

WorkerClientBinding::~WorkerClientBinding() {
  current = previous_;
}

IcapRingClient* worker_client() {
  return current;
}

}  // namespace tlsgate::icap
