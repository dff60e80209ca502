// The JSON API of `relais serve` (docs/api.md), tested against the real
// program on 127.0.0.1: sessions, CSRF, roles, validation, the screens'
// routes, the access log, static files; and two `relais serve` of one site
// kept in sync through a real relais-server.
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "http_client.h"
#include "relais/server/tls_setup.h"
#include "relais/store/access_log.h"
#include "relais/sync/accounts.h"
#include "replicas.h"
#include "serve_process.h"
#include "server_process.h"
#include "sync_fixture.h"

namespace relais::testing {
namespace {

using nlohmann::json;

constexpr char kPassword[] = "correct horse battery";

// A verifier that is quick to check: the tests log in often.
std::string quick_verifier(const std::string& password) {
  return must(sync::make_password_verifier(password, 1000));
}

// `text` as a URL query value.
std::string url_encoded(const std::string& text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// A replica of site "lyon" with accounts for each role the tests need, an
// event and a partner, served by a real `relais serve` with no sync.
class ServeApi : public ::testing::Test {
 protected:
  void SetUp() override {
    {
      auto r =
          must(store::Replica::create(replica_path(), "lyon", "samia", schema::Schema::builtin()));
      auto accounts = must(sync::Accounts::open(*r));
      for (const auto& [user, role] :
           {std::pair{"samia", "counsellor"}, {"marc", "site_manager"}, {"dora", "dpo"}})
        must(accounts.put_local({user, role, "lyon", quick_verifier(kPassword), false}));
      event_ = must(r->create_record(
          "event", {{"title", "Forum emploi"}, {"kind", "job_fair"}, {"date", "2026-12-03"}}));
      partner_ = must(r->create_record(
          "partner", {{"name", "Mission Locale Lyon"}, {"kind", "mission_locale"}}));
    }
    std::filesystem::create_directories(dir_.path() / "web" / "assets");
    std::ofstream(dir_.path() / "web" / "index.html") << "<!doctype html><title>Relais</title>";
    std::ofstream(dir_.path() / "web" / "assets" / "app-1234.js") << "console.log(1)";
    std::ofstream(dir_.path() / "secret.txt") << "outside the web root";
    serve_ = std::make_unique<ServeProcess>(
        RELAIS_BIN, replica_path(),
        std::vector<std::string>{"--no-sync", "--web", (dir_.path() / "web").string()},
        dir_.file("serve.log"));
  }

  // A failed test shows what the server said.
  void TearDown() override {
    if (!HasFailure()) return;
    std::ifstream log(dir_.file("serve.log"));
    std::cerr << "--- relais serve's log:\n" << log.rdbuf() << "---\n";
  }

  std::string replica_path() const { return dir_.file("lyon.db"); }
  std::uint16_t port() const { return serve_->port(); }

  // A browser logged in as `user`.
  HttpSession logged_in(const std::string& user) {
    HttpSession s(port());
    const auto r = s.login(user, kPassword);
    EXPECT_EQ(r.status, 200) << r.body;
    return s;
  }

  json capture_body(const std::string& first, const std::string& last, const std::string& phone) {
    return {{"person",
             {{"first_name", first},
              {"last_name", last},
              {"phone", phone},
              {"birth_date", "2008-05-14"}}},
            {"event", event_},
            {"consents", json::array({{{"purpose", "referral"}, {"method", "oral_at_event"}}})}};
  }

  // Captures a young person through the API; their id.
  std::string capture(HttpSession& s, const std::string& first, const std::string& last,
                      const std::string& phone = "06 12 34 56 78") {
    const auto r = s.post("/api/capture", capture_body(first, last, phone));
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json().at("id");
  }

  std::size_t persons_held() {
    auto r = must(store::Replica::open(replica_path(), schema::Schema::builtin()));
    return must(r->list("person", 1000)).size();
  }

  TempDir dir_;
  std::string event_;
  std::string partner_;
  std::unique_ptr<ServeProcess> serve_;
};

TEST_F(ServeApi, LoginSetsAnHttpOnlySameSiteCookieAndGivesTheCsrfToken) {
  HttpSession s(port());
  const auto r = s.login("samia", kPassword);
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string cookie = r.header("set-cookie");
  EXPECT_NE(cookie.find("relais_session="), std::string::npos);
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);
  EXPECT_EQ(r.json().at("role"), "counsellor");
  EXPECT_EQ(r.json().at("site"), "lyon");
  EXPECT_EQ(r.json().at("csrf").get<std::string>().size(), 64u);
  const auto session = s.get("/api/session");
  EXPECT_EQ(session.status, 200);
  EXPECT_EQ(session.json().at("user"), "samia");
}

TEST_F(ServeApi, WrongPasswordAndUnknownUserGetTheSameRefusal) {
  HttpSession s(port());
  const auto wrong = s.login("samia", "not the password");
  const auto unknown = s.login("nobody", kPassword);
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(wrong.body, unknown.body);
  EXPECT_EQ(wrong.error_name(), "bad_credentials");
  EXPECT_TRUE(wrong.header("set-cookie").empty());
}

TEST_F(ServeApi, RepeatedFailedLoginsLockTheUserOutForAWhile) {
  HttpSession s(port());
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(s.login("samia", "guess number " + std::to_string(i)).status, 401);
  const auto locked = s.login("samia", kPassword);  // even the right password, for now
  EXPECT_EQ(locked.status, 429) << locked.body;
  EXPECT_EQ(locked.error_name(), "too_many_attempts");
  EXPECT_GT(std::stoi(locked.header("retry-after")), 0);
}

TEST_F(ServeApi, RequestsWithoutASessionAreRefused) {
  HttpSession s(port());
  for (const char* target : {"/api/search?q=a", "/api/records/person", "/api/session"}) {
    const auto r = s.get(target);
    EXPECT_EQ(r.status, 401) << target;
    EXPECT_EQ(r.error_name(), "not_logged_in") << target;
  }
  HttpSession forged(port());
  const auto r = forged.request("GET", "/api/records/person", "",
                                {{"Cookie", "relais_session=0123456789abcdef"}});
  EXPECT_EQ(r.status, 401);
}

TEST_F(ServeApi, LogoutEndsTheSession) {
  auto s = logged_in("samia");
  EXPECT_EQ(s.request("POST", "/api/logout").status, 204);
  EXPECT_EQ(s.get("/api/session").status, 401);
}

TEST_F(ServeApi, AWriteWithoutTheCsrfTokenIsRefusedAndWritesNothing) {
  auto s = logged_in("samia");
  s.send_csrf = false;
  const auto r = s.post("/api/capture", capture_body("Lina", "Benali", "0611111111"));
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(r.error_name(), "csrf");
  EXPECT_EQ(persons_held(), 0u);
}

TEST_F(ServeApi, AWriteFromAnotherOriginIsRefused) {
  auto s = logged_in("samia");
  const auto r =
      s.request("POST", "/api/capture", capture_body("Lina", "Benali", "0611111111").dump(),
                {{"Origin", "http://evil.example"}});
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(persons_held(), 0u);
}

TEST_F(ServeApi, AnInvalidFieldIsNamedAndNothingIsWritten) {
  auto s = logged_in("samia");
  auto body = capture_body("Lina", "Benali", "0611111111");
  body["person"]["email"] = "lina-at-nowhere";
  const auto r = s.post("/api/capture", body);
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.json().at("error").at("field"), "email");
  EXPECT_NE(r.json().at("error").at("message").get<std::string>().find("email"), std::string::npos);
  EXPECT_EQ(persons_held(), 0u);
}

TEST_F(ServeApi, AMissingRequiredFieldIsNamed) {
  auto s = logged_in("samia");
  const auto r = s.post("/api/records/person", {{"fields", {{"first_name", "Lina"}}}});
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.json().at("error").at("name"), "missing_required");
  EXPECT_EQ(r.json().at("error").at("field"), "last_name");
}

