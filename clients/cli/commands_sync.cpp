// relais enroll, relais sync [--watch]: the replica and relais-server.
#include <csignal>
#include <filesystem>
#include <iostream>
#include <random>
#include <thread>

#include "cli.h"
#include "relais/sync/client.h"
#include "relais/transport/sync_conversation.h"
#include "relais/transport/ws_client.h"

namespace relais::cli {
namespace {

using nlohmann::json;

std::atomic<bool> g_stop{false};
extern "C" void on_stop_signal(int) {
  g_stop = true;
}

class EnrollConversation final : public transport::Conversation {
 public:
  explicit EnrollConversation(sync::Enrollment& e) : enrollment_(e) {}
  Result<std::vector<std::string>> opening() override {
    return std::vector<std::string>{enrollment_.start()};
  }
  Result<std::vector<std::string>> on_message(std::string_view text) override {
    auto r = enrollment_.receive(text);
    if (!r) return r.error();
    result_ = *r;
    return std::vector<std::string>();
  }
  bool finished() const override { return result_.has_value(); }
  const std::optional<sync::Enrolled>& result() const { return result_; }

 private:
  sync::Enrollment& enrollment_;
  std::optional<sync::Enrolled> result_;
};

transport::ClientOptions client_options(store::Replica& r, const Args& args) {
  transport::ClientOptions o;
  o.ca_file = args.option("ca").value_or(r.setting(std::string(sync::kCaFileKey)).value_or(""));
  o.stop = &g_stop;
  return o;
}

Status cmd_enroll(Context& ctx) {
  auto r = ctx.replica();
  if (!r) return r.error();
  const auto& pos = ctx.args().positional;
  if ((*r)->setting(std::string(sync::kDeviceKey)) && !ctx.args().flag("again"))
    return make_error(Errc::invalid_argument,
                      "this replica is already enrolled with " +
                          (*r)->setting(std::string(sync::kServerUrlKey)).value_or("a server") +
                          " (--again enrolls it anew, after a revocation)");
  auto endpoint = transport::parse_url(pos[0]);
  if (!endpoint) return endpoint.error();
  auto options = client_options(**r, ctx.args());
  if (!options.ca_file.empty()) {
    std::error_code ec;
    options.ca_file = std::filesystem::absolute(options.ca_file, ec).string();
  }
  sync::Enrollment enrollment(**r, pos[0], pos[1]);
  EnrollConversation conversation(enrollment);
  if (Status s = transport::converse(pos[0], conversation, options); !s) return s;
  if (!conversation.result())
    return make_error(Errc::network, "the server closed the connection before answering");
  if (!options.ca_file.empty())
    if (Status s = (*r)->set_settings({{std::string(sync::kCaFileKey), options.ca_file}}); !s)
      return s;
  const auto& e = *conversation.result();
  if (ctx.json())
    ctx.out() << json{{"server", e.server},
                      {"device", e.device},
                      {"user", e.user},
                      {"site", e.central ? "*" : e.site}}
              << "\n";
  else
    ctx.out() << "enrolled as device " << e.device << " of " << e.user << " ("
              << (e.central ? "all sites" : "site " + e.site) << ") with server " << e.server
              << "\n";
  return Status::Ok();
}

void print_counts(Context& ctx, const sync::SyncCounts& c, bool in_sync) {
  if (ctx.json())
    ctx.out() << json{{"pushed", c.pushed},     {"pulled", c.pulled}, {"pulled_new", c.pulled_new},
                      {"erasures", c.erasures}, {"purged", c.purged}, {"in_sync", in_sync}}
              << "\n";
  else
    ctx.out() << "sent " << c.pushed << " change(s), received " << c.pulled << " (" << c.pulled_new
              << " new)"
              << (c.erasures ? "; applied " + std::to_string(c.erasures) + " erasure(s)" : "")
              << (c.purged ? "; " + std::to_string(c.purged) +
                                 " change(s) of erased persons kept without their values"
                           : "")
              << (in_sync ? "; in sync" : "") << "\n";
}

Status cmd_sync(Context& ctx) {
  auto r = ctx.replica();
  if (!r) return r.error();
  const auto url = (*r)->setting(std::string(sync::kServerUrlKey));
  if (!url)
    return make_error(Errc::not_enrolled, "this replica is not enrolled (run `relais enroll`)");
  const bool watch = ctx.args().flag("watch");
  const auto options = client_options(**r, ctx.args());
  if (!watch) {
    sync::ClientSession session(**r);
    transport::SyncConversation conversation(session, false);
    Status s = transport::converse(*url, conversation, options);
    print_counts(ctx, session.counts(), s.ok() && session.in_sync());
    if (session.needs_compact())
      if (Status c = (*r)->compact(); !c) return c;
    return s;
  }
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  transport::WatchEvents events;
  events.in_sync = [] { std::cerr << "relais: in sync; watching for changes (Ctrl-C to stop)\n"; };
  events.disconnected = [](const std::optional<Error>& error, std::chrono::milliseconds retry) {
    std::cerr << "relais: " << (error ? error->message : std::string("connection closed"))
              << "; retrying in " << retry.count() << " ms\n";
  };
  return transport::watch(**r, options, events);
}

}  // namespace

const std::vector<Command>& sync_commands() {
  static const std::vector<Command> commands = {
      {"enroll",
       "URL CODE [--ca FILE] [--again]",
       "enroll this replica with a server",
       "Trades a one-time CODE (from `relais-server enroll-code`) for a device credential,\n"
       "kept in the replica. URL is wss://host:port. --ca names the PEM certificate to\n"
       "trust (the server's own, when it is self-signed); it is remembered. --again\n"
       "replaces an earlier enrollment (a revoked device, with a new code).",
       {{"ca"}, {"again"}},
       2,
       2,
       cmd_enroll},
      {"sync",
       "[--watch] [--ca FILE]",
       "sync with the server",
       "Sends what the server lacks and receives what this replica may see. Without\n"
       "--watch, exits once both sides hold the same (exit 0), or with the reason it\n"
       "could not. With --watch, stays connected: changes flow both ways as they are\n"
       "made, and it reconnects after any cut, waiting longer each time (up to 30 s).",
       {{"ca"}, {"watch"}},
       0,
       0,
       cmd_sync},
  };
  return commands;
}

}  // namespace relais::cli
