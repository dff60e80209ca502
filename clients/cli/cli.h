// The `relais` command-line client: shared context and the command table.
#pragma once

#include <iosfwd>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "args.h"
#include "relais/error.h"
#include "relais/store/replica.h"

namespace relais::cli {

// What a command works with: parsed arguments, where to print, and the
// replica (opened on first use, migrated if older).
class Context {
 public:
  Context(Args args, std::ostream& out) : args_(std::move(args)), out_(out) {}

  const Args& args() const { return args_; }
  std::ostream& out() { return out_; }
  bool json() const { return args_.json; }
  Result<store::Replica*> replica();

 private:
  Args args_;
  std::ostream& out_;
  std::unique_ptr<store::Replica> replica_;
};

struct Command {
  std::string_view name;
  std::string_view usage;    // arguments after the command name
  std::string_view summary;  // one line
  std::string_view details;  // paragraphs shown by --help
  OptionSpec options;
  std::size_t min_positional = 0;
  std::size_t max_positional = 0;
  Status (*run)(Context&);
};

// Commands on records (commands_records.cpp), on the op log and file
// exchange (commands_log.cpp), with the server (commands_sync.cpp), on
// consent (commands_consent.cpp).
const std::vector<Command>& record_commands();
const std::vector<Command>& log_commands();
const std::vector<Command>& sync_commands();
const std::vector<Command>& consent_commands();
// `relais serve` and `relais account` (commands_serve.cpp).
const std::vector<Command>& serve_commands();

// Writes to the replica's access log that `records` were shown with
// `action` (open, list, history...): one entry per person whose data they
// reveal. Called before the records are printed.
Status log_reads(store::Replica& replica, const std::vector<store::Record>& records,
                 std::string_view action);
// The same for records named by id, whatever their entity (gone ones skipped).
Status log_reads_of(store::Replica& replica,
                    const std::vector<std::pair<std::string, std::string>>& entity_ids,
                    std::string_view action);

// Reads `field=value` arguments into a JSON object of typed, normalised values.
Result<nlohmann::json> parse_assignments(const store::Replica& replica, const std::string& entity,
                                         const std::vector<std::string>& args, std::size_t from);

// A non-negative decimal number, all of `text`, or nullopt.
std::optional<std::size_t> parse_count(std::string_view text);
// The --limit option, or `fallback` when absent; invalid_argument if not a number.
Result<std::size_t> limit_option(const Args& args, std::size_t fallback);

// Prints a value for people: sets joined by ", ", strings bare.
std::string display(const nlohmann::json& value);

}  // namespace relais::cli
