// The fixture of the end-to-end suites: a real relais-server process on
// 127.0.0.1 with real TLS, and replicas enrolled with it that sync through
// the library's client session over the real transport.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "loopback.h"
#include "relais/sync/client.h"
#include "relais/transport/ws_client.h"
#include "server_process.h"

namespace relais::testing {

// Drives a ClientSession until in sync (or forever with `watch`).
class SessionConversation : public transport::Conversation {
 public:
  SessionConversation(sync::ClientSession& s, bool watch,
                      std::function<void(std::string_view)> on_receive = nullptr)
      : session_(s), watch_(watch), on_receive_(std::move(on_receive)) {}
  Result<std::vector<std::string>> opening() override {
    auto hello = session_.start();
    if (!hello) return hello.error();
    return std::vector<std::string>{*hello};
  }
  Result<std::vector<std::string>> on_message(std::string_view text) override {
    if (on_receive_) on_receive_(text);
    return session_.receive(text);
  }
  Result<std::vector<std::string>> on_tick() override {
    return watch_ ? session_.local_changed() : std::vector<std::string>();
  }
  bool finished() const override { return !watch_ && session_.in_sync(); }

 private:
  sync::ClientSession& session_;
  bool watch_;
  std::function<void(std::string_view)> on_receive_;
};

// Sends fixed messages, then keeps what the server answers until `expect`
// messages arrived.
class Scripted : public transport::Conversation {
 public:
  Scripted(std::vector<std::string> messages, std::size_t expect)
      : messages_(std::move(messages)), expect_(expect) {}
  Result<std::vector<std::string>> opening() override { return messages_; }
  Result<std::vector<std::string>> on_message(std::string_view text) override {
    received.emplace_back(text);
    return std::vector<std::string>();
  }
  bool finished() const override { return received.size() >= expect_; }
  std::vector<std::string> received;

 private:
  std::vector<std::string> messages_;
  std::size_t expect_;
};

class SyncEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ServerProcess>(RELAIS_SERVER_BIN, dir_.path() / "server");
    auto admin = server_->admin();
    must(admin->create_site("lyon"));
    must(admin->create_site("marseille"));
    must(admin->create_user("samia", server::Role::counsellor, "lyon"));
    must(admin->create_user("karim", server::Role::counsellor, "lyon"));
    must(admin->create_user("lea", server::Role::counsellor, "marseille"));
    must(admin->create_user("central", server::Role::central, ""));
    must(admin->create_user("lea_lyon", server::Role::counsellor, "lyon"));
    server_->start();
  }

  transport::ClientOptions options() const {
    transport::ClientOptions o;
    o.ca_file = server_->certificate();
    o.idle_timeout = std::chrono::seconds(10);
    return o;
  }

  // A new replica for `user`, enrolled with the server.
  // `wall` is its wall clock (a fake one makes records look old).
  std::unique_ptr<store::Replica> enrolled(
      const std::string& user, const std::string& site,
      store::HybridClock::WallClock wall = store::HybridClock::system_wall_ms) {
    auto r = must(store::Replica::create(dir_.file(user + ".db"), site, user,
                                         schema::Schema::builtin(), std::move(wall)));
    const auto code = must(server_->admin()->issue_code(user, std::chrono::hours(1)));
    sync::Enrollment enrollment(*r, server_->url(), code.code);
    Scripted talk({enrollment.start()}, 1);
    must(transport::converse(server_->url(), talk, options()));
    must(enrollment.receive(talk.received.at(0)));
    return r;
  }

  Status sync(store::Replica& r, const std::string& url = "", sync::SyncCounts* counts = nullptr) {
    sync::ClientSession session(r, 200);
    SessionConversation talk(session, false);
    Status s = transport::converse(url.empty() ? server_->url() : url, talk, options());
    if (s && session.needs_compact()) s = r.compact();
    if (counts) *counts = session.counts();
    return s;
  }

  // Syncs until it succeeds, as `relais sync --watch` would; the number of
  // attempts it took.
  int sync_until_done(store::Replica& r, const std::string& url) {
    for (int attempt = 1; attempt <= 300; ++attempt)
      if (sync(r, url)) return attempt;
    ADD_FAILURE() << "never got through";
    return 0;
  }

  // The hello message `r` would send.
  std::string hello(store::Replica& r, int schema_version = 0) {
    sync::Hello h{sync::kProtocolVersion, schema_version ? schema_version : r.info().schema_version,
                  r.info().replica_id, *r.setting(std::string(sync::kDeviceKey)),
                  *r.setting(std::string(sync::kCredentialKey))};
    return sync::encode(h);
  }

  static Errc error_code(const std::string& message) {
    const auto j = nlohmann::json::parse(message);
    EXPECT_EQ(j.at("type"), "error") << message;
    return static_cast<Errc>(j.value("code", 0));
  }

  std::string person(store::Replica& r, const std::string& first) {
    return must(r.create_record("person", {{"first_name", first}, {"last_name", "Test"}}));
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
};

}  // namespace relais::testing
