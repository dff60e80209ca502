// Boost.Beast transport of relais-server. The only file of the server that
// includes Beast or Asio: everything protocol-related is in ServerSession.
//
// A connection: detect TLS (plain text gets a clear HTTP 400), TLS
// handshake, one HTTP request; an upgrade on /sync becomes a WebSocket
// session, anything else is answered (/healthz, /metrics) and closed. Each
// connection runs on its own strand, with one write in flight and a capped
// queue; the store is called from that strand.
#include "relais/server/net.h"

#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "relais/server/session.h"

namespace relais::server {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

constexpr std::size_t kMaxHttpRequestBytes = 64 * 1024;

// Errors that end a connection in the ordinary way: not worth a warning.
bool routine(const beast::error_code& ec) {
  return ec == net::error::operation_aborted || ec == websocket::error::closed ||
         ec == net::error::eof || ec == beast::error::timeout ||
         ec == ssl::error::stream_truncated || ec == net::error::connection_reset ||
         ec == http::error::end_of_stream;
}

}  // namespace

struct SyncServer::Impl {
  class Connection;

  Impl(NetConfig c, ServerStore& s, Logger& l, std::function<std::uint64_t()> bytes)
      : config(std::move(c)), store(s), log(l), store_bytes(std::move(bytes)) {}

  void accept();
  void shutdown();
  void watch_shutdown(std::chrono::steady_clock::time_point deadline);
  void broadcast(std::uint64_t from);
  void forget(std::uint64_t id);

  NetConfig config;
  ServerStore& store;
  Logger& log;
  std::function<std::uint64_t()> store_bytes;
  Metrics metrics;

  net::io_context ioc;
  ssl::context tls{ssl::context::tls_server};
  net::strand<net::io_context::executor_type> strand{net::make_strand(ioc)};
  tcp::acceptor acceptor{strand};
  std::optional<net::signal_set> signals;
  net::steady_timer shutdown_timer{strand};
  bool stopping = false;  // on `strand`

  std::mutex mu;
  std::unordered_map<std::uint64_t, std::weak_ptr<Connection>> connections;  // guarded by mu
  std::uint64_t next_id = 1;                                                 // on `strand`
};

