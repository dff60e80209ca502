// The HTTP side of `relais serve`: a small HTTP/1.1 server (HTTPS when a
// certificate is configured) that hands each request to a handler and sends
// back what it returns. It only moves bytes; the API is in relais/serve/api.h.
// All of Boost.Beast and Asio for the web server stay inside http_server.cpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "relais/error.h"

namespace relais::serve {

struct HttpRequest {
  std::string method;  // GET, POST, PATCH, DELETE...
  std::string path;    // the target up to '?', still percent-encoded
  std::string query;   // after '?', still percent-encoded
  // Header fields by lower-case name (the last one wins if repeated).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string peer;  // the client's IP address
  bool tls = false;

  // The value of header `name` (lower case), or "".
  const std::string& header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// Called on one of the server's threads, concurrently for different
// connections: it must be thread-safe.
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpOptions {
  /// Address to listen on. Default 127.0.0.1: this machine only.
  std::string address = "127.0.0.1";
  /// TCP port; 0 picks a free one. Default 8080.
  std::uint16_t port = 8080;
  /// PEM certificate chain and key: both set, the server speaks HTTPS only.
  std::string cert_file;
  std::string key_file;
  /// Largest request body, in bytes. Default 1 MiB.
  std::size_t max_body_bytes = 1 << 20;
  /// A connection with no complete request for this long is closed. Default 30 s.
  std::chrono::milliseconds idle_timeout{30000};
  /// Threads serving requests. Default 4.
  unsigned threads = 4;
};

class HttpServer {
 public:
  // Binds the port and starts serving on background threads. Errors name
  // the address or the certificate file at fault.
  static Result<std::unique_ptr<HttpServer>> start(const HttpOptions& options, HttpHandler handler);
  ~HttpServer();  // stop()s
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  std::uint16_t port() const;
  // Stops accepting, closes connections once their current response is
  // sent, and joins the threads. Idempotent.
  void stop();

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace relais::serve
