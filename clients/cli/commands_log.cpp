// relais conflicts, settle, log, digest, knowledge, export-ops, import-ops.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>

#include "cli.h"
#include "relais/exchange/bundle.h"
#include "relais/exchange/outbox.h"
#include "relais/schema/validate.h"

namespace relais::cli {
namespace {

using nlohmann::json;

Result<std::string> read_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    return make_error(Errc::store_io, "cannot read '" + path + "': not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(Errc::store_io, "cannot read '" + path + "'");
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) return make_error(Errc::store_io, "error while reading '" + path + "'");
  return bytes.str();
}

// Writes to a temporary file beside `path`, flushes it to the device, then
// renames it over `path`: a reader never sees half a bundle.
Status write_file_atomic(const std::string& path, std::string_view bytes) {
  const std::string tmp = path + ".partial";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return make_error(Errc::store_io, "cannot write '" + tmp + "'");
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      ::close(fd);
      std::remove(tmp.c_str());
      return make_error(Errc::store_io, "cannot write '" + tmp + "'");
    }
    done += static_cast<std::size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return make_error(Errc::store_io, "cannot finish writing '" + path + "'");
  }
  return Status::Ok();
}

json conflict_json(const store::Conflict& c) {
  json values = json::array();
  for (const auto& v : c.values)
    values.push_back({{"op", v.op.str()},
                      {"value", v.value},
                      {"author", v.author},
                      {"hlc", store::HybridClock::to_hex(v.hlc)},
                      {"time", store::HybridClock::to_display(v.hlc)}});
  return {{"entity", c.entity}, {"record", c.record}, {"field", c.field}, {"values", values}};
}

Status cmd_conflicts(Context& ctx) {
  auto r = ctx.replica();
  if (!r) return r.error();
  auto all = (*r)->conflicts();
  if (!all) return all.error();
  std::vector<std::pair<std::string, std::string>> shown;
  for (const auto& c : *all) shown.emplace_back(c.entity, c.record);
  if (Status s = log_reads_of(**r, shown, "conflicts"); !s) return s;
  if (ctx.json()) {
    json out = json::array();
    for (const auto& c : *all) out.push_back(conflict_json(c));
    ctx.out() << out << "\n";
    return Status::Ok();
  }
  for (const auto& c : *all) {
    ctx.out() << c.entity << " " << c.record << " field " << c.field << "\n";
    for (std::size_t i = 0; i < c.values.size(); ++i) {
      const auto& v = c.values[i];
      ctx.out() << "  [" << i + 1 << "] " << display(v.value) << "  by " << v.author << " at "
                << store::HybridClock::to_display(v.hlc) << (i == 0 ? "  (shown now)" : "") << "\n";
    }
  }
  ctx.out() << all->size() << " open conflict(s)\n";
  return Status::Ok();
}

Status cmd_settle(Context& ctx) {
  auto r = ctx.replica();
  if (!r) return r.error();
  const auto& pos = ctx.args().positional;
  const auto pick = ctx.args().option("pick");
  const auto value = ctx.args().option("value");
  if (pick.has_value() == value.has_value())
    return make_error(Errc::invalid_argument, "settle needs either --pick N or --value VALUE");
  auto all = (*r)->conflicts();
  if (!all) return all.error();
  auto it = std::find_if(all->begin(), all->end(), [&](const store::Conflict& c) {
    return c.record == pos[0] && c.field == pos[1];
  });
  if (it == all->end())
    return make_error(Errc::no_such_conflict, "no open conflict on " + pos[1] + " of " + pos[0]);
  json chosen;
  if (pick) {
    const auto n = parse_count(*pick).value_or(0);
    if (n < 1 || n > it->values.size())
      return make_error(Errc::invalid_argument,
                        "--pick expects 1.." + std::to_string(it->values.size()));
    chosen = it->values[n - 1].value;
  } else {
    const auto& schema = (*r)->schema();
    const schema::Entity& e = *schema.entity(it->entity);
    auto parsed = schema::parse_value_text(e, *e.field(pos[1]), *value);
    if (!parsed) return parsed.error();
    chosen = *parsed;
  }
  if (Status s = (*r)->settle(pos[0], pos[1], chosen); !s) return s;
  if (ctx.json())
    ctx.out() << json{{"record", pos[0]}, {"field", pos[1]}, {"value", chosen}} << "\n";
  else
    ctx.out() << "settled " << pos[1] << " of " << pos[0] << " = " << display(chosen) << "\n";
  return Status::Ok();
}