TEST_F(ServeApi, AnUnknownFieldOrAValueOutsideTheListIsNamed) {
  auto s = logged_in("samia");
  const auto unknown =
      s.post("/api/records/person",
             {{"fields", {{"first_name", "A"}, {"last_name", "B"}, {"shoe_size", 42}}}});
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(unknown.json().at("error").at("field"), "shoe_size");
  const auto outside =
      s.post("/api/records/person",
             {{"fields", {{"first_name", "A"}, {"last_name", "B"}, {"situation", "astronaut"}}}});
  EXPECT_EQ(outside.status, 400);
  EXPECT_EQ(outside.json().at("error").at("field"), "situation");
  EXPECT_EQ(persons_held(), 0u);
}

TEST_F(ServeApi, AMalformedBodyIsABadRequest) {
  auto s = logged_in("samia");
  for (const char* body : {"{not json", "[1, 2]", "\"text\""}) {
    const auto r = s.request("POST", "/api/capture", body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_EQ(r.error_name(), "bad_request") << body;
  }
  EXPECT_EQ(persons_held(), 0u);
}

TEST_F(ServeApi, CaptureRecordsThePersonTheirMeetingAndTheirConsentWithItsNotice) {
  auto s = logged_in("samia");
  const std::string id = capture(s, "Inès", "Lefèvre");
  const auto file = s.get("/api/persons/" + id + "/file");
  ASSERT_EQ(file.status, 200) << file.body;
  const json j = file.json();
  EXPECT_EQ(j.at("person").at("fields").at("first_name"), "Inès");
  EXPECT_EQ(j.at("person").at("fields").at("met_at"), event_);
  EXPECT_EQ(j.at("person").at("fields").at("counsellor"), "samia");
  ASSERT_EQ(j.at("interactions").size(), 1u);
  EXPECT_EQ(j.at("interactions")[0].at("fields").at("event"), event_);
  ASSERT_EQ(j.at("consent_history").size(), 1u);
  const json consent = j.at("consent_history")[0];
  EXPECT_EQ(consent.at("purpose"), "referral");
  EXPECT_EQ(consent.at("status"), "given");
  EXPECT_EQ(consent.at("collected_by"), "samia");
  EXPECT_EQ(consent.at("notice_hash").get<std::string>().size(), 64u);
  const auto event = s.get("/api/events/" + event_ + "/persons");
  ASSERT_EQ(event.status, 200);
  ASSERT_EQ(event.json().at("persons").size(), 1u);
  EXPECT_EQ(event.json().at("persons")[0].at("id"), id);
}

TEST_F(ServeApi, ACaptureRefusedHalfWayWritesNothing) {
  auto s = logged_in("samia");
  json body = capture_body("Inès", "Lefèvre", "06 12 34 56 78");
  // The person is valid, but objects to the follow-up their meeting at the
  // event would be recorded for: the meeting is refused, so is the rest.
  body["person"]["objections"] = json::array({"follow_up"});

  const auto r = s.post("/api/capture", body);

  EXPECT_EQ(r.error_name(), "objection") << r.body;
  EXPECT_EQ(persons_held(), 0u);
  auto replica = must(store::Replica::open(replica_path(), schema::Schema::builtin()));
  EXPECT_TRUE(must(replica->list("consent", 10)).empty());
  EXPECT_TRUE(must(replica->list("interaction", 10)).empty());
  // And the next capture goes through whole.
  capture(s, "Hugo", "Petit", "07 11 22 33 44");
  EXPECT_EQ(persons_held(), 1u);
}

TEST_F(ServeApi, SearchIgnoresAccentsCaseAndPhoneSpacing) {
  auto s = logged_in("samia");
  const std::string ines = capture(s, "Inès", "Lefèvre", "06 12 34 56 78");
  capture(s, "Karim", "Haddad", "07 98 76 54 32");
  for (const char* q : {"ines", "LEFEVRE", "inès lef", "0612", "06 12 34", "+33612345678"}) {
    const auto r = s.get("/api/search?q=" + url_encoded(q));
    ASSERT_EQ(r.status, 200) << q;
    const json persons = r.json().at("persons");
    ASSERT_EQ(persons.size(), 1u) << q << ": " << r.body;
    EXPECT_EQ(persons[0].at("id"), ines) << q;
  }
  EXPECT_TRUE(s.get("/api/search?q=ines%20haddad").json().at("persons").empty());
}

TEST_F(ServeApi, EveryReadOfAPersonGoesToTheAccessLogWithoutAValue) {
  auto s = logged_in("samia");
  const std::string id = capture(s, "Inès", "Lefèvre");
  ASSERT_EQ(s.get("/api/search?q=lefevre").status, 200);
  ASSERT_EQ(s.get("/api/persons/" + id + "/file").status, 200);
  ASSERT_EQ(s.get("/api/records/person/" + id).status, 200);
  serve_->stop();

  auto r = must(store::Replica::open(replica_path(), schema::Schema::builtin()));
  auto log = must(store::AccessLog::open(*r));
  const auto entries = must(log.entries_after(0, 100));
  std::vector<std::string> actions;
  for (const auto& e : entries) {
    EXPECT_EQ(e.person, id);
    EXPECT_EQ(e.user, "samia");
    EXPECT_EQ(e.device, r->info().replica_id);
    for (const auto* field : {&e.at, &e.user, &e.person, &e.action})
      EXPECT_EQ(field->find("Lef"), std::string::npos);
    actions.push_back(e.action);
  }
  EXPECT_EQ(actions, (std::vector<std::string>{"search", "open", "open"}));
  EXPECT_FALSE(store::verify_chain({}, r->info().replica_id, entries).has_value());
}

TEST_F(ServeApi, TheDpoRoleDoesNotWorkOnRecords) {
  auto s = logged_in("dora");
  for (const char* target : {"/api/records/person", "/api/search?q=a", "/api/pipeline"}) {
    const auto r = s.get(target);
    EXPECT_EQ(r.status, 403) << target;
    EXPECT_EQ(r.error_name(), "role_required") << target;
  }
  EXPECT_EQ(s.get("/api/sync").status, 200);  // shows no personal data
}

TEST_F(ServeApi, OnlyASiteManagerDeletesARecord) {
  auto samia = logged_in("samia");
  const std::string id = capture(samia, "Inès", "Lefèvre");
  const auto refused = samia.request("DELETE", "/api/records/person/" + id);
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_EQ(persons_held(), 1u);
  auto marc = logged_in("marc");
  EXPECT_EQ(marc.request("DELETE", "/api/records/person/" + id).status, 204);
  EXPECT_EQ(persons_held(), 0u);
}

TEST_F(ServeApi, AReferralNeedsConsentAndMovesForwardWithItsDate) {
  auto s = logged_in("samia");
  const auto no_consent = s.post("/api/records/person",
                                 {{"fields", {{"first_name", "Yanis"}, {"last_name", "Moreau"}}}});
  ASSERT_EQ(no_consent.status, 201);
  const std::string yanis = no_consent.json().at("id");
  const auto refused =
      s.post("/api/records/referral",
             {{"fields", {{"person", yanis}, {"partner", partner_}, {"stage", "identified"}}}});
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_EQ(refused.error_name(), "consent_required");

  const std::string ines = capture(s, "Inès", "Lefèvre");
  const auto made =
      s.post("/api/records/referral",
             {{"fields", {{"person", ines}, {"partner", partner_}, {"stage", "identified"}}}});
  ASSERT_EQ(made.status, 201) << made.body;
  const std::string referral = made.json().at("id");
  const auto moved = s.post("/api/referrals/" + referral + "/advance", {{"stage", "contacted"}});
  ASSERT_EQ(moved.status, 200) << moved.body;
  EXPECT_EQ(moved.json().at("fields").at("stage"), "contacted");
  EXPECT_EQ(moved.json().at("fields").at("contacted_on").get<std::string>().size(), 10u);
  const auto bad = s.post("/api/referrals/" + referral + "/advance", {{"stage", "teleported"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.json().at("error").at("field"), "stage");

  const auto pipeline = s.get("/api/pipeline").json().at("stages");
  for (const auto& stage : pipeline)
    EXPECT_EQ(stage.at("referrals").size(), stage.at("stage") == "contacted" ? 1u : 0u)
        << stage.at("stage");
}

TEST_F(ServeApi, AConflictIsListedAndSettledThroughTheApi) {
  auto s = logged_in("samia");
  const std::string id = capture(s, "Inès", "Lefèvre", "0611111111");
  {
    // A second laptop of the site edits the same phone concurrently.
    auto served = must(store::Replica::open(replica_path(), schema::Schema::builtin()));
    auto laptop = must(
        store::Replica::create(dir_.file("karim.db"), "lyon", "karim", schema::Schema::builtin()));
    send(*served, *laptop);
    must(laptop->update_record("person", id, {{"phone", "0622222222"}}));
    ASSERT_EQ(s.patch("/api/records/person/" + id, {{"fields", {{"phone", "0633333333"}}}}).status,
              200);
    send(*laptop, *served);
  }
  const auto listed = s.get("/api/conflicts");
  ASSERT_EQ(listed.status, 200);
  const json conflicts = listed.json().at("conflicts");
  ASSERT_EQ(conflicts.size(), 1u) << listed.body;
  EXPECT_EQ(conflicts[0].at("field"), "phone");
  EXPECT_EQ(conflicts[0].at("values").size(), 2u);

  const auto settled = s.post("/api/conflicts/settle",
                              {{"record", id}, {"field", "phone"}, {"value", "0622222222"}});
  EXPECT_EQ(settled.status, 204) << settled.body;
  EXPECT_TRUE(s.get("/api/conflicts").json().at("conflicts").empty());
  EXPECT_EQ(s.get("/api/records/person/" + id).json().at("fields").at("phone"), "0622222222");
}

TEST_F(ServeApi, SyncStatusCountsTheChangesWaitingOnAReplicaNeverSynced) {
  auto s = logged_in("samia");
  const auto before = s.get("/api/sync").json();
  EXPECT_EQ(before.at("enrolled"), false);
  EXPECT_EQ(before.at("state"), "not_enrolled");
  capture(s, "Inès", "Lefèvre");
  EXPECT_GT(s.get("/api/sync").json().at("waiting").get<int>(), before.at("waiting").get<int>());
}

TEST_F(ServeApi, TheAppsRoutesServeItsPageAndNothingOutsideItsFolderIsServed) {
  HttpSession s(port());
  const auto page = s.get("/person/123");
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("<title>Relais</title>"), std::string::npos);
  EXPECT_EQ(page.header("cache-control"), "no-cache");
  EXPECT_NE(page.header("content-security-policy").find("default-src 'self'"), std::string::npos);
  const auto asset = s.get("/assets/app-1234.js");
  EXPECT_EQ(asset.status, 200);
  EXPECT_NE(asset.header("cache-control").find("immutable"), std::string::npos);
  EXPECT_EQ(s.get("/assets/missing.js").status, 404);
  for (const char* escape :
       {"/../secret.txt", "/%2e%2e/secret.txt", "/assets/..%2f..%2fsecret.txt"}) {
    const auto r = s.get(escape);
    EXPECT_NE(r.status, 200) << escape;
    EXPECT_EQ(r.body.find("outside the web root"), std::string::npos) << escape;
  }
}

TEST_F(ServeApi, AnOversizedBodyIsRefusedAndTheServerKeepsServing) {
  auto s = logged_in("samia");
  const std::string big(2 << 20, 'x');
  const auto r = s.request("POST", "/api/capture", "{\"person\": \"" + big + "\"}");
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(persons_held(), 0u);
  EXPECT_EQ(s.get("/api/session").status, 200);
}

TEST_F(ServeApi, StopsCleanlyOnSigterm) {
  EXPECT_EQ(serve_->stop(), 0);
}

// Sends `request` over TLS to 127.0.0.1:`port`, trusting only the
// certificate in `ca_file` and checking that it names 127.0.0.1, and reads
// the reply to the end. Throws if the handshake or the check fails.
HttpReply https_exchange(std::uint16_t port, const std::string& ca_file,
                         const std::string& request) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                        SSL_CTX_free);
  if (!ctx || SSL_CTX_load_verify_locations(ctx.get(), ca_file.c_str(), nullptr) != 1)
    throw std::runtime_error("cannot load " + ca_file);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  const int fd = connect_loopback(port);
  if (fd < 0) throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port));
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
  X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), "127.0.0.1");
  SSL_set_fd(ssl.get(), fd);
  if (SSL_connect(ssl.get()) != 1) {
    ::close(fd);
    const char* reason = ERR_reason_error_string(ERR_get_error());
    throw std::runtime_error(std::string("TLS handshake failed: ") + (reason ? reason : "?"));
  }
  SSL_write(ssl.get(), request.data(), static_cast<int>(request.size()));
  std::string raw;
  char buf[16384];
  for (int n; (n = SSL_read(ssl.get(), buf, sizeof buf)) > 0;) raw.append(buf, n);
  SSL_shutdown(ssl.get());
  ::close(fd);
  return parse_http_reply(raw);
}

