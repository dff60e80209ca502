// relais-server: the central sync server and its administration commands.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <set>

#include "relais/exchange/csv_import.h"
#include "relais/server/audit.h"
#include "relais/server/config.h"
#include "relais/server/net.h"
#include "relais/server/tls_setup.h"
#include "relais/sync/accounts.h"

namespace relais::server {
namespace {

constexpr char kUsage[] =
    "relais-server — the central sync server of Relais\n\n"
    "usage: relais-server [--config FILE] COMMAND [ARGS]\n"
    "  --config FILE   configuration (default: ./relais-server.json)\n\n"
    "commands:\n"
    "  init [--host NAME]...             create the configuration, a self-signed certificate\n"
    "                                    (for NAMEs, default localhost and 127.0.0.1) and the "
    "store\n"
    "  serve [--port N] [--address A] [--log-level L]\n"
    "                                    serve until SIGINT or SIGTERM\n"
    "  site add SITE | site list         sites whose replicas sync here\n"
    "  user add USER --role ROLE [--site SITE] | user list\n"
    "                                    roles: counsellor, site_manager (with --site),\n"
    "                                    central, dpo, admin (every site)\n"
    "  user password USER                set the password USER logs in to `relais serve` with,\n"
    "                                    read from standard input (at least 10 characters)\n"
    "  enroll-code USER [--hours N]      one-time code to enroll a device (default 72 hours)\n"
    "  device list | device revoke DEVICE\n"
    "  backup DEST                       consistent copy of the store, while serving\n"
    "  restore BACKUP                    replace the store by a backup (server stopped)\n"
    "  digest                            digest of the merged data of all sites\n"
    "  rgpd erase PERSON --request REF --by DPO\n"
    "                                    erase a person everywhere (their replicas at their\n"
    "                                    next sync); REF is the reference of their request\n"
    "  rgpd status                       erasures and the devices yet to apply them\n"
    "  rgpd request add REF --person PERSON --kind KIND --received YYYY-MM-DD --by DPO\n"
    "                                    record a person's request; kinds: access, portability,\n"
    "                                    rectification, erasure, restriction, objection\n"
    "  rgpd requests | rgpd overdue      requests with their deadline (one month) | late ones\n"
    "  rgpd export PERSON --request REF --by DPO [--out DIR]\n"
    "                                    everything held about the person, as JSON and CSV\n"
    "  rgpd retention [apply] --by DPO [--access-days N]\n"
    "                                    persons past their retention period and access-log\n"
    "                                    entries older than N days (365); a dry run unless apply\n"
    "  audit person PERSON               who read that person's data, where and when\n"
    "  audit user USER [--from D] [--to D]\n"
    "                                    whose data that user read, in a period\n"
    "  audit chains                      every access-log chain held, verified again\n"
    "  audit breaks                      breaks found in the chains as they were uploaded\n"
    "  audit consent PURPOSE             persons without a valid consent to the purpose\n"
    "  audit erasures                    erasures some devices have not applied yet\n"
    "  audit overdue                     requests past their legal deadline\n"
    "                                    (audit: a table, or CSV with --csv)\n\n"
    "exit codes: 0 ok, 1 failure, 2 usage, 3 not allowed, 4 not found\n";

struct Args {
  std::string config = "relais-server.json";
  std::vector<std::string> words;
  std::multimap<std::string, std::string> options;
  std::set<std::string> flags;
  bool flag(const std::string& name) const { return flags.count(name) > 0; }
  std::string option(const std::string& name, const std::string& fallback = "") const {
    auto it = options.find(name);
    return it == options.end() ? fallback : it->second;
  }
};

int fail(const Error& e) {
  std::cerr << "relais-server: " << e.message << "\n";
  switch (e.code) {
    case Errc::invalid_argument:
    case Errc::unknown_site:
    case Errc::unknown_user:
    case Errc::unknown_purpose:
    case Errc::not_consent_purpose:
      return 2;
    case Errc::unknown_record:
      return 4;
    case Errc::role_required:
      return 3;
    default:
      return 1;
  }
}

int usage(const std::string& message) {
  std::cerr << "relais-server: " << message << "\n\n" << kUsage;
  return 2;
}

Result<std::unique_ptr<ServerStore>> open_store(const ServerConfig& c) {
  return open_sqlite_store(c.store, schema::Schema::builtin());
}

int cmd_init(const Args& a) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::absolute(a.config).parent_path();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!fs::exists(a.config)) {
    std::ofstream(a.config) << default_config_text();
    std::cout << "wrote " << a.config << "\n";
  }
  auto c = load_config(a.config);
  if (!c) return fail(c.error());
  if (!fs::exists(c->net.cert_file)) {
    std::vector<std::string> names;
    for (auto [it, end] = a.options.equal_range("host"); it != end; ++it)
      names.push_back(it->second);
    if (names.empty()) names = {"localhost", "127.0.0.1"};
    if (Status s = write_self_signed_certificate(c->net.cert_file, c->net.key_file, names); !s)
      return fail(s.error());
    std::cout << "wrote a self-signed certificate " << c->net.cert_file << " and its key "
              << c->net.key_file << "\n";
  }
  if (!fs::exists(c->store)) {
    auto s = create_sqlite_store(c->store, schema::Schema::builtin());
    if (!s) return fail(s.error());
    std::cout << "created the store " << c->store << " (server id " << (*s)->server_id() << ")\n";
  }
  auto fp = certificate_fingerprint(c->net.cert_file);
  if (!fp) return fail(fp.error());
  std::cout << "certificate SHA-256 fingerprint " << *fp << "\n";
  return 0;
}

