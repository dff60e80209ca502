// The replica's network transport: a WebSocket over TLS to relais-server.
// It only moves messages; what to say is decided by a Conversation (the
// sync or enrollment state machines of relais/sync). All of Boost.Beast and
// Asio on the client side stay inside ws_client.cpp.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "relais/error.h"
#include "relais/sync/protocol.h"

namespace relais::transport {

struct Endpoint {
  std::string host;
  std::string port;
  std::string target;  // path of the WebSocket, "/sync"
};

// Parses "wss://host[:port][/path]" (port 443 and path /sync by default).
Result<Endpoint> parse_url(std::string_view url);

// What a connection drives. Each call returns the messages to send next.
class Conversation {
 public:
  virtual ~Conversation() = default;
  virtual Result<std::vector<std::string>> opening() = 0;
  virtual Result<std::vector<std::string>> on_message(std::string_view text) = 0;
  // Called every ClientOptions::tick while connected.
  virtual Result<std::vector<std::string>> on_tick() { return std::vector<std::string>(); }
  // True once the connection can be closed.
  virtual bool finished() const = 0;
};

struct ClientOptions {
  /// PEM file of the certificate authorities to trust (a self-signed server
  /// certificate works too); empty: the system's. Default empty.
  std::string ca_file;
  /// Time for TCP, TLS and WebSocket handshakes, in ms. Default 10 s.
  std::chrono::milliseconds connect_timeout{10000};
  /// Server silent this long (no message, no pong) ends the connection, in
  /// ms; pings go out at half this period. Default 30 s.
  std::chrono::milliseconds idle_timeout{30000};
  /// Period of Conversation::on_tick, in ms: how soon a live session sends
  /// an edit made beside it. Default 50 ms.
  std::chrono::milliseconds tick{50};
  /// Largest message accepted from the server, in bytes.
  std::size_t max_message_bytes = sync::kMaxMessageBytes;
  /// When set to true, the connection closes cleanly at the next tick.
  const std::atomic<bool>* stop = nullptr;
};

// Connects to `url`, runs `conversation` until it is finished, fails, or
// `options.stop` is set, and closes the connection. Errors: Errc::network
// (unreachable, TLS refused, connection lost, server closed with a reason),
// or what the conversation returned.
Status converse(const std::string& url, Conversation& conversation, const ClientOptions& options);

}  // namespace relais::transport
