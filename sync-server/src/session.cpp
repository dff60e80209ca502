#include "relais/server/session.h"

#include <chrono>

#include "relais/sync/protocol.h"

namespace relais::server {

using sync::Ack;
using sync::Changes;
using sync::ErrorReply;

SessionOutput ServerSession::fail(Errc code, const std::string& message, bool fatal,
                                  std::uint64_t batch) {
  // The message may quote a value from the batch: it goes to the client,
  // never into the log.
  log_.log(fatal ? LogLevel::warn : LogLevel::info, "sync", conn_, "refused",
           {{"code", std::to_string(static_cast<int>(code))},
            {"name", std::string(errc_name(code))},
            {"device", device_ ? device_->id : ""},
            {"batch", std::to_string(batch)}});
  SessionOutput out;
  out.messages.push_back(sync::encode(ErrorReply{code, message, fatal, batch}));
  out.close = fatal;
  if (fatal) out.close_reason = std::string(errc_name(code));
  return out;
}

SessionOutput ServerSession::on_message(std::string_view text) {
  auto message = sync::decode(text, store_.schema());
  if (!message) {
    ++metrics_.protocol_errors;
    return fail(message.error().code, message.error().message, !authenticated());
  }
  if (auto* m = std::get_if<sync::Hello>(&*message)) return on_hello(*m);
  if (auto* m = std::get_if<sync::Enroll>(&*message)) return on_enroll(*m);
  if (!authenticated())
    return fail(Errc::unexpected_message, "say 'hello' (or 'enroll') first", true);
  if (auto* m = std::get_if<sync::Push>(&*message)) return on_push(*m);
  if (auto* m = std::get_if<sync::Pull>(&*message)) return on_pull(*m);
  if (auto* m = std::get_if<sync::Receipt>(&*message)) return on_receipt(*m);
  if (auto* m = std::get_if<sync::Access>(&*message)) return on_access(*m);
  return fail(Errc::unexpected_message,
              "a client does not send '" + std::string(sync::type_name(*message)) + "'", false);
}

std::optional<SessionOutput> ServerSession::check_versions(int protocol, int schema_version) {
  if (protocol != sync::kProtocolVersion)
    return fail(Errc::protocol_version,
                "protocol version " + std::to_string(protocol) +
                    " is not supported; this server "
                    "speaks " +
                    std::to_string(sync::kProtocolVersion),
                true);
  const int mine = store_.schema().version();
  if (schema_version < mine)
    return fail(Errc::client_schema_older,
                "this device has data model version " + std::to_string(schema_version) +
                    ", the server " + std::to_string(mine) +
                    ": update Relais on this device, then sync again (nothing is lost)",
                true);
  if (schema_version > mine)
    return fail(Errc::client_schema_newer,
                "this device has data model version " + std::to_string(schema_version) +
                    ", newer than the server's " + std::to_string(mine) +
                    ": the server must be updated first; keep working offline meanwhile",
                true);
  return std::nullopt;
}

SessionOutput ServerSession::on_hello(const sync::Hello& m) {
  if (authenticated()) return fail(Errc::unexpected_message, "already said hello", false);
  if (auto refused = check_versions(m.protocol, m.schema_version)) return *refused;
  auto device = store_.authenticate(m.device, m.credential);
  if (!device) return fail(device.error().code, device.error().message, true);
  if (device->replica != m.replica)
    return fail(Errc::bad_credential, "this credential belongs to another replica", true);
  device_ = *device;
  log_.log(LogLevel::info, "sync", conn_, "hello",
           {{"device", device_->id}, {"site", device_->central ? "*" : device_->site}});
  auto erasures = store_.pending_erasures(*device_);
  if (!erasures) return fail(erasures.error().code, erasures.error().message, true);
  sync::Welcome welcome{sync::kProtocolVersion,
                        store_.schema().version(),
                        store_.server_id(),
                        device_->id,
                        device_->site,
                        device_->central,
                        store_.knowledge(),
                        store_.feed_id(),
                        {},
                        0,
                        std::nullopt};
  for (const auto& e : *erasures) welcome.erasures.push_back({e.id, e.person});
  welcome.max_offline_days = store_.max_offline_days();
  auto accounts = store_.accounts_for(*device_);
  if (!accounts) return fail(accounts.error().code, accounts.error().message, true);
  welcome.accounts = std::move(accounts).value();
  SessionOutput out;
  out.messages.push_back(sync::encode(welcome));
  return out;
}

SessionOutput ServerSession::on_enroll(const sync::Enroll& m) {
  if (authenticated()) return fail(Errc::unexpected_message, "already enrolled", false);
  if (auto refused = check_versions(m.protocol, m.schema_version)) return *refused;
  auto enrolled = store_.enroll(m.code, m.replica);
  if (!enrolled) return fail(enrolled.error().code, enrolled.error().message, true);
  const auto& [device, credential] = *enrolled;
  log_.log(LogLevel::info, "admin", conn_, "device_enrolled",
           {{"device", device.id}, {"user", device.user}, {"replica", device.replica}});
  SessionOutput out;
  out.messages.push_back(sync::encode(sync::Enrolled{store_.server_id(), device.id, credential,
                                                     device.site, device.user, device.central}));
  out.close = true;
  out.close_reason = "enrolled";
  return out;
}

SessionOutput ServerSession::on_push(sync::Push& m) {
  if (Status valid = store_.check_still_valid(*device_); !valid)
    return fail(valid.error().code, valid.error().message, true);
  std::size_t ops = 0;
  for (const auto& c : m.changes) ops += c.ops.size();
  metrics_.ops_received += ops;
  const auto start = std::chrono::steady_clock::now();
  auto result = store_.ingest(*device_, m.changes);
  metrics_.observe_batch_ms(
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  if (!result) {
    metrics_.ops_refused += ops;
    return fail(result.error().code, result.error().message, false, m.batch);
  }
  metrics_.ops_applied += result->applied_ops;
  log_.log(LogLevel::debug, "sync", conn_, "push_committed",
           {{"batch", std::to_string(m.batch)},
            {"applied", std::to_string(result->applied)},
            {"duplicates", std::to_string(result->duplicates)}});
  if (result->purged > 0)
    log_.log(LogLevel::warn, "rgpd", conn_, "erased_changes_refused",
             {{"device", device_->id},
              {"batch", std::to_string(m.batch)},
              {"changes", std::to_string(result->purged)}});
  SessionOutput out;
  out.messages.push_back(
      sync::encode(Ack{m.batch, result->applied, result->duplicates, result->purged}));
  out.committed = result->applied > 0;
  return out;
}

SessionOutput ServerSession::on_receipt(const sync::Receipt& m) {
  if (Status s = store_.record_receipts(*device_, m.erasures); !s)
    return fail(s.error().code, s.error().message, false);
  for (const auto& id : m.erasures)
    log_.log(LogLevel::info, "rgpd", conn_, "erasure_receipt",
             {{"device", device_->id}, {"erasure", id}});
  return SessionOutput{};
}

SessionOutput ServerSession::on_access(const sync::Access& m) {
  if (m.entries.size() > sync::kAccessBatch)
    return fail(Errc::message_too_large,
                "at most " + std::to_string(sync::kAccessBatch) + " access-log entries per message",
                false);
  auto up = store_.store_access(*device_, m.entries);
  if (!up) return fail(up.error().code, up.error().message, false);
  SessionOutput out;
  // The error goes first: a client that got the acknowledgement first could
  // find itself in sync and hang up before reading it. It resends the
  // entries at its next sync; they are then known and simply acknowledged.
  if (up->broken) {
    log_.log(LogLevel::warn, "rgpd", conn_, "access_chain_broken",
             {{"device", device_->id},
              {"seq", std::to_string(up->broken->seq)},
              {"kind", std::string(store::break_name(up->broken->kind))}});
    out.messages.push_back(sync::encode(sync::ErrorReply{
        Errc::access_chain_broken,
        "the access log of this replica is broken: " + up->broken->message +
            "; the entries are kept and the DPO is told (relais-server audit breaks)",
        false, 0}));
  }
  out.messages.push_back(sync::encode(sync::AccessAck{up->through}));
  return out;
}

SessionOutput ServerSession::on_pull(const sync::Pull& m) {
  if (pulling_ || live_) return fail(Errc::unexpected_message, "a pull is already running", false);
  cursor_ = m.cursor;
  pulling_ = true;
  return resume();
}

SessionOutput ServerSession::resume() {
  SessionOutput out;
  if (!pulling_ && !live_) return out;
  if (Status valid = store_.check_still_valid(*device_); !valid)
    return fail(valid.error().code, valid.error().message, true);
  auto batch = store_.pull(*device_, cursor_, sync::kBatchOps);
  if (!batch) return fail(batch.error().code, batch.error().message, true);
  cursor_ = batch->cursor;
  if (live_ && batch->changes.empty()) return out;  // nothing in this device's scope
  out.messages.push_back(
      sync::encode(Changes{std::move(batch->changes), cursor_, batch->caught_up}));
  pulling_ = !batch->caught_up;
  live_ = batch->caught_up;
  out.more = pulling_;
  return out;
}

}  // namespace relais::server
