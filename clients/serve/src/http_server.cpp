// Boost.Beast transport of `relais serve`: the only file of the web server
// that includes Beast or Asio. Each connection is one coroutine on its own
// strand: (TLS handshake,) then requests read and answered one at a time,
// kept alive until the client closes, the idle timeout, or stop().
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>
#include <thread>

#include "relais/serve/http.h"

namespace relais::serve {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

constexpr std::size_t kMaxHeaderBytes = 16 * 1024;
constexpr std::chrono::seconds kHandshakeTimeout{10};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

}  // namespace

const std::string& HttpRequest::header(std::string_view name) const {
  static const std::string kNone;
  for (auto it = headers.rbegin(); it != headers.rend(); ++it)
    if (it->first == name) return it->second;
  return kNone;
}

struct HttpServer::Impl {
  Impl(HttpOptions o, HttpHandler h)
      : options(std::move(o)), handler(std::move(h)), io(static_cast<int>(options.threads)) {}

  net::awaitable<void> accept_loop();
  net::awaitable<void> session(tcp::socket socket);
  template <class Stream>
  net::awaitable<void> exchange(Stream& stream, bool tls, const std::string& peer);
  HttpResponse call_handler(HttpRequest& request);

  HttpOptions options;
  HttpHandler handler;
  net::io_context io;
  std::optional<ssl::context> tls;
  tcp::acceptor acceptor{io};
  std::vector<std::thread> threads;
  std::atomic<bool> stopping{false};
  std::atomic<int> busy{0};  // requests being handled now
  std::uint16_t port = 0;
};

HttpResponse HttpServer::Impl::call_handler(HttpRequest& request) {
  try {
    return handler(request);
  } catch (const std::exception&) {
    HttpResponse r;
    r.status = 500;
    r.headers.emplace_back("Content-Type", "application/json");
    r.body = R"({"error":{"code":602,"name":"server_internal","message":"internal error"}})";
    return r;
  }
}

net::awaitable<void> HttpServer::Impl::accept_loop() {
  for (;;) {
    beast::error_code ec;
    tcp::socket socket =
        co_await acceptor.async_accept(net::redirect_error(net::use_awaitable, ec));
    if (!acceptor.is_open() || stopping) co_return;
    if (ec) continue;
    net::co_spawn(net::make_strand(io), session(std::move(socket)), net::detached);
  }
}

net::awaitable<void> HttpServer::Impl::session(tcp::socket socket) {
  beast::error_code ec;
  const auto remote = socket.remote_endpoint(ec);
  const std::string peer = ec ? std::string() : remote.address().to_string();
  beast::tcp_stream stream(std::move(socket));
  if (!tls) {
    co_await exchange(stream, false, peer);
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    co_return;
  }
  beast::ssl_stream<beast::tcp_stream> secure(std::move(stream), *tls);
  beast::get_lowest_layer(secure).expires_after(kHandshakeTimeout);
  co_await secure.async_handshake(ssl::stream_base::server,
                                  net::redirect_error(net::use_awaitable, ec));
  if (ec) co_return;
  co_await exchange(secure, true, peer);
  beast::get_lowest_layer(secure).expires_after(kHandshakeTimeout);
  co_await secure.async_shutdown(net::redirect_error(net::use_awaitable, ec));
}

template <class Stream>
net::awaitable<void> HttpServer::Impl::exchange(Stream& stream, bool secure,
                                                const std::string& peer) {
  beast::flat_buffer buffer;
  while (!stopping) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(kMaxHeaderBytes);
    parser.body_limit(options.max_body_bytes);
    beast::get_lowest_layer(stream).expires_after(options.idle_timeout);
    beast::error_code ec;
    co_await http::async_read(stream, buffer, parser, net::redirect_error(net::use_awaitable, ec));
    HttpResponse out;
    bool keep_alive = false;
    unsigned version = 11;
    if (ec == http::error::body_limit || ec == http::error::header_limit) {
      out.status = ec == http::error::body_limit ? 413 : 431;
      out.headers.emplace_back("Content-Type", "application/json");
      out.body = R"({"error":{"code":111,"name":"too_large","message":"the request is larger )"
                 R"(than this server accepts"}})";
    } else if (ec) {
      co_return;  // closed, timed out or not HTTP: nothing to answer
    } else {
      auto& req = parser.get();
      version = req.version();
      keep_alive = req.keep_alive();
      HttpRequest request;
      request.method = std::string(req.method_string());
      const std::string_view target = req.target();
      const auto q = target.find('?');
      request.path = std::string(target.substr(0, q));
      if (q != std::string_view::npos) request.query = std::string(target.substr(q + 1));
      for (const auto& field : req)
        request.headers.emplace_back(lower(field.name_string()), std::string(field.value()));
      request.body = std::move(req.body());
      request.peer = peer;
      request.tls = secure;
      ++busy;
      out = call_handler(request);
      --busy;
    }
    http::response<http::string_body> res{static_cast<http::status>(out.status), version};
    res.set(http::field::server, "relais-serve");
    for (const auto& [name, value] : out.headers) res.insert(name, value);
    res.body() = std::move(out.body);
    res.keep_alive(keep_alive && !stopping);
    res.prepare_payload();
    beast::error_code wec;
    co_await http::async_write(stream, res, net::redirect_error(net::use_awaitable, wec));
    if (wec || !res.keep_alive()) co_return;
  }
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() {
  stop();
}

std::uint16_t HttpServer::port() const {
  return impl_->port;
}

Result<std::unique_ptr<HttpServer>> HttpServer::start(const HttpOptions& options,
                                                      HttpHandler handler) {
  auto impl = std::make_unique<Impl>(options, std::move(handler));
  if (options.cert_file.empty() != options.key_file.empty())
    return make_error(Errc::invalid_argument, "HTTPS needs both a certificate file and a key file");
  if (!options.cert_file.empty()) {
    impl->tls.emplace(ssl::context::tls_server);
    impl->tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                           ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                           ssl::context::no_tlsv1_1);
    beast::error_code ec;
    impl->tls->use_certificate_chain_file(options.cert_file, ec);
    if (ec)
      return make_error(Errc::invalid_argument,
                        "cannot load certificate '" + options.cert_file + "': " + ec.message());
    impl->tls->use_private_key_file(options.key_file, ssl::context::pem, ec);
    if (ec)
      return make_error(Errc::invalid_argument,
                        "cannot load key '" + options.key_file + "': " + ec.message());
  }
  beast::error_code ec;
  const auto address = net::ip::make_address(options.address, ec);
  if (ec)
    return make_error(Errc::invalid_argument, "'" + options.address + "' is not an IP address");
  const tcp::endpoint endpoint(address, options.port);
  auto& acceptor = impl->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return make_error(Errc::network, "cannot listen on " + options.address + ":" +
                                         std::to_string(options.port) + ": " + ec.message());
  impl->port = acceptor.local_endpoint().port();
  net::co_spawn(impl->io, impl->accept_loop(), net::detached);
  const unsigned n = std::max(1u, options.threads);
  for (unsigned i = 0; i < n; ++i) impl->threads.emplace_back([io = &impl->io] { io->run(); });
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

void HttpServer::stop() {
  if (!impl_ || impl_->stopping.exchange(true)) return;
  net::post(impl_->io, [impl = impl_.get()] {
    beast::error_code ec;
    impl->acceptor.close(ec);
  });
  // Requests being handled finish and their responses go out; idle
  // keep-alive connections are dropped with the io_context.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (impl_->busy > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  impl_->io.stop();
  for (auto& t : impl_->threads)
    if (t.joinable()) t.join();
}

}  // namespace relais::serve