Status cmd_log(Context& ctx) {
  auto r = ctx.replica();
  if (!r) return r.error();
  auto limit = limit_option(ctx.args(), 50);
  if (!limit) return limit.error();
  auto changes = (*r)->history(ctx.args().option("record"), *limit);
  if (!changes) return changes.error();
  std::vector<std::pair<std::string, std::string>> shown;
  for (const auto& c : *changes) shown.emplace_back(c.entity, c.record);
  if (Status s = log_reads_of(**r, shown, "history"); !s) return s;
  if (ctx.json()) {
    json out = json::array();
    for (const auto& c : *changes) out.push_back(store::change_to_json(c));
    ctx.out() << out << "\n";
    return Status::Ok();
  }
  for (const auto& c : *changes) {
    ctx.out() << store::HybridClock::to_display(c.hlc) << "  " << std::left << std::setw(7)
              << store::kind_name(c.kind) << c.entity << " " << c.record << "  by " << c.author
              << "  op " << c.op_id(0).str() << "\n   ";
    for (const auto& op : c.ops) ctx.out() << " " << op.field << "=" << display(op.value);
    ctx.out() << "\n";
  }
  return Status::Ok();
}

Status cmd_digest(Context& ctx) {
  auto r = ctx.replica();
  if (!r) return r.error();
  auto d = (*r)->digest();
  if (!d) return d.error();
  auto counts = (*r)->counts();
  if (!counts) return counts.error();
  std::int64_t total = 0;
  for (const auto& [e, n] : *counts) total += n;
  if (ctx.json())
    ctx.out() << json{{"digest", *d}, {"records", total}} << "\n";
  else
    ctx.out() << *d << "  " << total << " records\n";
  return Status::Ok();
}

Status cmd_knowledge(Context& ctx) {
  auto r = ctx.replica();
  if (!r) return r.error();
  ctx.out() << store::knowledge_to_json((*r)->knowledge()).dump(ctx.json() ? -1 : 2) << "\n";
  return Status::Ok();
}

// The knowledge of the peer: from a knowledge file (--since), from the
// header of a bundle the peer wrote (--for), or nothing (send all).
Result<store::Knowledge> peer_knowledge(Context& ctx, const schema::Schema& schema,
                                        const std::string& self) {
  const auto since = ctx.args().option("since");
  const auto for_bundle = ctx.args().option("for");
  if (since && for_bundle)
    return make_error(Errc::invalid_argument, "give --since or --for, not both");
  if (since) {
    auto text = read_file(*since);
    if (!text) return text.error();
    const json j = json::parse(*text, nullptr, false);
    if (j.is_discarded()) return make_error(Errc::bundle_malformed, *since + " is not JSON");
    return store::knowledge_from_json(j);
  }
  if (for_bundle) {
    auto bytes = read_file(*for_bundle);
    if (!bytes) return bytes.error();
    auto bundle = exchange::decode_bundle(*bytes, schema);
    if (!bundle)
      return make_error(bundle.error().code, *for_bundle + ": " + bundle.error().message);
    if (bundle->header.replica_id == self)
      return make_error(Errc::invalid_argument,
                        *for_bundle +
                            " was written by this replica: --for takes the bundle the "
                            "other replica wrote");
    return bundle->header.knowledge;
  }
  return store::Knowledge{};
}

