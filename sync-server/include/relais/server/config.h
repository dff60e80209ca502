// relais-server's configuration file: JSON, every member optional, paths
// relative to the file's folder. docs/operations.md documents each field.
#pragma once

#include <string>

#include "relais/error.h"
#include "relais/server/log.h"
#include "relais/server/net.h"

namespace relais::server {

struct ServerConfig {
  /// The SQLite store. Default "relais-server.db".
  std::string store = "relais-server.db";
  /// Log lines at this level and above: debug, info, warn, error. Default info.
  LogLevel log_level = LogLevel::info;
  /// Listening, TLS and limits (see NetConfig). cert_file and key_file
  /// default to "server.crt" and "server.key".
  NetConfig net;
  /// Days a replica may go without syncing before it hides young people's
  /// data until its next sync; 0 for no limit. Default 30.
  int max_offline_days = 30;
};

// Reads `path`. Unknown members, wrong types and bad values are errors that
// name the member.
Result<ServerConfig> load_config(const std::string& path);

// The text of a configuration file with every field at its default.
std::string default_config_text();

}  // namespace relais::server
