// Boost.Beast transport of the replica: the only client-side file that
// includes Beast or Asio. Async on a private io_context, so that reading the
// server, writing, and the conversation's tick never block one another.
#include "relais/transport/ws_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <deque>
#include <optional>

namespace relais::transport {
namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

Error network(std::string what, const beast::error_code& ec) {
  return make_error(Errc::network, what + ": " + ec.message());
}

class Client {
 public:
  Client(const Endpoint& ep, Conversation& conv, const ClientOptions& opt)
      : ep_(ep), conv_(conv), opt_(opt), resolver_(ioc_), timer_(ioc_) {}

  Status run() {
    if (Status s = configure_tls(); !s) return s;
    resolver_.async_resolve(ep_.host, ep_.port, [this](beast::error_code ec, auto results) {
      if (ec) return fail(network("cannot resolve " + ep_.host, ec));
      beast::get_lowest_layer(*ws_).expires_after(opt_.connect_timeout);
      beast::get_lowest_layer(*ws_).async_connect(
          results, [this](beast::error_code e, auto) { on_connect(e); });
    });
    ioc_.run();
    return result_;
  }

 private:
  Status configure_tls() {
    beast::error_code ec;
    tls_.set_verify_mode(ssl::verify_peer, ec);
    if (opt_.ca_file.empty())
      tls_.set_default_verify_paths(ec);
    else
      tls_.load_verify_file(opt_.ca_file, ec);
    if (ec) return network("cannot load the trusted certificates '" + opt_.ca_file + "'", ec);
    ws_.emplace(ioc_, tls_);
    // SSL_set_tlsext_host_name() is a macro with a C cast; this is its body.
    if (SSL_ctrl(ws_->next_layer().native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME,
                 TLSEXT_NAMETYPE_host_name, const_cast<char*>(ep_.host.c_str())) != 1)
      return make_error(Errc::network, "cannot set the TLS server name");
    ws_->next_layer().set_verify_callback(ssl::host_name_verification(ep_.host));
    return Status::Ok();
  }

  void on_connect(beast::error_code ec) {
    if (ec) return fail(network("cannot reach " + ep_.host + ":" + ep_.port, ec));
    // Small messages that each wait for an answer: no Nagle delay.
    beast::error_code ignored;
    beast::get_lowest_layer(*ws_).socket().set_option(tcp::no_delay(true), ignored);
    ws_->next_layer().async_handshake(ssl::stream_base::client, [this](beast::error_code e) {
      if (e)
        return fail(network("TLS handshake with " + ep_.host +
                                " failed (is the server "
                                "certificate trusted? see --ca)",
                            e));
      beast::get_lowest_layer(*ws_).expires_never();
      ws_->set_option(
          websocket::stream_base::timeout{opt_.connect_timeout, opt_.idle_timeout, true});
      ws_->read_message_max(opt_.max_message_bytes);
      websocket::permessage_deflate deflate;
      deflate.client_enable = true;
      ws_->set_option(deflate);
      ws_->async_handshake(ep_.host + ":" + ep_.port, ep_.target,
                           [this](beast::error_code h) { on_open(h); });
    });
  }

  void on_open(beast::error_code ec) {
    if (ec) return fail(network("WebSocket handshake on " + ep_.target + " failed", ec));
    open_ = true;
    if (!send(conv_.opening())) return;
    do_read();
    schedule_tick();
  }

  void do_read() {
    ws_->async_read(buffer_, [this](beast::error_code ec, std::size_t) {
      if (ec) return on_read_error(ec);
      const std::string text = beast::buffers_to_string(buffer_.data());
      buffer_.consume(buffer_.size());
      if (!send(conv_.on_message(text))) return;
      if (conv_.finished()) return close();
      do_read();
    });
  }

  void on_read_error(const beast::error_code& ec) {
    if (closing_ && (ec == websocket::error::closed || ec == net::error::operation_aborted))
      return finish();
    const auto& reason = ws_->reason();
    if (ec == websocket::error::closed && conv_.finished()) return finish();
    if (ec == websocket::error::closed && !reason.reason.empty())
      return fail(make_error(Errc::network, "the server closed the connection: " +
                                                std::string(reason.reason.c_str())));
    fail(network("connection to the server lost", ec));
  }

  void schedule_tick() {
    timer_.expires_after(opt_.tick);
    timer_.async_wait([this](beast::error_code ec) {
      if (ec || closing_) return;
      if (opt_.stop && opt_.stop->load()) return close();
      if (!send(conv_.on_tick())) return;
      schedule_tick();
    });
  }

  // Queues the conversation's messages; false if it failed (and the
  // connection is being torn down).
  bool send(Result<std::vector<std::string>> messages) {
    if (!messages) {
      fail(messages.error());
      return false;
    }
    for (auto& m : *messages) queue_.push_back(std::move(m));
    if (!writing_ && !queue_.empty()) do_write();
    return true;
  }

  void do_write() {
    writing_ = true;
    ws_->text(true);
    ws_->async_write(net::buffer(queue_.front()), [this](beast::error_code ec, std::size_t) {
      writing_ = false;
      if (ec) return fail(network("cannot send to the server", ec));
      queue_.pop_front();
      if (!queue_.empty()) return do_write();
      if (close_pending_) close();
    });
  }

  void close() {
    if (writing_) {
      close_pending_ = true;
      return;
    }
    if (closing_) return;
    closing_ = true;
    timer_.cancel();
    ws_->async_close(websocket::close_code::normal, [this](beast::error_code) { finish(); });
  }

  void fail(Error e) {
    if (!failed_) result_ = std::move(e);
    failed_ = true;
    finish();
  }

  void finish() {
    timer_.cancel();
    beast::error_code ignored;
    beast::get_lowest_layer(*ws_).socket().close(ignored);
    ioc_.stop();
  }

  const Endpoint& ep_;
  Conversation& conv_;
  const ClientOptions& opt_;
  net::io_context ioc_;
  ssl::context tls_{ssl::context::tls_client};
  tcp::resolver resolver_;
  // Made once the TLS context is configured: an SSL stream copies the
  // context's verification settings when it is created.
  std::optional<websocket::stream<beast::ssl_stream<beast::tcp_stream>>> ws_;
  net::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::deque<std::string> queue_;
  bool writing_ = false;
  bool open_ = false;
  bool closing_ = false;
  bool close_pending_ = false;
  bool failed_ = false;
  Status result_;
};

}  // namespace

Result<Endpoint> parse_url(std::string_view url) {
  constexpr std::string_view kScheme = "wss://";
  if (!url.starts_with(kScheme))
    return make_error(Errc::invalid_argument,
                      "server URL '" + std::string(url) + "' must start with wss://");
  std::string_view rest = url.substr(kScheme.size());
  Endpoint ep{"", "443", "/sync"};
  const auto slash = rest.find('/');
  if (slash != std::string_view::npos) {
    ep.target = std::string(rest.substr(slash));
    rest = rest.substr(0, slash);
  }
  const auto colon = rest.rfind(':');
  if (colon != std::string_view::npos) {
    ep.port = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
  }
  ep.host = std::string(rest);
  if (ep.host.empty() || ep.port.empty() ||
      ep.port.find_first_not_of("0123456789") != std::string::npos)
    return make_error(Errc::invalid_argument, "bad server URL '" + std::string(url) + "'");
  return ep;
}

Status converse(const std::string& url, Conversation& conversation, const ClientOptions& options) {
  auto ep = parse_url(url);
  if (!ep) return ep.error();
  Client client(*ep, conversation, options);
  return client.run();
}

}  // namespace relais::transport