Status cmd_export(Context& ctx) {
  auto r = ctx.replica();
  if (!r) return r.error();
  auto theirs = peer_knowledge(ctx, (*r)->schema(), (*r)->info().replica_id);
  if (!theirs) return theirs.error();
  exchange::Outbox outbox(**r, *theirs);
  std::vector<store::Change> changes;
  std::size_t ops = 0;
  for (;;) {
    auto batch = outbox.next();
    if (!batch) return batch.error();
    if (!*batch) break;
    for (auto& c : **batch) {
      ops += c.ops.size();
      changes.push_back(std::move(c));
    }
  }
  const auto& info = (*r)->info();
  exchange::BundleHeader header{
      exchange::kBundleFormatVersion, info.schema_version, info.replica_id, info.site,
      store::utc_now_iso(),           (*r)->knowledge()};
  const std::string& path = ctx.args().positional[0];
  if (Status s = write_file_atomic(path, exchange::encode_bundle(header, changes)); !s) return s;
  if (ctx.json())
    ctx.out() << json{{"file", path}, {"changes", changes.size()}, {"ops", ops}} << "\n";
  else
    ctx.out() << "wrote " << changes.size() << " change(s), " << ops << " operation(s) to " << path
              << "\n";
  return Status::Ok();
}

Status cmd_import(Context& ctx) {
  auto r = ctx.replica();
  if (!r) return r.error();
  const std::string& path = ctx.args().positional[0];
  auto bytes = read_file(path);
  if (!bytes) return bytes.error();
  auto bundle = exchange::decode_bundle(*bytes, (*r)->schema());
  if (!bundle) return make_error(bundle.error().code, path + ": " + bundle.error().message);
  auto stats = exchange::apply_in_batches(**r, bundle->changes);
  if (!stats) return stats.error();
  auto digest = (*r)->digest();
  if (!digest) return digest.error();
  if (ctx.json()) {
    ctx.out() << json{{"file", path},
                      {"from", bundle->header.replica_id},
                      {"applied", stats->applied},
                      {"already_held", stats->duplicates},
                      {"digest", *digest}}
              << "\n";
  } else {
    ctx.out() << "applied " << stats->applied << " change(s) from replica "
              << bundle->header.replica_id << " (site " << bundle->header.site << "), "
              << stats->duplicates << " already held\ndigest " << *digest << "\n";
  }
  return Status::Ok();
}

}  // namespace

const std::vector<Command>& log_commands() {
  static const std::vector<Command> commands = {
      {"conflicts",
       "",
       "list fields edited concurrently with different values",
       "Lists each open conflict with its competing values, newest first; value [1] is\n"
       "the one shown until someone settles it.",
       {},
       0,
       0,
       cmd_conflicts},
      {"settle",
       "ID FIELD (--pick N | --value VALUE)",
       "settle a conflict",
       "Ends the conflict on FIELD of record ID with value number N of `relais conflicts`\n"
       "or with another VALUE. Settling is an operation: it syncs like any edit.",
       {{"pick", "value"}},
       2,
       2,
       cmd_settle},
      {"log",
       "[--record ID] [--limit N]",
       "show the operation log, newest first",
       "Shows changes (default 50), each with its time, kind, record, author and the\n"
       "field values it set.",
       {{"record", "limit"}},
       0,
       0,
       cmd_log},
      {"digest",
       "",
       "print a digest of the visible data",
       "Prints a SHA-256 of the live records and open conflicts: two replicas that hold\n"
       "the same operations print the same line.",
       {},
       0,
       0,
       cmd_digest},
      {"knowledge",
       "",
       "print which operations this replica holds",
       "Prints, per origin replica, the counter up to which this replica holds every\n"
       "operation: give the file to another replica's `export-ops --since`.",
       {},
       0,
       0,
       cmd_knowledge},
      {"export-ops",
       "FILE [--since KNOWLEDGE | --for BUNDLE]",
       "write an operation bundle",
       "Writes the operations this replica holds to FILE (all of them, or only those\n"
       "missing from a replica whose knowledge file or bundle is given). The file is\n"
       "written whole or not at all.",
       {{"since", "for"}},
       1,
       1,
       cmd_export},
      {"import-ops",
       "FILE",
       "apply an operation bundle",
       "Checks the whole bundle first (format, schema version, every operation, the\n"
       "closing checksum), then merges it. Operations already held are skipped, so\n"
       "importing the same bundle twice changes nothing.",
       {},
       1,
       1,
       cmd_import},
  };
  return commands;
}

}  // namespace relais::cli
