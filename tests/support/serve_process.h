// A real `relais serve` process over a replica file, on a port of
// 127.0.0.1 chosen by the system, for the tests of its API.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace relais::testing {

class ServeProcess {
 public:
  // Starts `relais --replica REPLICA --json serve --listen LISTEN ARGS` and
  // waits for the line that gives its address. Its standard error goes to
  // `log_file`.
  ServeProcess(const std::string& relais, const std::string& replica,
               const std::vector<std::string>& args, const std::string& log_file,
               const std::string& listen = "127.0.0.1:0") {
    std::vector<std::string> argv = {relais,  "--replica", replica, "--json",
                                     "serve", "--listen",  listen};
    argv.insert(argv.end(), args.begin(), args.end());
    int out[2];
    if (::pipe(out) != 0) throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ == 0) {
      std::vector<char*> c_args;
      for (auto& a : argv) c_args.push_back(a.data());
      c_args.push_back(nullptr);
      ::dup2(out[1], STDOUT_FILENO);
      ::close(out[0]);
      std::freopen(log_file.c_str(), "a", stderr);
      ::execv(c_args[0], c_args.data());
      ::_exit(127);
    }
    ::close(out[1]);
    std::string line;
    char c;
    while (::read(out[0], &c, 1) == 1 && c != '\n') line += c;
    ::close(out[0]);
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("url")) {
      stop();
      throw std::runtime_error("relais serve did not start: '" + line + "' (see " + log_file + ")");
    }
    url_ = j["url"];
    port_ = static_cast<std::uint16_t>(std::stoi(url_.substr(url_.rfind(':') + 1)));
  }
  ~ServeProcess() { stop(); }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  std::uint16_t port() const { return port_; }
  // The address it printed, such as "https://0.0.0.0:43211".
  const std::string& url() const { return url_; }

  // SIGTERM, then waits: the exit code (0 for a clean stop), or -1.
  int stop() {
    if (pid_ <= 0) return exit_code_;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return exit_code_;
  }

 private:
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  std::string url_;
  int exit_code_ = -1;
};

}  // namespace relais::testing
