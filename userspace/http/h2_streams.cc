#include "http/h2_streams.h"

namespace tlsgate::http {

H2Stream* H2Streams::by_client(int32_t id) {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second.get();
}

H2Stream* H2Streams::by_upstream(int32_t id) {
  auto it = upstream_to_client_.find(id);
  return it == upstream_to_client_.end() ? nullptr : by_client(it->second);
}

H2Stream& H2Streams::add(int32_t client_id) {
  return *(streams_[client_id] = std::make_unique<H2Stream>(client_id));
}

void H2Streams::pair(H2Stream& s, int32_t upstream_id) {
  s.upstream_id = upstream_id;
  upstream_to_client_[upstream_id] = s.client_id;
}

std::unique_ptr<H2Stream> H2Streams::remove(int32_t client_id) {
  auto it = streams_.find(client_id);
  if (it == streams_.end()) return nullptr;
  std::unique_ptr<H2Stream> s = std::move(it->second);
  streams_.erase(it);
  if (s->upstream_id != 0) upstream_to_client_.erase(s->upstream_id);
  return s;
}

std::vector<int32_t> H2Streams::client_ids() const {
  std::vector<int32_t> ids;
  ids.reserve(streams_.size());
  for (const auto& [id, s] : streams_) ids.push_back(id);
  return ids;
}

}  // namespace tlsgate::http
