// Structured log lines of relais-server, one per event, in logfmt:
//   2026-12-03T16:40:00.123Z level=info component=sync conn=12 event=push_committed batch=3
// Values are ids, counts and codes; never a person's data.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace relais::server {

enum class LogLevel { debug, info, warn, error };

class Logger {
 public:
  using Field = std::pair<std::string_view, std::string>;

  // Writes lines at `min` and above to `out` (which must outlive this).
  Logger(std::ostream& out, LogLevel min) : out_(out), min_(min) {}

  // `conn` 0 means no connection.
  void log(LogLevel level, std::string_view component, std::uint64_t conn, std::string_view event,
           std::initializer_list<Field> fields = {});
  bool enabled(LogLevel level) const { return level >= min_; }

 private:
  std::mutex mu_;
  std::ostream& out_;
  LogLevel min_;
};

}  // namespace relais::server
