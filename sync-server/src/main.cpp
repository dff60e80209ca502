// relais-server: the central sync server and its administration commands.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <set>

#include "relais/server/config.h"
#include "relais/server/net.h"
#include "relais/server/tls_setup.h"

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
    "  enroll-code USER [--hours N]      one-time code to enroll a device (default 72 hours)\n"
    "  device list | device revoke DEVICE\n"
    "  backup DEST                       consistent copy of the store, while serving\n"
    "  restore BACKUP                    replace the store by a backup (server stopped)\n"
    "  digest                            digest of the merged data of all sites\n"
    "  rgpd erase PERSON --request REF --by DPO\n"
    "                                    erase a person everywhere (their replicas at their\n"
    "                                    next sync); REF is the reference of their request\n"
    "  rgpd status                       erasures and the devices yet to apply them\n"
    "  audit person PERSON               who read that person's data, where and when\n"
    "  audit breaks                      breaks found in the replicas' access-log chains\n\n"
    "exit codes: 0 ok, 1 failure, 2 usage, 3 not allowed, 4 not found\n";

struct Args {
  std::string config = "relais-server.json";
  std::vector<std::string> words;
  std::multimap<std::string, std::string> options;
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
  if (what == "audit person" && w.size() == 3) {
    auto entries = s.accesses_of(w[2]);
    if (!entries) return fail(entries.error());
    std::cout << "at,user,action,device,seq\n";
    for (const auto& e : *entries)
      std::cout << e.at << "," << e.user << "," << e.action << "," << e.device << "," << e.seq
                << "\n";
    return 0;
  }
  if (what == "audit breaks" && w.size() == 2) {
    auto breaks = s.access_breaks();
    if (!breaks) return fail(breaks.error());
    if (breaks->empty()) std::cout << "every access-log chain received is intact\n";
    for (const auto& b : *breaks)
      std::cout << b.at << "  device " << b.device << "  entry " << b.seq << "  " << b.kind << ": "
                << b.message << "\n";
    return 0;
  }
  return usage("unknown command or wrong arguments: " + what);
}

int run(int argc, char** argv) {
  Args a;
  static const std::set<std::string> kValued = {"config", "port",  "address", "log-level", "role",
                                                "site",   "hours", "host",    "request",   "by"};
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (arg.starts_with("--")) {
      const std::string name = arg.substr(2);
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
