// End-to-end sync: a real relais-server process on 127.0.0.1 with real TLS,
// replicas driven by the library's client session over the real transport.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <thread>

#include "fault_proxy.h"
#include "relais/transport/sync_conversation.h"
#include "sync_fixture.h"

namespace relais::testing {
namespace {

using nlohmann::json;

TEST_F(SyncEndToEnd, SitesAndCentralConvergeWhateverTheOrder) {
  auto a = enrolled("samia", "lyon");
  auto b = enrolled("karim", "lyon");
  auto c = enrolled("lea", "marseille");
  auto central = enrolled("central", "lyon");
  std::vector<store::Replica*> all = {a.get(), b.get(), c.get(), central.get()};

  const std::string shared = person(*a, "Lina");
  must(sync(*a));
  must(sync(*b));
  std::mt19937 rng(20261203);
  for (int round = 0; round < 4; ++round) {
    // Offline: both Lyon replicas edit the same field; everyone adds records.
    must(a->update_record("person", shared, {{"phone", "06000000" + std::to_string(10 + round)}}));
    must(b->update_record("person", shared, {{"phone", "07000000" + std::to_string(10 + round)}}));
    for (auto* r : all) person(*r, "P" + std::to_string(round));
    must(c->create_record("partner",
                          {{"name", "Partner " + std::to_string(round)}, {"kind", "association"}}));
    std::shuffle(all.begin(), all.end(), rng);
    for (auto* r : all) must(sync(*r));
  }
  for (int pass = 0; pass < 2; ++pass)
    for (auto* r : all) must(sync(*r));

  EXPECT_EQ(must(a->digest()), must(b->digest()));
  EXPECT_EQ(must(central->digest()), must(server_->admin()->digest()));
  EXPECT_EQ(must(a->conflicts()).size(), 1u);  // the phone, until someone settles it
  const auto lyon = must(a->counts()), marseille = must(c->counts()),
             everything = must(central->counts());
  EXPECT_EQ(lyon.at("person"), 1 + 4 * 3);  // Lina, and 4 rounds of samia, karim, central
  EXPECT_EQ(marseille.at("person"), 4);     // lea's own only
  EXPECT_EQ(marseille.at("partner"), 4);    // shared reference data reaches every site
  EXPECT_EQ(lyon.at("partner"), 4);
  EXPECT_EQ(everything.at("person"), 1 + 4 * 4);
}

TEST_F(SyncEndToEnd, SiteDeviceCanNeitherWriteNorReadAnotherSitesRecord) {
  auto lyon = enrolled("samia", "lyon");
  auto marseille = enrolled("lea", "marseille");
  const std::string theirs = person(*marseille, "Ines");
  must(sync(*marseille));
  must(sync(*lyon));
  EXPECT_EQ(code_of(lyon->get("person", theirs)), Errc::unknown_record);

  // A hand-made push from the Lyon device editing the Marseille record.
  store::Change forged{lyon->info().replica_id,
                       1,
                       0x0190000000000000,
                       "samia",
                       "person",
                       theirs,
                       store::ChangeKind::edit,
                       {{"phone", "0600000000", {}}}};
  const std::string before = must(server_->admin()->digest());
  Scripted talk({hello(*lyon), sync::encode(sync::Push{7, {forged}})}, 2);
  must(transport::converse(server_->url(), talk, options()));
  EXPECT_EQ(error_code(talk.received.at(1)), Errc::out_of_scope);
  EXPECT_EQ(json::parse(talk.received.at(1)).at("batch"), 7);
  EXPECT_EQ(must(server_->admin()->digest()), before);
}

TEST_F(SyncEndToEnd, RecordWhoseSiteIsUnknownNeverReachesOtherSites) {
  auto central = enrolled("central", "lyon");  // made first: its changes are pushed first
  auto lyon = enrolled("samia", "lyon");
  auto marseille = enrolled("lea", "marseille");
  // The central replica gets a Lyon person by file, then notes an
  // interaction about them: its own change reaches the server before the
  // person it refers to.
  const std::string id = person(*lyon, "Lina");
  exchange::Outbox outbox(*lyon, {});
  must(central->apply(*must(outbox.next())));
  must(central->create_record(
      "interaction",
      {{"person", id}, {"date", "2026-12-03"}, {"channel", "phone"}, {"note", "private"}}));
  must(sync(*central));
  must(sync(*marseille));
  EXPECT_EQ(must(marseille->counts()).at("interaction"), 0);
  EXPECT_EQ(must(marseille->counts()).at("person"), 0);
}

TEST_F(SyncEndToEnd, LiveChangeReachesAConnectedReplicaWithoutPolling) {
  auto a = enrolled("samia", "lyon");
  auto b = enrolled("karim", "lyon");
  must(sync(*b));
  std::atomic<bool> stop{false}, ready{false};
  std::thread watcher([&] {
    auto mine = must(store::Replica::open(dir_.file("karim.db"), schema::Schema::builtin()));
    sync::ClientSession session(*mine);
    SessionConversation talk(session, true, [&](std::string_view text) {
      if (text.find("\"caught_up\":true") != std::string_view::npos) ready = true;
    });
    auto o = options();
    o.stop = &stop;
    (void)transport::converse(server_->url(), talk, o);
  });
  for (int i = 0; i < 500 && !ready; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(ready);

  const std::string id = person(*a, "Live");
  must(sync(*a));
  bool arrived = false;
  for (int i = 0; i < 1000 && !arrived; ++i) {
    arrived = b->get("person", id).ok();
    if (!arrived) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  stop = true;
  watcher.join();
  EXPECT_TRUE(arrived);
}

TEST_F(SyncEndToEnd, ServerKilledMidPushLosesNothingAcknowledgedAndDoublesNothing) {
  auto a = enrolled("samia", "lyon");
  for (int i = 0; i < 3000; ++i) person(*a, "Bulk" + std::to_string(i));

  std::atomic<int> acks{0};
  std::thread killer([&] {
    for (int i = 0; i < 2000 && acks == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    server_->kill(SIGKILL);
  });
  {
    sync::ClientSession session(*a, 200);
    SessionConversation talk(session, false, [&](std::string_view text) {
      if (text.find("\"type\":\"ack\"") != std::string_view::npos) ++acks;
    });
    (void)transport::converse(server_->url(), talk, options());  // cut by the kill
  }
  killer.join();
  const auto acknowledged = server_->admin()->knowledge()[a->info().replica_id];
  EXPECT_GT(acknowledged, 0u);

  server_->start();
  must(sync(*a));
  auto fresh = enrolled("karim", "lyon");
  must(sync(*fresh));
  EXPECT_EQ(must(fresh->digest()), must(a->digest()));
  EXPECT_EQ(must(server_->admin()->digest()), must(a->digest()));
  EXPECT_EQ(must(fresh->counts()).at("person"), 3000);
}

TEST_F(SyncEndToEnd, RestoredBackupLosesNothingThatAReplicaStillHolds) {
  auto a = enrolled("samia", "lyon");
  auto b = enrolled("karim", "lyon");
  person(*a, "BeforeBackup");
  must(sync(*a));
  must(sync(*b));
  const std::string backup = dir_.file("backup.db");
  must(server_->admin()->backup(backup));
  EXPECT_EQ(std::filesystem::status(backup).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  EXPECT_EQ(code_of(server_->admin()->backup(backup)), Errc::store_io);  // not over a file

  person(*b, "AfterBackup");  // reaches the server and A, then the server loses it
  must(sync(*b));
  must(sync(*a));
  server_->kill(SIGTERM);
  run_program({RELAIS_SERVER_BIN, "--config", server_->config(), "restore", backup});
  server_->start();

  auto c = enrolled("lea_lyon", "lyon");
  person(*c, "AfterRestore");  // new in the restored feed, under positions A already passed
  must(sync(*c));
  for (auto* r : {a.get(), b.get(), c.get(), a.get()}) must(sync(*r));
  EXPECT_EQ(must(a->counts()).at("person"), 3);
  EXPECT_EQ(must(a->digest()), must(b->digest()));
  EXPECT_EQ(must(a->digest()), must(c->digest()));
  EXPECT_EQ(must(server_->admin()->digest()), must(a->digest()));
}

TEST_F(SyncEndToEnd, RevokedDeviceIsRefusedWithAReason) {
  auto a = enrolled("samia", "lyon");
  must(sync(*a));
  auto admin = server_->admin();
  must(admin->revoke_device(*a->setting(std::string(sync::kDeviceKey))));
  const Status s = sync(*a);
  EXPECT_EQ(code_of(s), Errc::device_revoked);
}

TEST_F(SyncEndToEnd, DeviceRevokedWhileConnectedIsCutOff) {
  auto a = enrolled("samia", "lyon");
  must(sync(*a));
  std::atomic<bool> stop{false};
  Status ended;
  std::thread watcher([&] {
    auto mine = must(store::Replica::open(dir_.file("samia.db"), schema::Schema::builtin()));
    sync::ClientSession session(*mine);
    SessionConversation talk(session, true);
    auto o = options();
    o.stop = &stop;
    ended = transport::converse(server_->url(), talk, o);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  must(server_->admin()->revoke_device(*a->setting(std::string(sync::kDeviceKey))));
  const std::string before = must(server_->admin()->digest());
  person(*a, "AfterRevocation");  // the watcher pushes it and is refused
  for (int i = 0; i < 500 && ended.ok(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  stop = true;
  watcher.join();
  EXPECT_EQ(code_of(ended), Errc::device_revoked);
  EXPECT_EQ(must(server_->admin()->digest()), before);
}

TEST_F(SyncEndToEnd, WatchStopsOnARefusedBatchInsteadOfRetryingForever) {
  auto a = enrolled("samia", "lyon");
  must(sync(*a));
  a->set_user("ghost");  // no such user on the server
  person(*a, "ByNobody");
  std::atomic<bool> stop{false};
  std::atomic<bool> done{false};
  Status ended;
  std::thread watcher([&] {
    auto o = options();
    o.stop = &stop;
    ended = transport::watch(*a, o, {});
    done = true;
  });
  for (int i = 0; i < 1000 && !done; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const bool stopped_by_itself = done;
  stop = true;
  watcher.join();
  EXPECT_TRUE(stopped_by_itself);
  EXPECT_EQ(code_of(ended), Errc::author_not_allowed);
}

TEST_F(SyncEndToEnd, ServerCertificateNotTrustedIsRefused) {
  auto a =
      must(store::Replica::create(dir_.file("x.db"), "lyon", "samia", schema::Schema::builtin()));
  const auto code = must(server_->admin()->issue_code("samia", std::chrono::hours(1)));
  sync::Enrollment enrollment(*a, server_->url(), code.code);
  Scripted talk({enrollment.start()}, 1);
  auto o = options();
  o.ca_file.clear();  // the system's authorities know nothing of this self-signed certificate
  const Status s = transport::converse(server_->url(), talk, o);
  EXPECT_EQ(code_of(s), Errc::network);
  EXPECT_TRUE(talk.received.empty());
}

TEST_F(SyncEndToEnd, WrongCredentialIsRefused) {
  auto a = enrolled("samia", "lyon");
  sync::Hello h{sync::kProtocolVersion, a->info().schema_version, a->info().replica_id,
                *a->setting(std::string(sync::kDeviceKey)), "not-the-credential"};
  Scripted talk({sync::encode(h)}, 1);
  (void)transport::converse(server_->url(), talk, options());
  ASSERT_EQ(talk.received.size(), 1u);
  EXPECT_EQ(error_code(talk.received[0]), Errc::bad_credential);
}

TEST_F(SyncEndToEnd, OlderReplicaIsToldToUpdate) {
  auto a = enrolled("samia", "lyon");
  Scripted talk({hello(*a, 1)}, 1);
  (void)transport::converse(server_->url(), talk, options());
  ASSERT_EQ(talk.received.size(), 1u);
  EXPECT_EQ(error_code(talk.received[0]), Errc::client_schema_older);
  EXPECT_NE(talk.received[0].find("update Relais on this device"), std::string::npos);
}

TEST_F(SyncEndToEnd, MalformedAndUnknownMessagesGetErrorReplies) {
  auto a = enrolled("samia", "lyon");
  Scripted talk({hello(*a), "{not json", R"({"type":"teleport"})", R"({"type":"pull"})"}, 4);
  must(transport::converse(server_->url(), talk, options()));
  EXPECT_EQ(error_code(talk.received.at(1)), Errc::protocol_malformed);
  EXPECT_EQ(error_code(talk.received.at(2)), Errc::unknown_message);
  EXPECT_EQ(error_code(talk.received.at(3)), Errc::protocol_malformed);  // pull lacks its cursor
}

TEST_F(SyncEndToEnd, AReplayedBatchIsAcknowledgedAsDuplicatesAndCommittedOnce) {
  auto a = enrolled("samia", "lyon");
  for (const char* first : {"Ines", "Hugo", "Lina"}) person(*a, first);
  const auto changes = must(a->changes_after({}, 1000));
  ASSERT_EQ(changes.size(), 3u);
  const std::string batch = sync::encode(sync::Push{1, changes});

  Scripted first({hello(*a), batch}, 2);
  must(transport::converse(server_->url(), first, options()));
  Scripted replay({hello(*a), batch, batch}, 3);  // again, and twice in one session
  must(transport::converse(server_->url(), replay, options()));

  EXPECT_EQ(json::parse(first.received.at(1)).at("applied"), 3);
  for (std::size_t i : {1, 2}) {
    const json ack = json::parse(replay.received.at(i));
    EXPECT_EQ(ack.at("type"), "ack") << ack;
    EXPECT_EQ(ack.at("applied"), 0);
    EXPECT_EQ(ack.at("duplicates"), 3);
  }
  auto fresh = enrolled("karim", "lyon");
  sync::SyncCounts counts;
  must(sync(*fresh, "", &counts));
  EXPECT_EQ(must(fresh->counts()).at("person"), 3);
  EXPECT_EQ(must(fresh->digest()), must(a->digest()));
}

TEST_F(SyncEndToEnd, AnOperationIdReusedWithOtherContentIsRefusedAndCommitsNothing) {
  auto a = enrolled("samia", "lyon");
  const std::string ines = person(*a, "Ines");
  must(sync(*a));
  const std::string before = must(server_->admin()->digest());
  // A hand-made change that takes the id of the one the server holds.
  store::Change forged = must(a->changes_after({}, 10)).at(0);
  ASSERT_EQ(forged.record, ines);
  ASSERT_EQ(forged.ops.at(0).field, "first_name");
  forged.ops.at(0).value = "Usurped";

  Scripted talk({hello(*a), sync::encode(sync::Push{4, {forged}})}, 2);
  must(transport::converse(server_->url(), talk, options()));

  EXPECT_EQ(error_code(talk.received.at(1)), Errc::op_id_overlap) << talk.received.at(1);
  EXPECT_EQ(json::parse(talk.received.at(1)).at("batch"), 4);
  EXPECT_EQ(must(server_->admin()->digest()), before);
  must(sync(*a));  // the genuine replica goes on syncing
}

TEST_F(SyncEndToEnd, AnOversizedMessageClosesTheConnectionAndTheServerKeepsServing) {
  server_->kill(SIGTERM);
  json config = json::parse(std::ifstream(server_->config()));
  config["max_message_bytes"] = 64 * 1024;
  std::ofstream(server_->config()) << config.dump();
  server_->start();
  auto a = enrolled("samia", "lyon");
  const std::string before = must(server_->admin()->digest());
  // 200 kB of a push that never ends, random so that compression cannot
  // shrink it below the limit.
  std::mt19937 rng(7);
  std::string filler;
  for (int i = 0; i < 200 * 1024; ++i) filler += static_cast<char>('a' + rng() % 26);
  const std::string huge = R"({"type":"push","batch":1,"changes":[],"pad":")" + filler + "\"}";

  Scripted talk({hello(*a), huge}, 2);
  const Status ended = transport::converse(server_->url(), talk, options());

  EXPECT_FALSE(ended.ok());  // closed by the server: 1009, message too big
  // No answer to the push: at most the welcome, which the close may overtake.
  EXPECT_LE(talk.received.size(), 1u);
  for (const auto& m : talk.received) EXPECT_EQ(json::parse(m).at("type"), "welcome") << m;
  EXPECT_EQ(must(server_->admin()->digest()), before);
  person(*a, "AfterTheBigOne");
  must(sync(*a));
  EXPECT_EQ(must(server_->admin()->digest()), must(a->digest()));
}

TEST_F(SyncEndToEnd, PlainTextOnTheTlsPortGetsAClearAnswer) {
  const int fd = connect_loopback(server_->port());
  ASSERT_GE(fd, 0);
  const std::string request =
      "GET /sync HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
  ASSERT_EQ(::send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  std::string answer;
  char buf[512];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;)
    answer.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  EXPECT_NE(answer.find("400 Bad Request"), std::string::npos) << answer;
  EXPECT_NE(answer.find("use wss://"), std::string::npos) << answer;
}

TEST_F(SyncEndToEnd, ClientThatSaysNothingIsDisconnected) {
  server_->kill(SIGTERM);
  json config = json::parse(std::ifstream(server_->config()));
  config["handshake_timeout_ms"] = 300;
  std::ofstream(server_->config()) << config.dump();
  server_->start();

  const int fd = connect_loopback(server_->port());
  ASSERT_GE(fd, 0);
  const auto start = std::chrono::steady_clock::now();
  char c;
  const ssize_t n = ::recv(fd, &c, 1, 0);  // blocks until the server hangs up
  const auto waited = std::chrono::steady_clock::now() - start;
  ::close(fd);
  EXPECT_EQ(n, 0);
  EXPECT_LT(waited, std::chrono::seconds(5));
}

TEST_F(SyncEndToEnd, SyncThroughAProxyThatCutsAndDelaysConverges) {
  auto a = enrolled("samia", "lyon");
  auto b = enrolled("karim", "lyon");
  for (int i = 0; i < 1500; ++i) person(*a, "Cut" + std::to_string(i));
  for (int i = 0; i < 300; ++i) person(*b, "Other" + std::to_string(i));

  FaultProxy proxy(server_->port(), {4000, 60000, std::chrono::milliseconds(1), 7});
  const std::string via = "wss://127.0.0.1:" + std::to_string(proxy.port());
  for (int round = 0; round < 2; ++round) {
    sync_until_done(*a, via);
    sync_until_done(*b, via);
  }
  EXPECT_GT(proxy.cuts(), 0);
  EXPECT_EQ(must(a->digest()), must(b->digest()));
  EXPECT_EQ(must(server_->admin()->digest()), must(a->digest()));
  EXPECT_EQ(must(a->counts()).at("person"), 1800);
}

}  // namespace
}  // namespace relais::testing
