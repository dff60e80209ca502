#include "relais/sync/client.h"

#include <algorithm>
#include <map>

#include "relais/sync/accounts.h"

namespace relais::sync {
namespace {

Error from_reply(const ErrorReply& e) {
  return make_error(e.code, "server: " + e.message);
}

std::string key(std::string_view k) {
  return std::string(k);
}

}  // namespace

ClientSession::ClientSession(store::Replica& replica, std::size_t batch_ops)
    : replica_(replica), batch_ops_(batch_ops) {}

Result<std::string> ClientSession::start() {
  auto device = replica_.setting(key(kDeviceKey));
  auto credential = replica_.setting(key(kCredentialKey));
  if (!device || !credential)
    return make_error(Errc::not_enrolled,
                      "this replica is not enrolled with a server (run `relais enroll` first)");
  welcomed_ = pushed_all_ = caught_up_ = access_sent_all_ = false;
  in_flight_.reset();
  access_in_flight_.reset();
  outbox_.reset();
  return encode(Hello{kProtocolVersion, replica_.info().schema_version, replica_.info().replica_id,
                      *device, *credential});
}

Result<std::vector<std::string>> ClientSession::receive(std::string_view text) {
  auto message = decode(text, replica_.schema());
  if (!message) return message.error();
  if (auto* e = std::get_if<ErrorReply>(&*message)) return from_reply(*e);
  if (!welcomed_ && !std::holds_alternative<Welcome>(*message))
    return make_error(Errc::unexpected_message,
                      "expected 'welcome', got '" + std::string(type_name(*message)) + "'");
  if (auto* w = std::get_if<Welcome>(&*message)) return on_welcome(*w);
  if (auto* a = std::get_if<Ack>(&*message)) return on_ack(*a);
  if (auto* c = std::get_if<Changes>(&*message)) return on_changes(*c);
  if (auto* a = std::get_if<AccessAck>(&*message)) return on_access_ack(*a);
  return make_error(Errc::unexpected_message,
                    "unexpected '" + std::string(type_name(*message)) + "' from the server");
}

Result<std::vector<std::string>> ClientSession::on_welcome(const Welcome& w) {
  if (welcomed_) return make_error(Errc::unexpected_message, "a second 'welcome'");
  const auto pinned = replica_.setting(key(kServerIdKey));
  if (pinned && *pinned != w.server)
    return make_error(Errc::wrong_server, "the server is " + w.server +
                                              ", but this replica is enrolled with " + *pinned);
  welcomed_ = true;
  const auto own = w.knowledge.find(replica_.info().replica_id);
  const std::uint64_t acked = own == w.knowledge.end() ? 0 : own->second;
  if (Status s = replica_.set_settings(
          {{key(kMaxOfflineDaysKey), std::to_string(std::max(0, w.max_offline_days))},
           {key(kAckedKey), std::to_string(acked)}});
      !s)
    return s.error();
  if (w.accounts) {
    std::vector<Account> accounts;
    for (const auto& a : *w.accounts)
      accounts.push_back({a.user, a.role, a.site, a.verifier, true});
    auto kept = Accounts::open(replica_);
    if (!kept) return kept.error();
    if (Status s = kept->replace_from_server(accounts); !s) return s.error();
  }
  // A cursor counts in one feed: after the server's store was restored from
  // a backup, its feed has a new id and positions start over, so pull all
  // again (what is already held is skipped).
  if (replica_.setting(key(kFeedKey)) != w.feed)
    if (Status s = replica_.set_settings({{key(kFeedKey), w.feed}, {key(kCursorKey), "0"}}); !s)
      return s.error();
  // Erasures first, so that nothing of an erased person is pushed: their
  // changes not yet sent leave purged of their values.
  Receipt receipt;
  bool erased = false;
  for (const auto& e : w.erasures) {
    auto done = replica_.erase_person(e.id, e.person);
    if (!done) return done.error();
    if (!done->already_applied) ++counts_.erasures;
    erased = erased || !done->already_applied;
    receipt.erasures.push_back(e.id);
  }
  // The clean-up, before anything else: the erased values must not linger
  // in freed pages while the session goes on (a live session may last days).
  if (erased) needs_compact_ = !replica_.compact().ok();
  std::vector<std::string> out;
  if (!receipt.erasures.empty()) out.push_back(encode(receipt));
  auto log = store::AccessLog::open(replica_);
  if (!log) return log.error();
  access_.emplace(std::move(log).value());
  auto reads = access_next();
  if (!reads) return reads;
  for (auto& m : *reads) out.push_back(std::move(m));
  outbox_ = std::make_unique<exchange::Outbox>(replica_, w.knowledge, batch_ops_);
  const auto cursor = replica_.setting(key(kCursorKey));
  auto pushes = push_next();
  if (!pushes) return pushes;
  for (auto& m : *pushes) out.push_back(std::move(m));
  out.push_back(encode(Pull{cursor ? std::stoull(*cursor) : 0}));
  return out;
}

Result<std::vector<std::string>> ClientSession::push_next() {
  std::vector<std::string> out;
  if (in_flight_) return out;
  auto batch = outbox_->next();
  if (!batch) return batch.error();
  if (!*batch) {
    pushed_all_ = true;
    return out;
  }
  pushed_all_ = false;
  in_flight_ = next_batch_++;
  in_flight_changes_ = (*batch)->size();
  out.push_back(encode(Push{*in_flight_, std::move(**batch)}));
  return out;
}

Result<std::vector<std::string>> ClientSession::access_next() {
  std::vector<std::string> out;
  if (access_in_flight_ || !access_) return out;
  auto entries = access_->entries_after(0, kAccessBatch);  // the sent ones are forgotten
  if (!entries) return entries.error();
  access_sent_all_ = entries->empty();
  if (entries->empty()) return out;
  access_in_flight_ = entries->back().seq;
  access_in_flight_count_ = entries->size();
  out.push_back(encode(Access{std::move(entries).value()}));
  return out;
}

Result<std::vector<std::string>> ClientSession::on_access_ack(const AccessAck& a) {
  if (!access_in_flight_)
    return make_error(Errc::unexpected_message, "acknowledgement of access-log entries up to " +
                                                    std::to_string(a.through) + ", none in flight");
  if (Status s = access_->forget_through(a.through); !s) return s.error();
  counts_.reads_sent += access_in_flight_count_;
  access_in_flight_.reset();
  return access_next();
}

Result<std::vector<std::string>> ClientSession::on_ack(const Ack& a) {
  if (!in_flight_ || a.batch != *in_flight_)
    return make_error(Errc::unexpected_message,
                      "acknowledgement of batch " + std::to_string(a.batch) + ", not in flight");
  in_flight_.reset();
  counts_.pushed += in_flight_changes_;
  counts_.purged += a.purged;
  const auto& theirs = outbox_->peer_knowledge();
  if (auto own = theirs.find(replica_.info().replica_id); own != theirs.end())
    if (Status s = replica_.set_settings({{key(kAckedKey), std::to_string(own->second)}}); !s)
      return s.error();
  return push_next();
}

Result<std::vector<std::string>> ClientSession::on_changes(Changes& c) {
  // The cursor is written in the same transaction as the changes: a crash
  // never skips nor repeats a batch.
  std::map<std::string, std::string> settings{{key(kCursorKey), std::to_string(c.cursor)}};
  if (c.caught_up) settings[key(kLastSyncKey)] = store::utc_now_iso();
  auto stats = replica_.apply(c.changes, settings);
  if (!stats) return stats.error();
  if (outbox_) outbox_->peer_has(c.changes);
  counts_.pulled += c.changes.size();
  counts_.pulled_new += stats->applied;
  counts_.purged += stats->purged;
  caught_up_ = c.caught_up;
  return std::vector<std::string>();
}

Result<std::vector<std::string>> ClientSession::local_changed() {
  if (!welcomed_) return std::vector<std::string>();
  auto out = push_next();
  if (!out) return out;
  auto reads = access_next();
  if (!reads) return reads;
  for (auto& m : *reads) out->push_back(std::move(m));
  return out;
}

Status record_reads(store::Replica& replica, const std::vector<store::Record>& records,
                    std::string_view action) {
  const auto persons = store::persons_shown(replica.schema(), records);
  if (persons.empty()) return Status::Ok();
  if (Status s = check_offline_period(replica, std::time(nullptr)); !s) return s;
  auto log = store::AccessLog::open(replica);
  if (!log) return log.error();
  return log->record(persons, action);
}

Result<std::int64_t> changes_waiting(store::Replica& replica) {
  const auto acked = replica.setting(key(kAckedKey));
  return replica.local_changes_after(acked ? std::stoull(*acked) : 0);
}

Status check_offline_period(store::Replica& replica, std::time_t now) {
  const auto max_days = replica.setting(key(kMaxOfflineDaysKey));
  const auto last = replica.setting(key(kLastSyncKey));
  if (!max_days || !last || *max_days == "0") return Status::Ok();
  std::tm tm{};
  if (!strptime(last->c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm)) return Status::Ok();
  const std::time_t since = timegm(&tm);
  const long days = std::stol(*max_days);
  if (now - since <= days * 86400L) return Status::Ok();
  return make_error(Errc::offline_too_long,
                    "this replica has not synced since " + *last + ", more than " + *max_days +
                        " days ago: young people's data stays hidden until it syncs "
                        "(run `relais sync`)");
}

Enrollment::Enrollment(store::Replica& replica, std::string server_url, std::string code)
    : replica_(replica), server_url_(std::move(server_url)), code_(std::move(code)) {}

std::string Enrollment::start() const {
  return encode(
      Enroll{kProtocolVersion, replica_.info().schema_version, replica_.info().replica_id, code_});
}

Result<Enrolled> Enrollment::receive(std::string_view text) {
  auto message = decode(text, replica_.schema());
  if (!message) return message.error();
  if (auto* e = std::get_if<ErrorReply>(&*message)) return from_reply(*e);
  auto* enrolled = std::get_if<Enrolled>(&*message);
  if (!enrolled)
    return make_error(Errc::unexpected_message,
                      "expected 'enrolled', got '" + std::string(type_name(*message)) + "'");
  Status s = replica_.set_settings({{key(kServerUrlKey), server_url_},
                                    {key(kServerIdKey), enrolled->server},
                                    {key(kDeviceKey), enrolled->device},
                                    {key(kCredentialKey), enrolled->credential},
                                    {key(kCursorKey), "0"}});
  if (!s) return s.error();
  return *enrolled;
}

}  // namespace relais::sync
