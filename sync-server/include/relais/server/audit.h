// The DPO's audit reports of relais-server (docs/rgpd.md#audit): who read
// a person's data, what a user read, the state of every access-log chain,
// persons without a valid consent, pending erasures, overdue requests.
// Each is a table, printed aligned for people or as CSV for a spreadsheet.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "relais/error.h"
#include "relais/server/store.h"

namespace relais::server {

struct AuditRequest {
  std::vector<std::string> words;  // "audit" and what follows
  std::string from;                // --from, --to: a period (audit user)
  std::string to;
  bool csv = false;  // --csv
};

// Runs the audit that `request` names and prints it to `out`.
// invalid_argument for words that name no audit, or a malformed date.
Status run_audit(ServerStore& store, const AuditRequest& request, std::ostream& out);

}  // namespace relais::server
