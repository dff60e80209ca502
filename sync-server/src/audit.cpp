#include "relais/server/audit.h"

#include <algorithm>
#include <string_view>

#include "relais/exchange/csv_import.h"
#include "relais/schema/validate.h"
#include "relais/store/access_log.h"
#include "relais/store/hlc.h"

namespace relais::server {
namespace {

struct Table {
  std::vector<std::string> headers;
  std::vector<std::vector<std::string>> rows;
};

void print(const Table& t, bool csv, std::ostream& out) {
  if (csv) {
    auto line = [&](const std::vector<std::string>& cells) {
      for (std::size_t i = 0; i < cells.size(); ++i)
        out << (i ? "," : "") << exchange::csv_cell(cells[i], ',');
      out << "\r\n";
    };
    line(t.headers);
    for (const auto& r : t.rows) line(r);
    return;
  }
  // Widths in characters, not bytes: a name may hold accents.
  auto width = [](const std::string& s) {
    return static_cast<std::size_t>(
        std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
  };
  std::vector<std::size_t> widths;
  for (const auto& h : t.headers) widths.push_back(width(h));
  for (const auto& r : t.rows)
    for (std::size_t i = 0; i < r.size() && i < widths.size(); ++i)
      widths[i] = std::max(widths[i], width(r[i]));
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      text += cells[i];
      if (i + 1 < cells.size()) text += std::string(widths[i] - width(cells[i]) + 2, ' ');
    }
    out << text << "\n";
  };
  line(t.headers);
  for (const auto& r : t.rows) line(r);
  out << t.rows.size() << (t.rows.size() == 1 ? " row" : " rows") << "\n";
}

// A bound of a period: YYYY-MM-DD or a full UTC time; "" when not given.
Status check_bound(const std::string& value, std::string_view option) {
  if (value.empty() || schema::is_date(value) || schema::is_datetime(value)) return Status::Ok();
  return make_error(Errc::invalid_argument,
                    "--" + std::string(option) +
                        " expects YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, not '" + value + "'");
}

Result<Table> person_reads(ServerStore& s, const std::string& person) {
  auto entries = s.accesses_of(person);
  if (!entries) return entries.error();
  Table t{{"at", "user", "action", "device", "entry"}, {}};
  for (const auto& e : *entries)
    t.rows.push_back({e.at, e.user, e.action, e.device, std::to_string(e.seq)});
  return t;
}

Result<Table> user_reads(ServerStore& s, const AuditRequest& r) {
  if (Status st = check_bound(r.from, "from"); !st) return st.error();
  if (Status st = check_bound(r.to, "to"); !st) return st.error();
  auto entries = s.accesses_by(r.words[2], r.from, r.to);
  if (!entries) return entries.error();
  Table t{{"at", "person", "action", "device", "entry"}, {}};
  for (const auto& e : *entries)
    t.rows.push_back({e.at, e.person, e.action, e.device, std::to_string(e.seq)});
  return t;
}

Result<Table> chains(ServerStore& s) {
  auto reports = s.verify_access_chains();
  if (!reports) return reports.error();
  Table t{{"replica", "entries", "first", "last", "now", "breaks at upload"}, {}};
  for (const auto& c : *reports) {
    std::string now = c.entries == 0 ? "no entry held" : "intact";
    if (c.problem)
      now = std::string(store::break_name(c.problem->kind)) + " at entry " +
            std::to_string(c.problem->seq) + ": " + c.problem->message;
    t.rows.push_back({c.replica, std::to_string(c.entries), std::to_string(c.first),
                      std::to_string(c.last), now, std::to_string(c.breaks_recorded)});
  }
  return t;
}

Result<Table> breaks(ServerStore& s) {
  auto found = s.access_breaks();
  if (!found) return found.error();
  Table t{{"found at", "device", "replica", "entry", "kind", "what"}, {}};
  for (const auto& b : *found)
    t.rows.push_back({b.at, b.device, b.replica, std::to_string(b.seq), b.kind, b.message});
  return t;
}

Result<Table> consent(ServerStore& s, const std::string& purpose) {
  auto gaps = s.consent_gaps(purpose);
  if (!gaps) return gaps.error();
  Table t{{"person", "site", "consent", "since"}, {}};
  for (const auto& g : *gaps) t.rows.push_back({g.person, g.site, g.state, g.since});
  return t;
}

Result<Table> erasures(ServerStore& s) {
  auto all = s.erasure_status();
  if (!all) return all.error();
  Table t{{"erasure", "decided", "request", "device yet to apply it"}, {}};
  for (const auto& st : *all)
    for (const auto& device : st.pending)
      t.rows.push_back({st.erasure.id, st.erasure.at, st.erasure.request, device});
  return t;
}

Result<Table> overdue(ServerStore& s) {
  auto all = s.requests();
  if (!all) return all.error();
  const std::string today = store::utc_now_iso().substr(0, 10);
  Table t{{"request", "person", "kind", "received", "deadline"}, {}};
  for (const auto& r : *all)
    if (r.closed.empty() && r.deadline < today)
      t.rows.push_back({r.ref, r.person, r.kind, r.received, r.deadline});
  return t;
}

}  // namespace

Status run_audit(ServerStore& store, const AuditRequest& request, std::ostream& out) {
  const auto& w = request.words;
  const std::string what = w.size() > 1 ? w[1] : "";
  Result<Table> table = make_error(Errc::invalid_argument,
                                   "audit person PERSON | user USER [--from D] [--to D] | chains | "
                                   "breaks | consent PURPOSE | erasures | overdue [--csv]");
  if (what == "person" && w.size() == 3) table = person_reads(store, w[2]);
  if (what == "user" && w.size() == 3) table = user_reads(store, request);
  if (what == "chains" && w.size() == 2) table = chains(store);
  if (what == "breaks" && w.size() == 2) table = breaks(store);
  if (what == "consent" && w.size() == 3) table = consent(store, w[2]);
  if (what == "erasures" && w.size() == 2) table = erasures(store);
  if (what == "overdue" && w.size() == 2) table = overdue(store);
  if (!table) return table.error();
  print(*table, request.csv, out);
  return Status::Ok();
}

}  // namespace relais::server
