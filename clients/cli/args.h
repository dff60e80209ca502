// Command-line parsing for `relais`: global options, a command name, then
// the command's positional arguments and --options.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "relais/error.h"

namespace relais::cli {

struct Args {
  std::string replica_path;  // --replica, else $RELAIS_REPLICA, else relais.db
  bool json = false;         // --json
  bool help = false;         // --help / -h anywhere
  std::string command;
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;  // --name value

  std::optional<std::string> option(const std::string& name) const;
  bool flag(const std::string& name) const { return options.count(name) > 0; }
};

// Options a command accepts, for validation: those taking a value, and
// flags (present or not; stored in Args::options with an empty value).
struct OptionSpec {
  std::set<std::string> with_value;
  std::set<std::string> flags = {};
};

// Splits argv. Fails (Errc::invalid_argument) on an option missing its value
// or not in `spec` of the command. `specs` maps command names to their spec.
Result<Args> parse_args(int argc, char** argv, const std::map<std::string, OptionSpec>& specs);

}  // namespace relais::cli
