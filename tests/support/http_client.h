// A minimal HTTP/1.1 client for the tests of `relais serve`: one request per
// connection to 127.0.0.1, over plain POSIX sockets so that the tests stay
// independent of the server's own HTTP code (and cheap to compile).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "loopback.h"

namespace relais::testing {

struct HttpReply {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::string body;

  // The value of header `name` (lower case), or "".
  std::string header(const std::string& name) const {
    for (const auto& [n, v] : headers)
      if (n == name) return v;
    return "";
  }
  nlohmann::json json() const { return nlohmann::json::parse(body); }
  // error.name of a refusal, or "" for another body.
  std::string error_name() const {
    auto j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.contains("error")) return "";
    return j["error"].value("name", "");
  }
};

// Parses a whole HTTP/1.1 reply, as read to the end of the connection.
// Throws if it is not HTTP.
inline HttpReply parse_http_reply(const std::string& raw) {
  HttpReply reply;
  const auto head_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.1 ", 0) != 0 || head_end == std::string::npos)
    throw std::runtime_error("not an HTTP reply: '" + raw.substr(0, 80) + "'");
  reply.status = std::stoi(raw.substr(9, 3));
  std::size_t line = raw.find("\r\n") + 2;
  while (line < head_end) {
    const auto end = raw.find("\r\n", line);
    const auto colon = raw.find(':', line);
    std::string name = raw.substr(line, colon - line);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = raw.substr(colon + 1, end - colon - 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    reply.headers.emplace_back(std::move(name), std::move(value));
    line = end + 2;
  }
  reply.body = raw.substr(head_end + 4);
  if (reply.header("transfer-encoding") == "chunked")
    throw std::runtime_error("chunked replies are not expected from relais serve");
  return reply;
}

// Sends `request` (the whole request text) to 127.0.0.1:`port` and reads
// the reply to the end of the connection. Throws if the server cannot be
// reached or answers something that is not HTTP.
inline HttpReply http_exchange(std::uint16_t port, const std::string& request) {
  const int fd = connect_loopback(port);
  if (fd < 0) throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port));
  timeval timeout{30, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  for (std::size_t sent = 0; sent < request.size();) {
    const auto n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may refuse early (a body too large): read its answer
    sent += static_cast<std::size_t>(n);
  }
  std::string raw;
  char buf[16384];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;)
    raw.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return parse_http_reply(raw);
}

// A browser's view of one `relais serve`: keeps the session cookie and the
// CSRF token of its last login, and sends them with each request.
class HttpSession {
 public:
  explicit HttpSession(std::uint16_t port) : port_(port) {}

  HttpReply request(const std::string& method, const std::string& target,
                    const std::string& body = "",
                    std::vector<std::pair<std::string, std::string>> extra = {}) {
    std::string req = method + " " + target +
                      " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port_) +
                      "\r\nConnection: close\r\n";
    if (!cookie_.empty()) req += "Cookie: " + cookie_ + "\r\n";
    if (!csrf_.empty() && send_csrf) req += "X-Relais-CSRF: " + csrf_ + "\r\n";
    for (const auto& [n, v] : extra) req += n + ": " + v + "\r\n";
    if (!body.empty() || method == "POST" || method == "PATCH")
      req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
             "\r\n";
    req += "\r\n" + body;
    return http_exchange(port_, req);
  }
  HttpReply get(const std::string& target) { return request("GET", target); }
  HttpReply post(const std::string& target, const nlohmann::json& body) {
    return request("POST", target, body.dump());
  }
  HttpReply patch(const std::string& target, const nlohmann::json& body) {
    return request("PATCH", target, body.dump());
  }

  // Logs in; on success keeps the cookie and the CSRF token.
  HttpReply login(const std::string& user, const std::string& password) {
    auto r = post("/api/login", {{"user", user}, {"password", password}});
    if (r.status == 200) {
      const auto set = r.header("set-cookie");
      cookie_ = set.substr(0, set.find(';'));
      csrf_ = r.json().at("csrf");
    }
    return r;
  }

  const std::string& cookie() const { return cookie_; }
  // Whether requests carry the X-Relais-CSRF header (a test turns it off to
  // play a forged cross-site request).
  bool send_csrf = true;

 private:
  std::uint16_t port_;
  std::string cookie_;
  std::string csrf_;
};

}  // namespace relais::testing
