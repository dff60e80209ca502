// relais conflicts, settle, log, digest, knowledge, export-ops, import-ops.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <sstream>

#include "cli.h"
#include "relais/exchange/bundle.h"
#include "relais/exchange/csv_import.h"
#include "relais/exchange/outbox.h"
#include "relais/schema/validate.h"
#include "relais/store/consent.h"
#include "relais/store/duplicates.h"

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

// --map "Nom de famille=last_name,Tél=phone,Remarque=": column -> field.
Result<std::map<std::string, std::string>> parse_mapping(const std::string& text) {
  std::map<std::string, std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, end - start);
    const auto eq = item.rfind('=');
    if (eq == std::string::npos || eq == 0)
      return make_error(Errc::invalid_argument,
                        "--map takes COLUMN=FIELD pairs separated by commas, not '" + item + "'");
    out[item.substr(0, eq)] = item.substr(eq + 1);
    start = end + 1;
  }
  return out;
}

Status cmd_import_csv(Context& ctx) {
  auto r = ctx.replica();
  if (!r) return r.error();
  const std::string& path = ctx.args().positional[0];
  exchange::CsvOptions options;
  if (auto sep = ctx.args().option("separator")) {
    if (*sep != ";" && *sep != ",")
      return make_error(Errc::invalid_argument, "--separator is ';' or ',', not '" + *sep + "'");
    options.separator = (*sep)[0];
  }
  if (auto enc = ctx.args().option("encoding")) {
    if (*enc == "utf-8" || *enc == "UTF-8")
      options.encoding = exchange::CsvEncoding::utf8;
    else if (*enc == "windows-1252" || *enc == "cp1252")
      options.encoding = exchange::CsvEncoding::windows1252;
    else
      return make_error(Errc::invalid_argument,
                        "--encoding is utf-8 or windows-1252, not '" + *enc + "'");
  }
  std::map<std::string, std::string> mapping;
  if (auto text = ctx.args().option("map")) {
    auto m = parse_mapping(*text);
    if (!m) return m.error();
    mapping = std::move(m).value();
  }
  auto bytes = read_file(path);
  if (!bytes) return bytes.error();
  auto table = exchange::parse_csv(*bytes, options);
  if (!table) return make_error(table.error().code, path + ": " + table.error().message);
  auto plan =
      exchange::plan_import(**r, *table, ctx.args().option("entity").value_or("person"), mapping);
  if (!plan) return make_error(plan.error().code, path + ": " + plan.error().message);
  const bool dry_run = ctx.args().flag("dry-run");
  const bool valid_only = ctx.args().flag("valid-only");
  const bool blocked = plan->invalid_lines > 0 && !valid_only;
  std::vector<std::string> ids;
  if (!dry_run && !blocked) {
    auto done = exchange::run_import(**r, *plan);
    if (!done) return done.error();
    ids = std::move(done).value();
  }
  if (ctx.json()) {
    json problems = json::array();
    for (const auto& p : plan->problems)
      problems.push_back({{"line", p.line},
                          {"column", p.column},
                          {"message", p.message},
                          {"blocking", p.blocking}});
    json columns = json::object();
    for (const auto& [column, field] : plan->mapping) columns[column] = field;
    ctx.out() << json{{"file", path},
                      {"encoding", table->encoding},
                      {"separator", std::string(1, table->separator)},
                      {"lines", plan->lines},
                      {"invalid_lines", plan->invalid_lines},
                      {"columns", columns},
                      {"ignored_columns", plan->ignored_columns},
                      {"problems", problems},
                      {"imported", ids.size()},
                      {"ids", ids}}
              << "\n";
  } else {
    ctx.out() << path << ": " << plan->lines << " line(s), " << table->encoding << ", separator '"
              << table->separator << "'\n";
    for (const auto& [column, field] : plan->mapping)
      ctx.out() << "  column '" << column << "' -> " << plan->entity << "." << field << "\n";
    for (const auto& column : plan->ignored_columns)
      ctx.out() << "  column '" << column << "' ignored"
                << (mapping.count(column)                ? ""
                    : store::fold_name(column) == "site" ? " (records go to this replica's site)"
                                                         : " (no field of that name; --map it)")
                << "\n";
    for (const auto& p : plan->problems)
      ctx.out() << "line " << p.line << (p.column.empty() ? "" : ", column '" + p.column + "'")
                << ": " << p.message << (p.blocking ? "" : " (warning)") << "\n";
    if (dry_run)
      ctx.out() << "dry run: "
                << (blocked ? std::string("nothing would be imported")
                            : std::to_string(plan->records.size()) + " line(s) would be imported")
                << "\n";
    else if (!blocked)
      ctx.out() << "imported " << ids.size() << " " << plan->entity << " record(s)"
                << (plan->invalid_lines ? ", skipped " + std::to_string(plan->invalid_lines) +
                                              " line(s) with problems"
                                        : "")
                << "\n";
  }
  if (blocked)
    return make_error(Errc::invalid_format,
                      std::to_string(plan->invalid_lines) +
                          " line(s) have problems: nothing imported (correct them, or "
                          "--valid-only imports the " +
                          std::to_string(plan->records.size()) + " valid line(s))");
  return Status::Ok();
}

