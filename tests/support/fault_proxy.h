// A TCP proxy on 127.0.0.1 that injects faults between a client and a
// server: it cuts each connection after a number of bytes (in the middle of
// whatever frame is passing) and can delay every chunk. Plain POSIX sockets
// and one thread per direction; for tests only.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include "loopback.h"

namespace relais::testing {

class FaultProxy {
 public:
  struct Faults {
    // Each connection is cut after a number of client-to-server bytes drawn
    // between these bounds; 0 disables cutting.
    std::size_t cut_min_bytes = 0;
    std::size_t cut_max_bytes = 0;
    std::chrono::milliseconds delay{0};  // before forwarding each chunk
    unsigned seed = 1;
  };

  FaultProxy(std::uint16_t target_port, Faults faults)
      : target_(target_port), faults_(faults), rng_(faults.seed) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr = loopback_address(0);
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listener_, 64) != 0)
      throw std::runtime_error("proxy: cannot listen");
    socklen_t len = sizeof addr;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }

  ~FaultProxy() {
    stop_ = true;
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    acceptor_.join();
    std::lock_guard lock(mu_);
    for (auto& t : pipes_) t.join();
  }

  std::uint16_t port() const { return port_; }
  int connections() const { return connections_; }
  int cuts() const { return cuts_; }

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd p{listener_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int client = ::accept(listener_, nullptr, nullptr);
      if (client < 0) continue;
      const int server = connect_loopback(target_);
      if (server < 0) {
        ::close(client);
        continue;
      }
      ++connections_;
      std::size_t budget = SIZE_MAX;
      if (faults_.cut_max_bytes > 0) {
        std::uniform_int_distribution<std::size_t> pick(faults_.cut_min_bytes,
                                                        faults_.cut_max_bytes);
        budget = pick(rng_);
      }
      auto link = std::make_shared<std::atomic<bool>>(false);
      std::lock_guard lock(mu_);
      pipes_.emplace_back([=, this] { pump(client, server, budget, link); });
      pipes_.emplace_back([=, this] { pump(server, client, SIZE_MAX, link); });
    }
  }

  // Copies `from` to `to` until either side ends, `budget` bytes passed (a
  // cut: both sockets are torn down mid-stream), or the proxy stops.
  void pump(int from, int to, std::size_t budget, std::shared_ptr<std::atomic<bool>> down) {
    char buf[16384];
    while (!stop_ && !*down) {
      pollfd p{from, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const ssize_t n = ::recv(from, buf, std::min(sizeof buf, budget), 0);
      if (n <= 0) break;
      if (faults_.delay.count() > 0) std::this_thread::sleep_for(faults_.delay);
      if (::send(to, buf, static_cast<std::size_t>(n), MSG_NOSIGNAL) != n) break;
      budget -= static_cast<std::size_t>(n);
      if (budget == 0) {
        ++cuts_;
        break;
      }
    }
    if (!down->exchange(true)) {
      ::shutdown(from, SHUT_RDWR);
      ::shutdown(to, SHUT_RDWR);
    } else {
      ::close(from);
      ::close(to);
    }
  }

  std::uint16_t target_;
  Faults faults_;
  std::mt19937 rng_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::atomic<int> cuts_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> pipes_;
};

}  // namespace relais::testing