// `relais serve` with a certificate, as on a laptop whose Wi-Fi hotspot
// phones join at an event (here on 127.0.0.1: tests listen nowhere else).
class ServeTls : public ::testing::Test {
 protected:
  void SetUp() override {
    {
      auto r =
          must(store::Replica::create(replica_path(), "lyon", "samia", schema::Schema::builtin()));
      auto accounts = must(sync::Accounts::open(*r));
      must(accounts.put_local({"samia", "counsellor", "lyon", quick_verifier(kPassword), false}));
    }
    must(server::write_self_signed_certificate(cert(), dir_.file("laptop.key"), {"127.0.0.1"}));
  }

  std::string replica_path() const { return dir_.file("lyon.db"); }
  std::string cert() const { return dir_.file("laptop.crt"); }

  // `relais serve ARGS` run to its end, with what it wrote on both outputs.
  ProgramOutput serve_refused(const std::vector<std::string>& args) {
    std::string command = std::string(RELAIS_BIN) + " --replica " + replica_path() + " serve";
    for (const auto& a : args) command += " " + a;
    return run_capture({"/bin/sh", "-c", command + " 2>&1"});
  }

  TempDir dir_;
};

TEST_F(ServeTls, LoginOverTlsGivesASecureCookieThatOpensTheSession) {
  ServeProcess serve(RELAIS_BIN, replica_path(),
                     {"--no-sync", "--tls-cert", cert(), "--tls-key", dir_.file("laptop.key")},
                     dir_.file("serve.log"));
  EXPECT_EQ(serve.url().rfind("https://", 0), 0u) << serve.url();
  const std::string host = "127.0.0.1:" + std::to_string(serve.port());
  const std::string body = json{{"user", "samia"}, {"password", kPassword}}.dump();
  const auto login = https_exchange(
      serve.port(), cert(),
      "POST /api/login HTTP/1.1\r\nHost: " + host +
          "\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: " +
          std::to_string(body.size()) + "\r\n\r\n" + body);
  ASSERT_EQ(login.status, 200) << login.body;
  const std::string set_cookie = login.header("set-cookie");
  EXPECT_NE(set_cookie.find("; Secure"), std::string::npos) << set_cookie;
  EXPECT_NE(set_cookie.find("HttpOnly"), std::string::npos) << set_cookie;
  const auto session = https_exchange(serve.port(), cert(),
                                      "GET /api/session HTTP/1.1\r\nHost: " + host +
                                          "\r\nConnection: close\r\nCookie: " +
                                          set_cookie.substr(0, set_cookie.find(';')) + "\r\n\r\n");
  EXPECT_EQ(session.status, 200) << session.body;
  EXPECT_EQ(session.json().at("user"), "samia") << session.body;
  // Plain HTTP on the TLS port gets no answer a browser would take.
  EXPECT_THROW(http_exchange(serve.port(), "GET /api/session HTTP/1.1\r\nHost: " + host +
                                               "\r\nConnection: close\r\n\r\n"),
               std::runtime_error);
}

