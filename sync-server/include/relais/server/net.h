// The network side of relais-server: WebSocket over TLS for the sync
// protocol on /sync, and HTTPS on the same port for /healthz and /metrics.
// All of Boost.Beast and Asio stay inside net.cpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "relais/error.h"
#include "relais/server/log.h"
#include "relais/server/metrics.h"
#include "relais/server/store.h"
#include "relais/sync/protocol.h"

namespace relais::server {

struct NetConfig {
  /// Address to listen on. Default 127.0.0.1: loopback only.
  std::string address = "127.0.0.1";
  /// TCP port; 0 picks a free one (see SyncServer::port()). Default 8443.
  std::uint16_t port = 8443;
  /// PEM certificate chain and private key of the server.
  std::string cert_file;
  std::string key_file;
  /// I/O threads; 0 means one per core. Default 0.
  unsigned threads = 0;
  /// Time allowed for TLS, HTTP and WebSocket handshakes, in ms. Default 10 s.
  std::chrono::milliseconds handshake_timeout{10000};
  /// A connection silent this long (no message, no pong) is closed, in ms.
  /// Pings go out at half this period. Default 60 s.
  std::chrono::milliseconds idle_timeout{60000};
  /// Largest WebSocket message accepted, in bytes. Default 32 MiB.
  std::size_t max_message_bytes = sync::kMaxMessageBytes;
  /// Messages queued for a slow reader before it is disconnected. Default 1024.
  std::size_t max_queued_messages = 1024;
  /// Time given to open connections to finish on shutdown, in ms. Default 5 s.
  std::chrono::milliseconds shutdown_grace{5000};
};

class SyncServer {
 public:
  // `store_bytes` reports the store's size for /metrics. All references must
  // outlive the server.
  SyncServer(NetConfig config, ServerStore& store, Logger& log,
             std::function<std::uint64_t()> store_bytes);
  ~SyncServer();

  // Loads the certificate and binds the port. Errors name the file or address.
  Status listen();
  // The bound port. REQUIRES: listen() succeeded.
  std::uint16_t port() const;
  // Serves until stop(), or SIGINT/SIGTERM when `handle_signals`; then stops
  // accepting, lets each connection finish the message it is handling (a
  // push is committed or rolled back whole), closes them and returns.
  void run(bool handle_signals);
  // Asks run() to shut down; safe from any thread.
  void stop();
  Metrics& metrics();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace relais::server