// A field's value as a spreadsheet cell: text as is, sets comma-separated.
std::string cell_text(const json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array()) {
    std::string out;
    for (const auto& item : v) out += (out.empty() ? "" : ",") + cell_text(item);
    return out;
  }
  return v.dump();
}

Status cmd_export_csv(Context& ctx) {
  auto r = ctx.replica();
  if (!r) return r.error();
  const std::string& entity_name = ctx.args().positional[0];
  const std::string& path = ctx.args().positional[1];
  auto entity = (*r)->schema().find_entity(entity_name);
  if (!entity) return entity.error();
  const std::string purpose = ctx.args().option("purpose").value_or("follow_up");
  char separator = ';';
  if (auto sep = ctx.args().option("separator")) {
    if (*sep != ";" && *sep != ",")
      return make_error(Errc::invalid_argument, "--separator is ';' or ',', not '" + *sep + "'");
    separator = (*sep)[0];
  }
  auto records = (*r)->list(entity_name, SIZE_MAX);
  if (!records) return records.error();
  const bool about_persons = (*entity)->name == "person" || (*entity)->field("person") != nullptr;
  std::vector<store::Record> kept;
  std::size_t left_out = 0;
  std::map<std::string, bool> allowed;  // person -> may be processed for the purpose
  for (auto& rec : *records) {
    const std::string person =
        (*entity)->name == "person" ? rec.id : rec.fields.value("person", std::string());
    if (about_persons && !person.empty()) {
      auto it = allowed.find(person);
      if (it == allowed.end()) {
        auto may = store::may_process(**r, person, purpose);
        if (!may && may.error().code != Errc::unknown_record) return may.error();
        it = allowed.emplace(person, may && *may).first;
      }
      if (!it->second) {
        ++left_out;
        continue;
      }
    }
    kept.push_back(std::move(rec));
  }
  std::vector<std::string> header = {"id"};
  for (const auto& f : (*entity)->fields) header.push_back(f.name);
  std::vector<std::vector<std::string>> rows;
  for (const auto& rec : kept) {
    std::vector<std::string> row = {rec.id};
    for (const auto& f : (*entity)->fields)
      row.push_back(rec.fields.contains(f.name) ? cell_text(rec.fields[f.name]) : "");
    rows.push_back(std::move(row));
  }
  if (Status s = log_reads(**r, kept, "export"); !s) return s;
  if (Status s = write_file_atomic(path, exchange::write_csv(header, rows, separator)); !s)
    return s;
  if (ctx.json()) {
    ctx.out() << json{{"file", path},
                      {"entity", entity_name},
                      {"purpose", purpose},
                      {"exported", kept.size()},
                      {"left_out", left_out}}
              << "\n";
  } else {
    ctx.out() << "wrote " << kept.size() << " " << entity_name << " record(s) to " << path;
    if (left_out)
      ctx.out() << "; " << left_out << " left out (objection to '" << purpose
                << "', or no valid consent to it)";
    ctx.out() << "\n";
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
      {"import-csv",
       "FILE [--entity ENTITY] [--map COLUMN=FIELD,...] [--separator ;|,] "
       "[--encoding utf-8|windows-1252] [--dry-run] [--valid-only]",
       "import a contact spreadsheet (CSV) as records",
       "Reads FILE (RFC 4180; UTF-8, or Windows-1252 when it is not UTF-8; ';' or ','\n"
       "as its header line uses), maps each column to a field of ENTITY (default\n"
       "person) by the field's name or its French or English label, and checks every\n"
       "line before writing anything: values against the model (dates as YYYY-MM-DD\n"
       "or DD/MM/YYYY), required fields, and for persons a line that looks like an\n"
       "earlier one (refused) or like a person already held (a warning). If a line has\n"
       "a problem nothing is imported, unless --valid-only: then the valid lines are.\n"
       "--dry-run prints the report and writes nothing. --map renames columns: a\n"
       "column mapped to nothing ('Remarque=') is ignored. The import is one\n"
       "transaction of ordinary edits, which sync like any other.",
       {{"entity", "map", "separator", "encoding"}, {"dry-run", "valid-only"}},
       1,
       1,
       cmd_import_csv},
      {"export-csv",
       "ENTITY FILE [--purpose PURPOSE] [--separator ;|,]",
       "write the records of ENTITY held here to a spreadsheet (CSV)",
       "Writes the live records of ENTITY that this replica holds (its site's) to\n"
       "FILE: UTF-8 CSV with a byte-order mark, ';' between cells unless --separator,\n"
       "one column per field and the record's id first; import-csv reads it back.\n"
       "Persons, and records about a person, are left out when the person may not be\n"
       "processed for PURPOSE (default follow_up): an objection or restriction, or\n"
       "for a purpose based on consent, no complete consent given. Each person\n"
       "exported is written to the access log. The file holds personal data: keep\n"
       "it where only the people who need it can read it (it is made readable by\n"
       "its owner only).",
       {{"purpose", "separator"}},
       2,
       2,
       cmd_export_csv},
  };
  return commands;
}

}  // namespace relais::cli
