// relais serve, relais account: the replica as a local web server, and the
// accounts people log in to it with.
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <thread>

#include "cli.h"
#include "relais/serve/api.h"
#include "relais/serve/background_sync.h"
#include "relais/serve/http.h"
#include "relais/sync/accounts.h"
#include "relais/sync/client.h"

namespace relais::cli {
namespace {

using nlohmann::json;

std::atomic<bool> g_serve_stop{false};
extern "C" void on_serve_signal(int) {
  g_serve_stop = true;
}

// "ADDRESS:PORT" or "PORT".
Status parse_listen(const std::string& text, serve::HttpOptions& options) {
  const auto colon = text.rfind(':');
  const std::string port = colon == std::string::npos ? text : text.substr(colon + 1);
  if (colon != std::string::npos) options.address = text.substr(0, colon);
  if (options.address == "localhost") options.address = "127.0.0.1";
  auto n = parse_count(port);
  if (!n || *n > 65535)
    return make_error(Errc::invalid_argument,
                      "--listen takes ADDRESS:PORT or PORT, not '" + text + "'");
  options.port = static_cast<std::uint16_t>(*n);
  return Status::Ok();
}

// The web app's build: --web, else the one built in this source tree, else
// the installed one; empty if none is there (the API alone is served).
std::string web_root(const Args& args) {
  if (auto web = args.option("web")) return *web;
  std::error_code ec;
  for (const char* dir : {RELAIS_SOURCE_WEB_DIR, RELAIS_INSTALLED_WEB_DIR})
    if (std::filesystem::is_regular_file(std::filesystem::path(dir) / "index.html", ec)) return dir;
  return "";
}

Status cmd_serve(Context& ctx) {
  // Open (and migrate) the replica once here, so that a bad file is
  // reported before anything listens.
  auto r = ctx.replica();
  if (!r) return r.error();
  const std::string site = (*r)->info().site;
  const bool enrolled = (*r)->setting(std::string(sync::kCredentialKey)).has_value();
  auto accounts = sync::Accounts::open(**r);
  if (!accounts) return accounts.error();
  auto list = accounts->list();
  if (!list) return list.error();

  serve::HttpOptions http;
  if (auto listen = ctx.args().option("listen"))
    if (Status s = parse_listen(*listen, http); !s) return s;
  http.cert_file = ctx.args().option("tls-cert").value_or("");
  http.key_file = ctx.args().option("tls-key").value_or("");
  if (http.cert_file.empty() != http.key_file.empty())
    return make_error(Errc::invalid_argument,
                      "--tls-cert and --tls-key go together: give the certificate and its key");
  if (http.address != "127.0.0.1" && http.cert_file.empty())
    return make_error(Errc::invalid_argument,
                      "listening on " + http.address +
                          " exposes the replica to the network: give --tls-cert and --tls-key");

  std::unique_ptr<serve::BackgroundSync> background;
  if (enrolled && !ctx.args().flag("no-sync")) {
    background = std::make_unique<serve::BackgroundSync>(
        ctx.args().replica_path, schema::Schema::builtin(), ctx.args().option("ca").value_or(""));
  }
  serve::ApiOptions api_options;
  api_options.replica = ctx.args().replica_path;
  api_options.web_root = web_root(ctx.args());
  auto api = serve::Api::open(
      api_options, schema::Schema::builtin(),
      [b = background.get()]() -> serve::SyncState { return b ? b->state() : serve::SyncState{}; });
  if (!api) return api.error();
  // Before the address is printed: whoever reads it may stop us at once.
  std::signal(SIGINT, on_serve_signal);
  std::signal(SIGTERM, on_serve_signal);
  auto server = serve::HttpServer::start(
      http, [a = api->get()](const serve::HttpRequest& req) { return a->handle(req); });
  if (!server) return server.error();
  if (background) background->start();

  const std::string url = std::string(http.cert_file.empty() ? "http" : "https") + "://" +
                          http.address + ":" + std::to_string((*server)->port());
  if (ctx.json()) {
    ctx.out() << json{{"url", url},
                      {"site", site},
                      {"web", api_options.web_root},
                      {"sync", background != nullptr}}
              << std::endl;
  } else {
    ctx.out() << "relais serve: " << url << " — replica of site " << site << "\n"
              << "  web app: "
              << (api_options.web_root.empty() ? "none (API only; build clients/web)"
                                               : api_options.web_root)
              << "\n  sync: "
              << (background ? "in the background"
                  : enrolled ? "off (--no-sync)"
                             : "off (replica not enrolled)")
              << "\n  accounts: " << list->size()
              << (list->empty() ? " — nobody can log in yet (relais account add)" : "") << "\n"
              << "Ctrl-C to stop." << std::endl;
  }
  while (!g_serve_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  (*server)->stop();
  if (background) background->stop();
  std::cerr << "relais serve: stopped\n";
  return Status::Ok();
}

// The password, from the first line of standard input (never an argument:
// those show in the process list and the shell's history).
Result<std::string> read_password() {
  if (isatty(0)) std::cerr << "password (at least " << sync::kMinPasswordLength << " characters): ";
  std::string line;
  if (!std::getline(std::cin, line))
    return make_error(Errc::invalid_argument, "no password on standard input");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

Status cmd_account(Context& ctx) {
  auto r = ctx.replica();
  if (!r) return r.error();
  auto accounts = sync::Accounts::open(**r);
  if (!accounts) return accounts.error();
  const auto& pos = ctx.args().positional;
  const std::string& what = pos[0];
  if (what == "add" && pos.size() == 2) {
    const auto role = ctx.args().option("role");
    if (!role) return make_error(Errc::invalid_argument, "account add needs --role ROLE");
    auto password = read_password();
    if (!password) return password.error();
    auto verifier = sync::make_password_verifier(*password);
    if (!verifier) return verifier.error();
    const std::string site = ctx.args().option("site").value_or((*r)->info().site);
    if (Status s = accounts->put_local({pos[1], *role, site, *verifier, false}); !s) return s;
    ctx.out() << "account " << pos[1] << " (" << *role << ", site " << site << ") saved\n";
    return Status::Ok();
  }
  if (what == "remove" && pos.size() == 2) {
    if (Status s = accounts->remove_local(pos[1]); !s) return s;
    ctx.out() << "account " << pos[1] << " removed\n";
    return Status::Ok();
  }
  if (what == "list" && pos.size() == 1) {
    auto list = accounts->list();
    if (!list) return list.error();
    if (ctx.json()) {
      json out = json::array();
      for (const auto& a : *list)
        out.push_back({{"user", a.user},
                       {"role", a.role},
                       {"site", a.site},
                       {"source", a.from_server ? "server" : "local"}});
      ctx.out() << out << "\n";
      return Status::Ok();
    }
    for (const auto& a : *list)
      ctx.out() << std::left << std::setw(20) << a.user << std::setw(14) << a.role << std::setw(14)
                << a.site << (a.from_server ? "from the server" : "local") << "\n";
    ctx.out() << list->size() << " account(s)\n";
    return Status::Ok();
  }
  return make_error(
      Errc::invalid_argument,
      "usage: relais account add USER --role ROLE [--site SITE] | remove USER | list");
}

}  // namespace

const std::vector<Command>& serve_commands() {
  static const std::vector<Command> commands = {
      {"serve",
       "[--listen [ADDRESS:]PORT] [--web DIR] [--tls-cert FILE --tls-key FILE] [--ca FILE] "
       "[--no-sync]",
       "serve the web app and its API over this replica",
       "Runs the replica as a local web server: the web app (clients/web, built) and\n"
       "the JSON API of docs/api.md, with login against the accounts kept in the\n"
       "replica, so everything works with no network. When the replica is enrolled,\n"
       "it also stays in sync with the server in the background, reconnecting\n"
       "whenever the server can be reached again (--no-sync: not at all).\n"
       "--listen defaults to 127.0.0.1:8080; another address (a laptop's Wi-Fi\n"
       "hotspot for phones at an event) needs --tls-cert and --tls-key (PEM).\n"
       "--web names the built app (default: clients/web/dist of the source tree, or\n"
       "the installed one). Stops on Ctrl-C or SIGTERM.",
       {{"listen", "web", "tls-cert", "tls-key", "ca"}, {"no-sync"}},
       0,
       0,
       cmd_serve},
      {"account",
       "add USER --role ROLE [--site SITE] | remove USER | list",
       "manage who may log in to `relais serve`",
       "An enrolled replica receives its accounts from the server at each sync\n"
       "(relais-server user add, user password), and refuses local ones. A replica\n"
       "that works with no server has local accounts: `account add` reads the\n"
       "password (at least 10 characters) from the first line of standard input and\n"
       "keeps only a salted PBKDF2 verifier. Roles: counsellor, site_manager,\n"
       "central, dpo, admin; the site defaults to the replica's.",
       {{"role", "site"}},
       1,
       2,
       cmd_account},
  };
  return commands;
}

}  // namespace relais::cli
