#include "relais/server/config.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace relais::server {
namespace {

using nlohmann::json;

std::string resolve(const std::filesystem::path& dir, const std::string& p) {
  if (p.empty() || std::filesystem::path(p).is_absolute()) return p;
  return (dir / p).lexically_normal().string();
}

Result<LogLevel> parse_level(const std::string& s) {
  if (s == "debug") return LogLevel::debug;
  if (s == "info") return LogLevel::info;
  if (s == "warn") return LogLevel::warn;
  if (s == "error") return LogLevel::error;
  return make_error(Errc::invalid_argument,
                    "log_level: '" + s + "' is not debug, info, warn or error");
}

json defaults() {
  const ServerConfig c;
  return json{{"store", c.store},
              {"address", c.net.address},
              {"port", c.net.port},
              {"cert_file", "server.crt"},
              {"key_file", "server.key"},
              {"threads", c.net.threads},
              {"handshake_timeout_ms", c.net.handshake_timeout.count()},
              {"idle_timeout_ms", c.net.idle_timeout.count()},
              {"max_message_bytes", c.net.max_message_bytes},
              {"max_queued_messages", c.net.max_queued_messages},
              {"shutdown_grace_ms", c.net.shutdown_grace.count()},
              {"log_level", "info"},
              {"max_offline_days", c.max_offline_days}};
}

}  // namespace

std::string default_config_text() {
  return defaults().dump(2) + "\n";
}

Result<ServerConfig> load_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error(Errc::store_io, "cannot read the configuration '" + path + "'");
  std::stringstream text;
  text << in.rdbuf();
  json j = json::parse(text.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return make_error(Errc::invalid_argument, path + ": not a JSON object");
  const json d = defaults();
  for (const auto& [key, value] : j.items()) {
    if (!d.contains(key))
      return make_error(Errc::invalid_argument, path + ": unknown field '" + key + "'");
    if (d[key].is_string() != value.is_string() || d[key].is_number() != value.is_number_unsigned())
      return make_error(Errc::invalid_argument,
                        path + ": '" + key + "' must be " +
                            (d[key].is_string() ? "a string" : "a non-negative number"));
  }
  json merged = d;
  merged.update(j);
  j = std::move(merged);
  const auto dir = std::filesystem::absolute(path).parent_path();
  ServerConfig c;
  c.store = resolve(dir, j["store"]);
  auto level = parse_level(j["log_level"]);
  if (!level) return level.error();
  c.log_level = *level;
  c.net.address = j["address"];
  if (j["port"].get<std::uint64_t>() > 65535)
    return make_error(Errc::invalid_argument, path + ": 'port' must be at most 65535");
  c.net.port = j["port"].get<std::uint16_t>();
  c.net.cert_file = resolve(dir, j["cert_file"]);
  c.net.key_file = resolve(dir, j["key_file"]);
  c.net.threads = j["threads"];
  c.net.handshake_timeout =
      std::chrono::milliseconds(j["handshake_timeout_ms"].get<std::int64_t>());
  c.net.idle_timeout = std::chrono::milliseconds(j["idle_timeout_ms"].get<std::int64_t>());
  c.net.max_message_bytes = j["max_message_bytes"];
  c.net.max_queued_messages = j["max_queued_messages"];
  c.net.shutdown_grace = std::chrono::milliseconds(j["shutdown_grace_ms"].get<std::int64_t>());
  if (j["max_offline_days"].get<std::uint64_t>() > 3650)
    return make_error(Errc::invalid_argument, path + ": 'max_offline_days' must be at most 3650");
  c.max_offline_days = j["max_offline_days"].get<int>();
  return c;
}

}  // namespace relais::server