class SyncServer::Impl::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Impl& server, tcp::socket socket, std::uint64_t id)
      : server_(server),
        ws_(std::move(socket), server.tls),
        session_(server.store, server.log, server.metrics, id),
        id_(id) {}

  ~Connection() {
    if (accepted_) --server_.metrics.connections_open;
    server_.forget(id_);
  }

  void start() {
    // Messages are small and each waits for an answer: Nagle's algorithm
    // would hold some back for tens of milliseconds.
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true), ignored);
    beast::get_lowest_layer(ws_).expires_after(server_.config.handshake_timeout);
    beast::async_detect_ssl(beast::get_lowest_layer(ws_), buffer_,
                            beast::bind_front_handler(&Connection::on_detect, shared_from_this()));
  }

  // Called on the connection's strand.
  void feed_advanced() {
    if (accepted_ && !closing_) handle(session_.on_feed_advanced());
  }

  void shutdown() {
    if (!accepted_) {
      beast::get_lowest_layer(ws_).cancel();
      return;
    }
    close_after_write_ = true;
    close_code_ = websocket::close_code::going_away;
    close_reason_ = "shutting_down";
    if (queue_.empty()) do_close();
  }

  net::any_io_executor executor() { return ws_.get_executor(); }

 private:
  void on_detect(beast::error_code ec, bool is_tls) {
    if (ec) return log_end("detect", ec);
    if (!is_tls) {
      server_.log.log(LogLevel::warn, "net", id_, "plain_text_refused");
      plain_ =
          "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n"
          "Content-Length: 67\r\n\r\n"
          "relais-server speaks TLS on this port: use wss:// or https:// here\n";
      net::async_write(beast::get_lowest_layer(ws_), net::buffer(plain_),
                       [self = shared_from_this()](beast::error_code, std::size_t) {
                         beast::error_code ignored;
                         beast::get_lowest_layer(self->ws_).socket().shutdown(
                             tcp::socket::shutdown_both, ignored);
                       });
      return;
    }
    ws_.next_layer().async_handshake(
        ssl::stream_base::server, buffer_.data(),
        beast::bind_front_handler(&Connection::on_tls, shared_from_this()));
  }

  void on_tls(beast::error_code ec, std::size_t used) {
    if (ec) return log_end("tls_handshake", ec);
    buffer_.consume(used);
    parser_.emplace();
    parser_->body_limit(kMaxHttpRequestBytes);
    http::async_read(ws_.next_layer(), buffer_, *parser_,
                     beast::bind_front_handler(&Connection::on_request, shared_from_this()));
  }

  void on_request(beast::error_code ec, std::size_t) {
    if (ec) return log_end("http_read", ec);
    auto req = parser_->release();
    if (websocket::is_upgrade(req) && req.target() == "/sync") return upgrade(std::move(req));
    answer_http(req);
  }

  void answer_http(const http::request<http::string_body>& req) {
    auto res = std::make_shared<http::response<http::string_body>>(http::status::ok, req.version());
    res->set(http::field::server, "relais-server");
    res->keep_alive(false);
    if (req.method() == http::verb::get && req.target() == "/healthz") {
      res->set(http::field::content_type, "application/json");
      res->body() = R"({"status":"ok","server":")" + server_.store.server_id() +
                    R"(","schema_version":)" + std::to_string(server_.store.schema().version()) +
                    R"(,"protocol":)" + std::to_string(sync::kProtocolVersion) + "}\n";
    } else if (req.method() == http::verb::get && req.target() == "/metrics") {
      res->set(http::field::content_type, "text/plain; version=0.0.4");
      res->body() = server_.metrics.render(server_.store_bytes());
    } else {
      res->result(http::status::not_found);
      res->set(http::field::content_type, "text/plain");
      res->body() = "not found: relais-server answers /sync (WebSocket), /healthz, /metrics\n";
    }
    res->prepare_payload();
    server_.log.log(
        LogLevel::debug, "http", id_, "request",
        {{"target", std::string(req.target())}, {"status", std::to_string(res->result_int())}});
    http::async_write(ws_.next_layer(), *res,
                      [self = shared_from_this(), res](beast::error_code, std::size_t) {
                        self->ws_.next_layer().async_shutdown([self](beast::error_code) {});
                      });
  }

  void upgrade(http::request<http::string_body> req) {
    beast::get_lowest_layer(ws_).expires_never();
    ws_.set_option(websocket::stream_base::timeout{server_.config.handshake_timeout,
                                                   server_.config.idle_timeout, true});
    ws_.read_message_max(server_.config.max_message_bytes);
    // Windows of 4 KiB rather than zlib's 32 KiB: each connection keeps its
    // compressor's state for as long as it stays connected, and a thousand
    // idle replicas would hold 130 KiB each; batches of JSON compress about
    // as well with the smaller window.
    websocket::permessage_deflate deflate;
    deflate.server_enable = true;
    deflate.server_max_window_bits = 12;
    deflate.client_max_window_bits = 12;
    ws_.set_option(deflate);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "relais-server"); }));
    ws_.async_accept(req, beast::bind_front_handler(&Connection::on_accept, shared_from_this()));
  }

  void on_accept(beast::error_code ec) {
    if (ec) return log_end("websocket_accept", ec);
    accepted_ = true;
    ++server_.metrics.connections_open;
    ++server_.metrics.connections_total;
    server_.log.log(
        LogLevel::info, "net", id_, "connected",
        {{"peer", beast::get_lowest_layer(ws_).socket().remote_endpoint().address().to_string()}});
    do_read();
  }

  void do_read() {
    ws_.async_read(read_buffer_,
                   beast::bind_front_handler(&Connection::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) {
      if (ec == websocket::error::message_too_big) {
        ++server_.metrics.protocol_errors;
        server_.log.log(LogLevel::warn, "net", id_, "message_too_big",
                        {{"limit", std::to_string(server_.config.max_message_bytes)}});
      }
      return log_end("read", ec);
    }
    const std::string text = beast::buffers_to_string(read_buffer_.data());
    read_buffer_.consume(read_buffer_.size());
    handle(session_.on_message(text));
    if (!closing_ && !close_after_write_) do_read();
  }

  void handle(SessionOutput out) {
    for (auto& m : out.messages) enqueue(std::move(m));
    if (out.committed) server_.broadcast(id_);
    if (out.more) want_resume_ = true;
    if (out.close) {
      close_after_write_ = true;
      close_code_ = websocket::close_code::policy_error;
      close_reason_ = out.close_reason;
      if (close_reason_ == "enrolled") close_code_ = websocket::close_code::normal;
    }
    if (queue_.empty() && !writing_) after_writes();
  }

  void enqueue(std::string message) {
    if (queue_.size() >= server_.config.max_queued_messages) {
      server_.log.log(LogLevel::warn, "net", id_, "slow_reader_disconnected",
                      {{"queued", std::to_string(queue_.size())}});
      queue_.clear();
      close_after_write_ = true;
      close_code_ = websocket::close_code::try_again_later;
      close_reason_ = "too_slow";
      return;
    }
    queue_.push_back(std::move(message));
    if (!writing_) do_write();
  }

  void do_write() {
    writing_ = true;
    ws_.text(true);
    ws_.async_write(net::buffer(queue_.front()),
                    beast::bind_front_handler(&Connection::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    writing_ = false;
    if (ec) return log_end("write", ec);
    queue_.pop_front();
    if (!queue_.empty()) return do_write();
    after_writes();
  }

  // The queue is empty: close if asked, else continue a pull in progress.
  void after_writes() {
    if (close_after_write_) return do_close();
    if (want_resume_) {
      want_resume_ = false;
      handle(session_.resume());
    }
  }

  void do_close() {
    if (closing_) return;
    closing_ = true;
    ws_.async_close(websocket::close_reason(close_code_, close_reason_),
                    [self = shared_from_this()](beast::error_code ec) {
                      if (ec) self->log_end("close", ec);
                    });
  }

  void log_end(std::string_view where, const beast::error_code& ec) {
    const bool quiet = routine(ec);
    server_.log.log(quiet ? LogLevel::debug : LogLevel::info, "net", id_, "connection_ended",
                    {{"during", std::string(where)}, {"reason", ec.message()}});
  }

  Impl& server_;
  websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws_;
  ServerSession session_;
  std::uint64_t id_;
  beast::flat_buffer buffer_;
  beast::flat_buffer read_buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string plain_;
  std::deque<std::string> queue_;
  bool writing_ = false;
  bool accepted_ = false;
  bool closing_ = false;
  bool close_after_write_ = false;
  bool want_resume_ = false;
  websocket::close_code close_code_ = websocket::close_code::normal;
  std::string close_reason_;
};

void SyncServer::Impl::accept() {
  acceptor.async_accept(
      net::make_strand(ioc),
      net::bind_executor(strand, [this](beast::error_code ec, tcp::socket socket) {
        if (stopping) return;
        if (ec) {
          log.log(LogLevel::warn, "net", 0, "accept_failed", {{"reason", ec.message()}});
        } else {
          const std::uint64_t id = next_id++;
          auto c = std::make_shared<Connection>(*this, std::move(socket), id);
          {
            std::lock_guard lock(mu);
            connections[id] = c;
          }
          net::dispatch(c->executor(), [c] { c->start(); });
        }
        accept();
      }));
}

void SyncServer::Impl::broadcast(std::uint64_t from) {
  std::vector<std::shared_ptr<Connection>> live;
  {
    std::lock_guard lock(mu);
    for (auto& [id, weak] : connections)
      if (id != from)
        if (auto c = weak.lock()) live.push_back(std::move(c));
  }
  for (auto& c : live) net::post(c->executor(), [c] { c->feed_advanced(); });
}

void SyncServer::Impl::forget(std::uint64_t id) {
  std::lock_guard lock(mu);
  connections.erase(id);
}

void SyncServer::Impl::shutdown() {
  if (stopping) return;
  stopping = true;
  log.log(LogLevel::info, "server", 0, "shutting_down");
  beast::error_code ignored;
  acceptor.close(ignored);
  if (signals) signals->cancel();
  std::vector<std::shared_ptr<Connection>> all;
  {
    std::lock_guard lock(mu);
    for (auto& [id, weak] : connections)
      if (auto c = weak.lock()) all.push_back(std::move(c));
  }
  for (auto& c : all) net::post(c->executor(), [c] { c->shutdown(); });
  watch_shutdown(std::chrono::steady_clock::now() + config.shutdown_grace);
}

// Polls until every connection is gone or the grace period is over.
void SyncServer::Impl::watch_shutdown(std::chrono::steady_clock::time_point deadline) {
  bool empty;
  {
    std::lock_guard lock(mu);
    empty = connections.empty();
  }
  if (empty || std::chrono::steady_clock::now() >= deadline) {
    if (!empty) log.log(LogLevel::warn, "server", 0, "shutdown_grace_expired");
    ioc.stop();
    return;
  }
  shutdown_timer.expires_after(std::chrono::milliseconds(20));
  shutdown_timer.async_wait([this, deadline](beast::error_code) { watch_shutdown(deadline); });
}

SyncServer::SyncServer(NetConfig config, ServerStore& store, Logger& log,
                       std::function<std::uint64_t()> store_bytes)
    : impl_(std::make_unique<Impl>(std::move(config), store, log, std::move(store_bytes))) {}

SyncServer::~SyncServer() = default;

Status SyncServer::listen() {
  auto& i = *impl_;
  beast::error_code ec;
  i.tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                    ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  i.tls.use_certificate_chain_file(i.config.cert_file, ec);
  if (ec)
    return make_error(Errc::store_io,
                      "cannot load the certificate '" + i.config.cert_file + "': " + ec.message());
  i.tls.use_private_key_file(i.config.key_file, ssl::context::pem, ec);
  if (ec)
    return make_error(Errc::store_io,
                      "cannot load the private key '" + i.config.key_file + "': " + ec.message());
  const auto address = net::ip::make_address(i.config.address, ec);
  if (ec)
    return make_error(Errc::invalid_argument, "bad listen address '" + i.config.address + "'");
  const tcp::endpoint endpoint(address, i.config.port);
  i.acceptor.open(endpoint.protocol(), ec);
  if (!ec) i.acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) i.acceptor.bind(endpoint, ec);
  if (!ec) i.acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return make_error(Errc::store_io, "cannot listen on " + i.config.address + ":" +
                                          std::to_string(i.config.port) + ": " + ec.message());
  return Status::Ok();
}

std::uint16_t SyncServer::port() const {
  return impl_->acceptor.local_endpoint().port();
}

void SyncServer::run(bool handle_signals) {
  auto& i = *impl_;
  if (handle_signals) {
    i.signals.emplace(i.strand, SIGINT, SIGTERM);
    i.signals->async_wait([&i](beast::error_code ec, int signal) {
      if (ec) return;
      i.log.log(LogLevel::info, "server", 0, "signal", {{"signal", std::to_string(signal)}});
      i.shutdown();
    });
  }
  net::post(i.strand, [&i] { i.accept(); });
  const unsigned n =
      i.config.threads ? i.config.threads : std::max(1u, std::thread::hardware_concurrency());
  i.log.log(LogLevel::info, "server", 0, "listening",
            {{"address", i.config.address},
             {"port", std::to_string(port())},
             {"threads", std::to_string(n)}});
  std::vector<std::thread> threads;
  for (unsigned t = 1; t < n; ++t) threads.emplace_back([&i] { i.ioc.run(); });
  i.ioc.run();
  for (auto& t : threads) t.join();
  i.log.log(LogLevel::info, "server", 0, "stopped");
}

void SyncServer::stop() {
  net::post(impl_->strand, [i = impl_.get()] { i->shutdown(); });
}

Metrics& SyncServer::metrics() {
  return impl_->metrics;
}

}  // namespace relais::server