std::uint64_t file_bytes(const std::string& path) {
  std::uint64_t total = 0;
  for (const char* suffix : {"", "-wal"}) {
    struct stat st {};
    if (::stat((path + suffix).c_str(), &st) == 0) total += static_cast<std::uint64_t>(st.st_size);
  }
  return total;
}

int cmd_serve(const Args& a, ServerConfig c) {
  try {
    if (a.options.count("port")) {
      const unsigned long port = std::stoul(a.option("port"));
      if (port > 65535) return usage("--port must be between 0 and 65535");
      c.net.port = static_cast<std::uint16_t>(port);
    }
  } catch (const std::exception&) {
    return usage("--port expects a number");
  }
  c.net.address = a.option("address", c.net.address);
  if (a.options.count("log-level")) {
    const std::string l = a.option("log-level");
    if (l == "debug")
      c.log_level = LogLevel::debug;
    else if (l == "info")
      c.log_level = LogLevel::info;
    else if (l == "warn")
      c.log_level = LogLevel::warn;
    else if (l == "error")
      c.log_level = LogLevel::error;
    else
      return usage("--log-level expects debug, info, warn or error");
  }
  auto store = open_store(c);
  if (!store) return fail(store.error());
  if (Status s = (*store)->set_max_offline_days(c.max_offline_days); !s) return fail(s.error());
  Logger log(std::cerr, c.log_level);
  SyncServer server(c.net, **store, log, [path = c.store] { return file_bytes(path); });
  if (Status s = server.listen(); !s) return fail(s.error());
  // The port line on stdout lets scripts and tests find a port chosen with --port 0.
  std::cout << "listening on " << c.net.address << ":" << server.port() << std::endl;
  server.run(true);
  return 0;
}

int print_status(Status s, const std::string& done) {
  if (!s) return fail(s.error());
  std::cout << done << "\n";
  return 0;
}

// A request reference as part of a file name: letters, digits, - and _ kept.
std::string safe_file_name(const std::string& ref) {
  std::string out;
  for (char ch : ref)
    out += std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' ? ch : '_';
  return out;
}

// Creates `path` readable by its owner only, and fails if it exists: an
// export holds a person's data.
Status write_private_file(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0)
    return make_error(Errc::store_io, "cannot create '" + path + "': " + std::strerror(errno));
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  const bool ok = done == text.size() && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return make_error(Errc::store_io, "cannot write '" + path + "'");
  return Status::Ok();
}

std::string csv_value(const nlohmann::json& v) {
  return v.is_string() ? v.get<std::string>() : v.is_null() ? std::string() : v.dump();
}