TEST_F(ServeTls, ListeningBeyondThisMachineWithoutACertificateIsRefused) {
  const auto r = serve_refused({"--no-sync", "--listen", "0.0.0.0:0"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("--tls-cert"), std::string::npos) << r.out;
}

TEST_F(ServeTls, AKeyThatIsNotTheCertificatesIsRefusedBeforeListening) {
  must(server::write_self_signed_certificate(dir_.file("other.crt"), dir_.file("other.key"),
                                             {"127.0.0.1"}));
  const auto r = serve_refused({"--no-sync", "--listen", "127.0.0.1:0", "--tls-cert", cert(),
                                "--tls-key", dir_.file("other.key")});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("key"), std::string::npos) << r.out;
}

TEST_F(ServeTls, ACertificateWithoutItsKeyIsRefused) {
  const auto r = serve_refused({"--no-sync", "--tls-cert", cert()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("--tls-key"), std::string::npos) << r.out;
}

// Two laptops of one site, each running `relais serve` with its background
// sync, enrolled with a real relais-server.
class ServeSync : public SyncEndToEnd {
 protected:
  std::unique_ptr<ServeProcess> serve(const std::string& user) {
    enrolled(user, "lyon");  // closed at once: the served process owns the file
    const std::string path = dir_.file(user + ".db");
    return std::make_unique<ServeProcess>(RELAIS_BIN, path,
                                          std::vector<std::string>{"--ca", server_->certificate()},
                                          dir_.file(user + "-serve.log"));
  }

  // Logs in, waiting for the accounts to arrive with the first sync.
  static HttpSession login_when_synced(std::uint16_t port, const std::string& user) {
    HttpSession s(port);
    for (int i = 0; i < 200 && s.login(user, kPassword).status != 200; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return s;
  }
};

TEST_F(ServeSync, APersonCapturedOnOneLaptopAppearsOnTheOtherThroughTheServer) {
  auto admin = server_->admin();
  must(admin->set_password("samia", quick_verifier(kPassword)));
  must(admin->set_password("karim", quick_verifier(kPassword)));
  auto a = serve("samia");
  auto b = serve("karim");
  auto on_a = login_when_synced(a->port(), "samia");
  auto on_b = login_when_synced(b->port(), "karim");
  ASSERT_FALSE(on_a.cookie().empty()) << "samia's account never reached laptop A";
  ASSERT_FALSE(on_b.cookie().empty()) << "karim's account never reached laptop B";
  EXPECT_EQ(on_b.login("lea", kPassword).status, 401);  // another site's user is not here

  const auto made = on_a.post(
      "/api/capture",
      {{"person", {{"first_name", "Inès"}, {"last_name", "Lefèvre"}, {"phone", "0612345678"}}}});
  ASSERT_EQ(made.status, 201) << made.body;
  const std::string id = made.json().at("id");

  json found = json::array();
  for (int i = 0; i < 100 && found.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    found = on_b.get("/api/search?q=lefevre").json().at("persons");
  }
  ASSERT_EQ(found.size(), 1u) << "the person never reached laptop B";
  EXPECT_EQ(found[0].at("id"), id);

  json status;
  for (int i = 0; i < 100; ++i) {
    status = on_a.get("/api/sync").json();
    if (status.at("waiting") == 0 && status.at("state") == "live") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(status.at("state"), "live") << status.dump();
  EXPECT_EQ(status.at("waiting"), 0) << status.dump();
  EXPECT_EQ(status.at("enrolled"), true);
}

TEST_F(ServeSync, TheServerBeingDownNeverBlocksTheCounsellor) {
  must(server_->admin()->set_password("samia", quick_verifier(kPassword)));
  auto a = serve("samia");
  auto s = login_when_synced(a->port(), "samia");
  ASSERT_FALSE(s.cookie().empty());
  server_->kill(SIGKILL);

  const auto made =
      s.post("/api/capture", {{"person", {{"first_name", "Inès"}, {"last_name", "Lefèvre"}}}});
  ASSERT_EQ(made.status, 201) << made.body;
  EXPECT_EQ(s.get("/api/search?q=ines").json().at("persons").size(), 1u);
  json status;
  for (int i = 0; i < 100; ++i) {
    status = s.get("/api/sync").json();
    if (status.at("state") == "offline") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(status.at("state"), "offline") << status.dump();
  EXPECT_GE(status.at("waiting").get<int>(), 1);
}

}  // namespace
}  // namespace relais::testing
