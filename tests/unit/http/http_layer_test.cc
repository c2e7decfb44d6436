#include "http/http_layer.h"

#include <gtest/gtest.h>

#include <string>

#include "memory_port.h"

namespace tlsgate::http {
namespace {

using testing::bytes_of;
using testing::MemoryPort;

TEST(SniffProtocol, TheH2PrefaceAnHttp1RequestLineOrNeither) {
  EXPECT_EQ(sniff_protocol(bytes_of("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")), SniffedProtocol::h2);
  EXPECT_EQ(sniff_protocol(bytes_of("PRI * HTTP/2")), SniffedProtocol::need_more);
  EXPECT_EQ(sniff_protocol(bytes_of("GET / HTTP/1.1\r\n")), SniffedProtocol::http1);
  EXPECT_EQ(sniff_protocol(bytes_of("PRIX / HTTP/1.1")), SniffedProtocol::http1);
  EXPECT_EQ(sniff_protocol(bytes_of("M-SEARCH ")), SniffedProtocol::http1);
  EXPECT_EQ(sniff_protocol(bytes_of("GE")), SniffedProtocol::need_more);
  EXPECT_EQ(sniff_protocol(bytes_of("")), SniffedProtocol::need_more);
  EXPECT_EQ(sniff_protocol(bytes_of("\x16\x03\x01")), SniffedProtocol::not_http);
  EXPECT_EQ(sniff_protocol(bytes_of(" GET /")), SniffedProtocol::not_http);
  EXPECT_EQ(sniff_protocol(bytes_of("SSH-2.0-OpenSSH_9.6\r\n")), SniffedProtocol::not_http);
  EXPECT_EQ(sniff_protocol(bytes_of(std::string(40, 'A'))), SniffedProtocol::not_http);
}

TEST(HttpLayer, AFlowThatIsNotHttpIsRelayedAsItIsByDefault) {
  MemoryPort port;
  HttpLayer layer(port, "", {}, NonHttpMode::relay);
  EXPECT_FALSE(layer.relaying_raw());  // deciding
  layer.on_bytes(Peer::client, bytes_of("SSH-2.0-x\r\n"));
  EXPECT_TRUE(layer.relaying_raw());
  EXPECT_EQ(port.sent(Peer::upstream), "SSH-2.0-x\r\n");
  EXPECT_FALSE(port.refused);
}

TEST(HttpLayer, AFlowThatIsNotHttpIsRefusedWhenNonHttpIsBlock) {
  MemoryPort port;
  HttpLayer layer(port, "", {}, NonHttpMode::block);
  layer.on_bytes(Peer::client, bytes_of("\x01\x02 binary"));
  EXPECT_EQ(port.refused, "non_http_blocked");
  EXPECT_EQ(port.sent(Peer::upstream), "");
}

TEST(HttpLayer, AClientThatLeavesWithoutSayingAnythingIsNotRefused) {
  MemoryPort port;
  HttpLayer layer(port, "", {}, NonHttpMode::block);
  layer.on_end_of_stream(Peer::client);
  EXPECT_FALSE(port.refused);
  EXPECT_TRUE(port.has_ended(Peer::upstream));  // the end goes on
}

TEST(HttpLayer, AServerThatSpeaksFirstIsNotHttp) {
  MemoryPort port;
  HttpLayer layer(port, "", {}, NonHttpMode::relay);
  layer.on_bytes(Peer::upstream, bytes_of("* OK IMAP4rev1 ready\r\n"));
  EXPECT_TRUE(layer.relaying_raw());
  EXPECT_EQ(port.sent(Peer::client), "* OK IMAP4rev1 ready\r\n");
}

TEST(HttpLayer, AnAlpnOtherThanHttpIsNotHttp) {
  MemoryPort port;
  HttpLayer layer(port, "imap", {}, NonHttpMode::block);
  EXPECT_EQ(port.refused, "non_http_blocked");
}

TEST(HttpLayer, AnHttp1RequestSplitAcrossReadsReachesTheEngineWhole) {
  MemoryPort port;
  HttpLayer layer(port, "", {}, NonHttpMode::block);
  layer.on_bytes(Peer::client, bytes_of("GE"));
  EXPECT_EQ(port.sent(Peer::upstream), "");
  layer.on_bytes(Peer::client, bytes_of("T / HTTP/1.1\r\nHost: a.example\r\n\r\n"));
  EXPECT_FALSE(port.refused);
  EXPECT_STREQ(layer.protocol(), "http/1.1");
  EXPECT_EQ(port.sent(Peer::upstream), "GET / HTTP/1.1\r\nHost: a.example\r\n\r\n");
}

TEST(HttpLayer, TheProtocolChosenByTheClientsFirstBytesIsTheFlows) {
  MemoryPort h2_port;
  h2_port.flow_context.protocol.clear();
  HttpLayer h2(h2_port, "", {}, NonHttpMode::block);
  EXPECT_EQ(h2_port.flow().protocol, "");  // deciding
  h2.on_bytes(Peer::client, bytes_of("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
  EXPECT_STREQ(h2.protocol(), "h2");
  EXPECT_EQ(h2_port.flow().protocol, "h2");  // what filters and `http` events see

  MemoryPort h1_port;
  h1_port.flow_context.protocol.clear();
  HttpLayer h1(h1_port, "", {}, NonHttpMode::block);
  h1.on_bytes(Peer::client, bytes_of("GET / HTTP/1.1\r\nHost: a.example\r\n\r\n"));
  EXPECT_EQ(h1_port.flow().protocol, "http/1.1");
}

TEST(HttpLayer, TheProtocolNegotiatedByAlpnIsTheFlows) {
  MemoryPort port;
  port.flow_context.protocol.clear();
  HttpLayer layer(port, "h2", {}, NonHttpMode::block);
  EXPECT_EQ(port.flow().protocol, "h2");
}

}  // namespace
}  // namespace tlsgate::http
