#include "relais/server/log.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <ostream>

namespace relais::server {
namespace {

std::string_view level_name(LogLevel l) {
  switch (l) {
    case LogLevel::debug:
      return "debug";
    case LogLevel::info:
      return "info";
    case LogLevel::warn:
      return "warn";
    case LogLevel::error:
      return "error";
  }
  return "info";
}

// Quotes a value that holds spaces, quotes or '=' so every line splits the same way.
std::string quoted(std::string_view v) {
  if (!v.empty() && v.find_first_of(" \"=\n\t") == std::string_view::npos) return std::string(v);
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    out += c == '\n' ? ' ' : c;
  }
  return out + "\"";
}

std::string timestamp() {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const std::time_t t = system_clock::to_time_t(now);
  const auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

}  // namespace

void Logger::log(LogLevel level, std::string_view component, std::uint64_t conn,
                 std::string_view event, std::initializer_list<Field> fields) {
  if (!enabled(level)) return;
  std::string line = timestamp() + " level=" + std::string(level_name(level)) +
                     " component=" + std::string(component);
  if (conn) line += " conn=" + std::to_string(conn);
  line += " event=" + std::string(event);
  for (const auto& [k, v] : fields) line += " " + std::string(k) + "=" + quoted(v);
  line += "\n";
  std::lock_guard lock(mu_);
  out_ << line << std::flush;
}

}  // namespace relais::server
