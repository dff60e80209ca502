// A real relais-server process for the end-to-end tests: its own folder,
// configuration and self-signed certificate, a port chosen by the system on
// 127.0.0.1, and the library's own store for administration.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>

#include "relais/schema/schema.h"
#include "relais/server/store.h"
#include "replicas.h"

namespace relais::testing {

// Runs `argv` to completion; throws unless it exits 0.
inline void run_program(const std::vector<std::string>& argv) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    std::freopen("/dev/null", "w", stdout);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error("command failed: " + argv.at(0) + " " + argv.at(1));
}

struct ProgramOutput {
  int exit_code = -1;
  std::string out;  // standard output
};

// Runs `argv` to completion and returns its exit code and standard output
// (standard error goes to the test's own).
inline ProgramOutput run_capture(const std::vector<std::string>& argv) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) throw std::runtime_error("pipe failed");
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    ::close(pipe_fds[0]);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  ProgramOutput result;
  char buf[4096];
  for (ssize_t n; (n = ::read(pipe_fds[0], buf, sizeof buf)) > 0;)
    result.out.append(buf, static_cast<std::size_t>(n));
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

class ServerProcess {
 public:
  // Initialises a server in `dir` (configuration, certificate, store).
  ServerProcess(std::string binary, std::filesystem::path dir)
      : binary_(std::move(binary)), dir_(std::move(dir)) {
    run_program({binary_, "--config", config(), "init"});
  }
  ~ServerProcess() { kill(SIGKILL); }

  std::string config() const { return (dir_ / "relais-server.json").string(); }
  std::string certificate() const { return (dir_ / "server.crt").string(); }
  std::string store_path() const { return (dir_ / "relais-server.db").string(); }
  std::string url() const { return "wss://127.0.0.1:" + std::to_string(port_); }
  std::uint16_t port() const { return port_; }

  // Opens the store beside the running server (SQLite allows it), for
  // administration: sites, users, enrollment codes.
  std::unique_ptr<server::ServerStore> admin() const {
    return must(server::open_sqlite_store(store_path(), schema::Schema::builtin()));
  }

  // Starts serving (on the previous port after a restart, so that replicas
  // reconnect to the same URL) and waits for the "listening" line.
  void start() {
    int out[2];
    if (::pipe(out) != 0) throw std::runtime_error("pipe failed");
    const std::string port = std::to_string(port_);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], STDOUT_FILENO);
      ::close(out[0]);
      const std::string log = (dir_ / "server.log").string();
      std::freopen(log.c_str(), "a", stderr);
      ::execl(binary_.c_str(), binary_.c_str(), "--config", config().c_str(), "serve", "--port",
              port.c_str(), "--log-level", "debug", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(out[1]);
    std::string line;
    char c;
    while (::read(out[0], &c, 1) == 1 && c != '\n') line += c;
    ::close(out[0]);
    const auto colon = line.rfind(':');
    if (line.rfind("listening on ", 0) != 0 || colon == std::string::npos)
      throw std::runtime_error("relais-server did not start: '" + line + "'");
    port_ = static_cast<std::uint16_t>(std::stoi(line.substr(colon + 1)));
  }

  // Sends `signal` and waits for the process to end.
  void kill(int signal) {
    if (pid_ <= 0) return;
    ::kill(pid_, signal);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

 private:
  std::string binary_;
  std::filesystem::path dir_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};

}  // namespace relais::testing
