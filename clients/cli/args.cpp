#include "args.h"

#include <cstdlib>

namespace relais::cli {

std::optional<std::string> Args::option(const std::string& name) const {
  auto it = options.find(name);
  if (it == options.end()) return std::nullopt;
  return it->second;
}

Result<Args> parse_args(int argc, char** argv, const std::map<std::string, OptionSpec>& specs) {
  Args args;
  const char* env = std::getenv("RELAIS_REPLICA");
  args.replica_path = env && *env ? env : "relais.db";
  const OptionSpec* spec = nullptr;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      args.help = true;
    } else if (a == "--json") {
      args.json = true;
    } else if (a == "--replica") {
      if (i + 1 >= argc) return make_error(Errc::invalid_argument, "--replica needs a path");
      args.replica_path = argv[++i];
    } else if (a.starts_with("--") && a.size() > 2) {
      const std::string name = a.substr(2);
      if (spec && spec->flags.count(name)) {
        args.options[name] = "";
        continue;
      }
      if (!spec || !spec->with_value.count(name))
        return make_error(
            Errc::invalid_argument,
            "unknown option " + a + (args.command.empty() ? "" : " for '" + args.command + "'"));
      if (i + 1 >= argc) return make_error(Errc::invalid_argument, a + " needs a value");
      args.options[name] = argv[++i];
    } else if (args.command.empty()) {
      args.command = a;
      auto it = specs.find(a);
      if (it != specs.end()) spec = &it->second;
    } else {
      args.positional.push_back(a);
    }
  }
  return args;
}

}  // namespace relais::cli