// The export as one CSV table: section, entity, record, field, value, when,
// who, device; one row per value.
std::string export_csv(const nlohmann::json& doc) {
  std::string out = "section,entity,record,field,value,when,who,device\r\n";
  auto row = [&](std::initializer_list<std::string> cells) {
    bool first = true;
    for (const auto& c : cells) {
      if (!first) out += ',';
      out += exchange::csv_cell(c, ',');
      first = false;
    }
    out += "\r\n";
  };
  const auto& req = doc["request"];
  row({"request", "", csv_value(req["ref"]), "received", csv_value(req["received"]), "", "", ""});
  row({"request", "", csv_value(req["ref"]), "deadline", csv_value(req["deadline"]), "", "", ""});
  for (const auto& r : doc["records"])
    for (const auto& [field, value] : r["fields"].items())
      row({"record", csv_value(r["entity"]), csv_value(r["id"]), field, csv_value(value), "", "",
           ""});
  for (const auto& h : doc["history"])
    for (const auto& [field, value] : h["values"].items())
      row({"history", csv_value(h["entity"]), csv_value(h["record"]), field, csv_value(value),
           csv_value(h["at"]), csv_value(h["author"]), ""});
  for (const auto& c : doc["consent"])
    for (const auto& [field, value] : c.items())
      if (field != "id")
        row({"consent", "consent", csv_value(c["id"]), field, csv_value(value),
             csv_value(c["captured_at"]), csv_value(c["collected_by"]), ""});
  for (const auto& e : doc["access_log"])
    row({"access", "", "", "action", csv_value(e["action"]), csv_value(e["at"]),
         csv_value(e["user"]), csv_value(e["device"])});
  return out;
}

