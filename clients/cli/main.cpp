// `relais`: the command-line client of a site's replica.
#include <iomanip>
#include <iostream>

#include "cli.h"
#include "relais/schema/schema.h"

namespace relais::cli {
namespace {

using nlohmann::json;

// Exit codes; docs/cli.md lists them.
enum Exit : int {
  kOk = 0,
  kFailure = 1,    // the store or a file could not be read or written
  kUsage = 2,      // the command line is wrong
  kInvalid = 3,    // a value, field or entity does not fit the schema
  kNotFound = 4,   // no such record, replica or conflict
  kBadBundle = 5,  // a bundle is malformed, truncated or altered
  kVersion = 6,    // made by a newer Relais
  kServer = 7,     // the server could not be reached, or refused
};

int exit_code(Errc code) {
  switch (code) {
    case Errc::invalid_argument:
      return kUsage;
    case Errc::unknown_record:
    case Errc::replica_missing:
    case Errc::no_such_conflict:
      return kNotFound;
    case Errc::bundle_newer_schema:
    case Errc::bundle_unsupported_format:
    case Errc::replica_newer_schema:
      return kVersion;
    case Errc::store_io:
    case Errc::store_corrupt:
    case Errc::replica_exists:
    case Errc::schema_invalid:
      return kFailure;
    default:
      break;
  }
  switch (static_cast<int>(code) / 100) {
    case 2:
      return kBadBundle;
    case 4:
    case 5:
    case 6:
    case 8:  // erasure and access log: refusals of the server, or "sync first"
      return kServer;
    default:
      return kInvalid;
  }
}

std::vector<Command> all_commands() {
  std::vector<Command> all = record_commands();
  for (const auto* more :
       {&log_commands(), &sync_commands(), &consent_commands(), &serve_commands()})
    all.insert(all.end(), more->begin(), more->end());
  return all;
}

void print_usage(std::ostream& out, const std::vector<Command>& commands) {
  out << "relais — the offline replica of a Relais site\n\n"
         "usage: relais [--replica PATH] [--json] COMMAND [ARGS]\n\n"
         "  --replica PATH  the replica file (default: $RELAIS_REPLICA, else ./relais.db)\n"
         "  --json          print results as JSON for programs\n"
         "  --help          help on a command: relais COMMAND --help\n\ncommands:\n";
  for (const auto& c : commands)
    out << "  " << std::left << std::setw(12) << c.name << c.summary << "\n";
  out << "\nexit codes: 0 ok, 1 store or file failure, 2 usage, 3 invalid value, 4 not found,\n"
         "5 bad bundle, 6 made by a newer Relais, 7 server unreachable or refused\n";
}

void print_command_help(std::ostream& out, const Command& c) {
  out << "usage: relais [--replica PATH] [--json] " << c.name << (c.usage.empty() ? "" : " ")
      << c.usage << "\n\n"
      << c.summary << ".\n\n"
      << c.details << "\n";
}

int report(const Context& ctx, const Error& e) {
  if (ctx.json()) {
    std::cerr << json{{"error",
                       {{"code", static_cast<int>(e.code)},
                        {"name", errc_name(e.code)},
                        {"message", e.message}}}}
              << "\n";
  } else {
    std::cerr << "relais: " << e.message << "\n";
  }
  return exit_code(e.code);
}

int run(int argc, char** argv) {
  const auto commands = all_commands();
  std::map<std::string, OptionSpec> specs;
  for (const auto& c : commands) specs[std::string(c.name)] = c.options;
  auto args = parse_args(argc, argv, specs);
  if (!args) {
    std::cerr << "relais: " << args.error().message << " (see relais --help)\n";
    return kUsage;
  }
  if (args->command.empty() || args->command == "help") {
    print_usage(args->command.empty() && !args->help ? std::cerr : std::cout, commands);
    return args->command.empty() && !args->help ? kUsage : kOk;
  }
  auto it = std::find_if(commands.begin(), commands.end(),
                         [&](const Command& c) { return c.name == args->command; });
  if (it == commands.end()) {
    std::cerr << "relais: unknown command '" << args->command << "' (see relais --help)\n";
    return kUsage;
  }
  if (args->help) {
    print_command_help(std::cout, *it);
    return kOk;
  }
  const std::size_t n = args->positional.size();
  if (n < it->min_positional || n > it->max_positional) {
    std::cerr << "relais: usage: relais " << it->name << " " << it->usage << "\n";
    return kUsage;
  }
  Context ctx(std::move(args).value(), std::cout);
  if (Status s = it->run(ctx); !s) return report(ctx, s.error());
  return kOk;
}

}  // namespace

Result<store::Replica*> Context::replica() {
  if (!replica_) {
    auto r = store::Replica::open(args_.replica_path, schema::Schema::builtin());
    if (!r) return r.error();
    replica_ = std::move(r).value();
  }
  return replica_.get();
}

}  // namespace relais::cli

int main(int argc, char** argv) {
  try {
    return relais::cli::run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "relais: internal error: " << e.what() << "\n";
    return 1;
  }
}