int cmd_admin(const Args& a, const ServerConfig& c) {
  auto store = open_store(c);
  if (!store) return fail(store.error());
  ServerStore& s = **store;
  const auto& w = a.words;
  const std::string what = w[0] + (w.size() > 1 ? " " + w[1] : "");
  if (what == "site add" && w.size() == 3) return print_status(s.create_site(w[2]), "site " + w[2]);
  if (what == "site list" && w.size() == 2) {
    auto sites = s.sites();
    if (!sites) return fail(sites.error());
    for (const auto& site : *sites) std::cout << site << "\n";
    return 0;
  }
  if (what == "user add" && w.size() == 3) {
    auto role = parse_role(a.option("role"));
    if (!role) return usage("user add needs --role counsellor|site_manager|central|dpo|admin");
    return print_status(s.create_user(w[2], *role, a.option("site")), "user " + w[2]);
  }
  if (what == "user password" && w.size() == 3) {
    // From standard input, never an argument (the process list shows those).
    if (isatty(0)) std::cerr << "password for " << w[2] << " (at least 10 characters): ";
    std::string password;
    if (!std::getline(std::cin, password))
      return usage("user password reads the password from standard input");
    if (!password.empty() && password.back() == '\r') password.pop_back();
    auto verifier = sync::make_password_verifier(password);
    if (!verifier) return fail(verifier.error());
    return print_status(s.set_password(w[2], *verifier),
                        "password of " + w[2] + " (sent to its replicas at their next sync)");
  }
  if (what == "user list" && w.size() == 2) {
    auto users = s.users();
    if (!users) return fail(users.error());
    for (const auto& u : *users)
      std::cout << std::left << std::setw(24) << u.id << std::setw(14) << role_name(u.role)
                << (u.site.empty() ? "*" : u.site) << "\n";
    return 0;
  }
  if (w[0] == "enroll-code" && w.size() == 2) {
    long hours = 72;
    try {
      hours = std::stol(a.option("hours", "72"));
    } catch (const std::exception&) {
      return usage("--hours expects a number");
    }
    if (hours < 1 || hours > 24 * 30) return usage("--hours must be between 1 and 720");
    auto code = s.issue_code(w[1], std::chrono::hours(hours));
    if (!code) return fail(code.error());
    std::cout << code->code << "\n";
    std::cerr << "one-time code for " << code->user << ", valid until " << code->expires << "\n";
    return 0;
  }
  if (what == "device list" && w.size() == 2) {
    auto devices = s.devices();
    if (!devices) return fail(devices.error());
    for (const auto& d : *devices)
      std::cout << d.id << "  " << std::left << std::setw(20) << d.user << std::setw(20)
                << (d.central ? "*" : d.site)
                << (d.revoked.empty() ? "active" : "revoked " + d.revoked) << "  last seen "
                << (d.last_seen.empty() ? "never" : d.last_seen) << "\n";
    return 0;
  }
  if (what == "device revoke" && w.size() == 3)
    return print_status(s.revoke_device(w[2]), "revoked " + w[2]);
  if (w[0] == "restore" && w.size() == 2) {
    store->reset();  // release the file before replacing it
    return print_status(restore_sqlite_store(w[1], c.store, schema::Schema::builtin()),
                        "restored " + c.store + " from " + w[1] +
                            "; replicas will pull everything again at their next sync");
  }
  if (w[0] == "backup" && w.size() == 2)
    return print_status(s.backup(w[1]), "backup written to " + w[1]);
  if (w[0] == "digest" && w.size() == 1) {
    auto d = s.digest();
    if (!d) return fail(d.error());
    std::cout << *d << "\n";
    return 0;
  }
  if (what == "rgpd erase" && w.size() == 3) {
    if (a.option("request").empty() || a.option("by").empty())
      return usage("rgpd erase needs --request REF and --by DPO");
    auto e = s.erase_person(w[2], a.option("request"), a.option("by"));
    if (!e) return fail(e.error());
    std::cout << "erased person " << e->person << " (" << e->records << " records) for request "
              << e->request << "; erasure " << e->id << "\n"
              << "each device applies it at its next sync: see `relais-server rgpd status`\n";
    if (Status cleaned = s.compact(); !cleaned)
      std::cerr << "relais-server: the erasure is done, but " << cleaned.error().message << "\n";
    return 0;
  }
  if (what == "rgpd status" && w.size() == 2) {
    auto all = s.erasure_status();
    if (!all) return fail(all.error());
    if (all->empty()) std::cout << "no erasure\n";
    for (const auto& st : *all) {
      const Erasure& e = st.erasure;
      std::cout << e.id << "  " << e.at << "  request " << e.request << "  by " << e.by << "  "
                << e.records << " records  " << st.receipts.size() << "/"
                << st.receipts.size() + st.pending.size() << " devices applied\n";
      for (const auto& d : st.pending) std::cout << "  pending on device " << d << "\n";
    }
    return 0;
  }
  if (what == "rgpd request" && w.size() == 4 && w[2] == "add") {
    RightsRequest r{
        w[3], a.option("person"), a.option("kind"), a.option("received"), "", a.option("by"), "",
        ""};
    if (r.person.empty() || r.kind.empty() || r.received.empty() || r.by.empty())
      return usage("rgpd request add needs --person, --kind, --received and --by");
    if (Status st = s.add_request(r); !st) return fail(st.error());
    std::cout << "request " << r.ref << " recorded; answer by " << *request_deadline(r.received)
              << "\n";
    return 0;
  }
  if ((what == "rgpd requests" || what == "rgpd overdue") && w.size() == 2) {
    auto all = s.requests();
    if (!all) return fail(all.error());
    const std::string today = store::utc_now_iso().substr(0, 10);
    std::cout << "ref,person,kind,received,deadline,state,outcome\n";
    for (const auto& r : *all) {
      const std::string state = !r.closed.empty()    ? "answered " + r.closed
                                : r.deadline < today ? "OVERDUE"
                                                     : "open";
      if (w[1] == "overdue" && state != "OVERDUE") continue;
      std::cout << r.ref << "," << r.person << "," << r.kind << "," << r.received << ","
                << r.deadline << "," << state << "," << r.outcome << "\n";
    }
    return 0;
  }
  if (what == "rgpd export" && w.size() == 3) {
    if (a.option("request").empty() || a.option("by").empty())
      return usage("rgpd export needs --request REF and --by DPO");
    auto doc = s.export_person(w[2], a.option("request"), a.option("by"));
    if (!doc) return fail(doc.error());
    const std::filesystem::path dir = a.option("out", ".");
    const std::string base = "relais-export-" + safe_file_name(a.option("request"));
    const std::string json_path = (dir / (base + ".json")).string();
    const std::string csv_path = (dir / (base + ".csv")).string();
    if (Status st = write_private_file(json_path, doc->dump(2) + "\n"); !st)
      return fail(st.error());
    if (Status st = write_private_file(csv_path, export_csv(*doc)); !st) return fail(st.error());
    std::cout << "wrote " << json_path << " and " << csv_path << " (" << (*doc)["records"].size()
              << " records, " << (*doc)["history"].size() << " changes, "
              << (*doc)["access_log"].size() << " reads); request " << a.option("request")
              << " answered\n";
    return 0;
  }
  if (w.size() >= 2 && what.starts_with("rgpd retention") &&
      (w.size() == 2 || (w.size() == 3 && w[2] == "apply"))) {
    const bool apply = w.size() == 3;
    if (a.option("by").empty()) return usage("rgpd retention needs --by DPO");
    int days = 365;
    try {
      days = std::stoi(a.option("access-days", "365"));
    } catch (const std::exception&) {
      return usage("--access-days expects a number");
    }
    if (days < 1) return usage("--access-days must be at least 1");
    auto r = s.retention(a.option("by"), apply, std::time(nullptr), days);
    if (!r) return fail(r.error());
    std::cout << (apply ? "" : "dry run: ") << r->persons.size() << " person(s) last contacted "
              << "before " << r->person_cutoff << " (rule " << r->rule << ") "
              << (apply ? "erased" : "would be erased") << "\n";
    for (const auto& found : r->persons)
      std::cout << "  " << found.person << "  last contact " << found.last_contact << "\n";
    std::cout << r->access_entries << " access-log entr" << (r->access_entries == 1 ? "y" : "ies")
              << " before " << r->access_cutoff << (apply ? " deleted" : " would be deleted")
              << "\n";
    if (apply && !r->persons.empty()) {
      std::cout << "each device applies the erasures at its next sync: see `relais-server rgpd "
                   "status`\n";
      if (Status cleaned = s.compact(); !cleaned)
        std::cerr << "relais-server: the erasures are done, but " << cleaned.error().message
                  << "\n";
    }
    return 0;
  }
  if (w[0] == "audit") {
    AuditRequest request{w, a.option("from"), a.option("to"), a.flag("csv")};
    if (Status st = run_audit(s, request, std::cout); !st) return fail(st.error());
    return 0;
  }
  return usage("unknown command or wrong arguments: " + what);
}

int run(int argc, char** argv) {
  Args a;
  static const std::set<std::string> kValued = {
      "config", "port",   "address", "log-level", "role", "site",        "hours", "host", "request",
      "by",     "person", "kind",    "received",  "out",  "access-days", "from",  "to"};
  static const std::set<std::string> kFlags = {"csv"};
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (arg.starts_with("--")) {
      const std::string name = arg.substr(2);
      if (kFlags.count(name)) {
        a.flags.insert(name);
        continue;
      }
      if (!kValued.count(name)) return usage("unknown option " + arg);
      if (i + 1 >= argc) return usage(arg + " needs a value");
      if (name == "config")
        a.config = argv[++i];
      else
        a.options.emplace(name, argv[++i]);
    } else {
      a.words.push_back(arg);
    }
  }
  if (a.words.empty()) return usage("no command");
  if (a.words[0] == "init" && a.words.size() == 1) return cmd_init(a);
  auto c = load_config(a.config);
  if (!c) return fail(c.error());
  if (a.words[0] == "serve" && a.words.size() == 1) return cmd_serve(a, *c);
  return cmd_admin(a, *c);
}

}  // namespace
}  // namespace relais::server

int main(int argc, char** argv) {
  try {
    return relais::server::run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "relais-server: internal error: " << e.what() << "\n";
    return 1;
  }
}
