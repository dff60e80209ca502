// Full-text search over the fields the model marks `search`: one SQLite FTS5
// index per entity, kept by triggers on the entity's table so that local
// edits, merges and erasures all update it in their own transaction.
//
// Entity tables have text ids and no rowid, and FTS5 needs integer rowids:
// a key table gives each record a stable integer. The index is derived data,
// rebuilt whenever its columns differ from what the model asks for. Plain
// indexes on reference fields serve Replica::referring().
#include <algorithm>
#include <cctype>

#include "relais/store/replica.h"
#include "replica_internal.h"

namespace relais::store {
namespace {

std::string fts_table(const schema::Entity& e) {
  return quote_ident("_search_" + e.name);
}
std::string key_table(const schema::Entity& e) {
  return quote_ident("_search_key_" + e.name);
}

std::vector<const schema::Field*> searchable(const schema::Entity& e) {
  std::vector<const schema::Field*> out;
  for (const auto& f : e.fields)
    if (f.searchable) out.push_back(&f);
  return out;
}

// The ligatures of French words and what they are indexed and searched as.
constexpr std::pair<std::string_view, std::string_view> kLigatures[] = {
    {"\xc5\x93", "oe"}, {"\xc5\x92", "OE"}, {"\xc3\xa6", "ae"}, {"\xc3\x86", "AE"}};

// The text indexed for field `f` of the row named by `row` (`new` in a
// trigger, a table alias elsewhere). A phone is stored as "+33612345678" or
// "0612345678": its digits are indexed, and a French number also in its
// national form, so that what people dial finds it.
std::string indexed_text(const schema::Field& f, const std::string& row) {
  const std::string col = row + "." + quote_ident(f.name);
  if (f.type != schema::FieldType::phone) {
    // The tokenizer removes accents but keeps the ligatures of "Lecœur" and
    // "Lætitia": they are indexed spelt out, as people type them.
    std::string text = "coalesce(" + col + ", '')";
    for (const auto& [from, to] : kLigatures)
      text = "replace(" + text + ", '" + std::string(from) + "', '" + std::string(to) + "')";
    return text;
  }
  return "replace(coalesce(" + col + ", ''), '+', '') || CASE WHEN " + col +
         " LIKE '+33%' THEN ' 0' || substr(" + col + ", 4) ELSE '' END";
}

std::string columns(const std::vector<const schema::Field*>& fields) {
  std::string out;
  for (const auto* f : fields) out += ", " + quote_ident(f->name);
  return out;
}

std::string values(const std::vector<const schema::Field*>& fields, const std::string& row) {
  std::string out;
  for (const auto* f : fields) out += ", " + indexed_text(*f, row);
  return out;
}

// Whether `word` is part of a phone number as people type it: digits, with
// perhaps a leading + and separators.
bool phone_like(const std::string& word) {
  return std::any_of(word.begin(), word.end(), [](char c) { return std::isdigit(c & 0xff); }) &&
         std::all_of(word.begin(), word.end(), [](char c) {
           return std::isdigit(c & 0xff) || c == '+' || c == '.' || c == '-' || c == '(' ||
                  c == ')';
         });
}

// The words of `typed`, split at spaces (a no-break space too, as a pasted
// "06 12" may hold). Consecutive parts of a phone number are joined into
// their digits: "06 12 34" is one word, "061234", as the phone is indexed.
// A "(0)" is dropped, as from a stored number ("+33 (0)6 ...").
std::vector<std::string> query_words(std::string_view typed) {
  std::string text(typed);
  for (std::size_t at; (at = text.find("\xc2\xa0")) != std::string::npos;) text.replace(at, 2, " ");
  for (std::size_t at; (at = text.find("(0)")) != std::string::npos;) text.erase(at, 3);
  for (const auto& [from, to] : kLigatures)
    for (std::size_t at; (at = text.find(from)) != std::string::npos;) text.replace(at, 2, to);
  std::vector<std::string> words;
  bool last_was_phone = false;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    std::size_t end = i;
    while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end]))) ++end;
    std::string word = text.substr(i, end - i);
    i = end;
    if (word.empty()) continue;
    const bool phone = phone_like(word);
    const bool french = phone && !last_was_phone && word.rfind("+33", 0) == 0;
    if (phone) std::erase_if(word, [](char c) { return !std::isdigit(c & 0xff); });
    // "+33 6 12..." is looked for in its national form "06 12...", which
    // every French number is indexed under (see indexed_text).
    if (french) word = "0" + word.substr(2);
    if (phone && last_was_phone)
      words.back() += word;
    else
      words.push_back(std::move(word));
    last_was_phone = phone;
  }
  return words;
}

// The FTS5 query for what a person typed: every word must match as a word
// prefix. Double quotes are escaped; words the tokenizer would drop
// entirely (punctuation alone) are left out.
std::string fts_query(std::string_view typed) {
  std::string query;
  for (const auto& word : query_words(typed)) {
    const bool has_token = std::any_of(word.begin(), word.end(), [](char c) {
      const auto u = static_cast<unsigned char>(c);
      return std::isalnum(u) || u >= 0x80;
    });
    if (!has_token) continue;
    std::string escaped;
    for (char c : word) {
      if (c == '"') escaped += '"';
      escaped += c;
    }
    if (!query.empty()) query += ' ';
    query += '"' + escaped + "\"*";
  }
  return query;
}

// The statement of an insert trigger that gives a new record its key.
std::string add_key_sql(const schema::Entity& e) {
  const std::string keys = key_table(e);
  return "INSERT INTO " + keys + "(id) SELECT new.id WHERE new._deleted = 0 " +
         "AND NOT EXISTS (SELECT 1 FROM " + keys + " WHERE id = new.id);\n";
}

// The trigger that indexes an inserted row, as SQLite keeps it in
// sqlite_schema (no final semicolon): comparing the two tells whether the
// index was built the way this version builds it.
std::string insert_trigger_sql(const schema::Entity& e,
                               const std::vector<const schema::Field*>& fields) {
  const std::string fts = fts_table(e);
  const std::string key_of_new = "(SELECT k FROM " + key_table(e) + " WHERE id = new.id)";
  return "CREATE TRIGGER " + quote_ident("_search_" + e.name + "_ai") + " AFTER INSERT ON " +
         quote_ident(e.name) + " BEGIN\n  DELETE FROM " + fts + " WHERE rowid = " + key_of_new +
         ";\n  " + add_key_sql(e) + "  INSERT INTO " + fts + "(rowid" + columns(fields) +
         ") SELECT " + key_of_new + values(fields, "new") + " WHERE new._deleted = 0;\nEND";
}

}  // namespace

Status Replica::ensure_search_indexes() {
  // Plain indexes on reference fields, for referring().
  for (const auto& e : schema_.entities())
    for (const auto& f : e.fields)
      if (f.type == schema::FieldType::reference)
        if (Status s = db_.exec("CREATE INDEX IF NOT EXISTS " +
                                quote_ident("_ref_" + e.name + "_" + f.name) + " ON " +
                                quote_ident(e.name) + "(" + quote_ident(f.name) + ")");
            !s)
          return s;
  for (const auto& e : schema_.entities()) {
    const auto fields = searchable(e);
    const std::string fts = fts_table(e), keys = key_table(e), table = quote_ident(e.name);
    // The columns the index has now, if it exists.
    std::vector<std::string> have;
    {
      auto info = db_.prepare("SELECT name FROM pragma_table_info(?)");
      if (!info) return info.error();
      info->bind(1, "_search_" + e.name);
      while (info->step()) have.push_back(info->text(0));
      if (!info->status()) return info->status();
    }
    std::vector<std::string> want;
    for (const auto* f : fields) want.push_back(f->name);
    // The key table and the three triggers must be there too: without them
    // the index would go stale, or writes to the entity would fail.
    std::int64_t parts = 0;
    {
      auto info = db_.prepare(
          "SELECT COUNT(*) FROM sqlite_schema WHERE name IN (?, ?, ?, ?) AND type IN "
          "('table', 'trigger')");
      if (!info) return info.error();
      info->bind(1, "_search_key_" + e.name)
          .bind(2, "_search_" + e.name + "_ai")
          .bind(3, "_search_" + e.name + "_au")
          .bind(4, "_search_" + e.name + "_ad");
      if (info->step()) parts = info->int64(0);
      if (!info->status()) return info->status();
    }
    // And built as this version builds it (what is indexed may change).
    std::string insert_trigger;
    {
      auto info = db_.prepare("SELECT sql FROM sqlite_schema WHERE name = ? AND type = 'trigger'");
      if (!info) return info.error();
      info->bind(1, "_search_" + e.name + "_ai");
      if (info->step()) insert_trigger = info->text(0);
      if (!info->status()) return info->status();
    }
    if (have == want &&
        (fields.empty() || (parts == 4 && insert_trigger == insert_trigger_sql(e, fields))))
      continue;

    auto tx = Transaction::begin(db_);
    if (!tx) return tx.error();
    std::string sql;
    for (const char* suffix : {"_ai", "_au", "_ad"})
      sql += "DROP TRIGGER IF EXISTS " + quote_ident("_search_" + e.name + suffix) + ";\n";
    sql += "DROP TABLE IF EXISTS " + fts + ";\nDROP TABLE IF EXISTS " + keys + ";\n";
    if (!fields.empty()) {
      std::string cols;
      for (const auto* f : fields) cols += (cols.empty() ? "" : ", ") + quote_ident(f->name);
      const std::string key_of_new = "(SELECT k FROM " + keys + " WHERE id = new.id)";
      const std::string key_of_old = "(SELECT k FROM " + keys + " WHERE id = old.id)";
      std::string updated_columns = "_deleted";
      for (const auto* f : fields) updated_columns += ", " + quote_ident(f->name);
      sql += "CREATE TABLE " + keys + "(k INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE);\n";
      sql += "CREATE VIRTUAL TABLE " + fts + " USING fts5(" + cols +
             ", tokenize = 'unicode61 remove_diacritics 2');\n";
      // Rows are written with INSERT OR REPLACE, which replaces without
      // firing delete triggers, and whose conflict clause overrides those of
      // the statements below: so no statement here may meet a conflict, and
      // the insert trigger removes the indexed row it replaces itself.
      const std::string add_key = add_key_sql(e);
      sql += insert_trigger_sql(e, fields) + ";\n";
      sql += "CREATE TRIGGER " + quote_ident("_search_" + e.name + "_au") + " AFTER UPDATE OF " +
             updated_columns + " ON " + table + " BEGIN\n  DELETE FROM " + fts +
             " WHERE rowid = " + key_of_old + ";\n  " + add_key + "  INSERT INTO " + fts +
             "(rowid" + columns(fields) + ") SELECT " + key_of_new + values(fields, "new") +
             " WHERE new._deleted = 0;\nEND;\n";
      sql += "CREATE TRIGGER " + quote_ident("_search_" + e.name + "_ad") + " AFTER DELETE ON " +
             table + " BEGIN\n  DELETE FROM " + fts + " WHERE rowid = " + key_of_old +
             ";\n  DELETE FROM " + keys + " WHERE id = old.id;\nEND;\n";
      sql += "INSERT INTO " + keys + "(id) SELECT id FROM " + table + " WHERE _deleted = 0;\n";
      sql += "INSERT INTO " + fts + "(rowid" + columns(fields) + ") SELECT k.k" +
             values(fields, "r") + " FROM " + table + " r JOIN " + keys +
             " k ON k.id = r.id WHERE r._deleted = 0;\n";
    }
    if (Status s = db_.exec(sql); !s) return s;
    if (Status s = (*tx)->commit(); !s) return s;
  }
  statements_.clear();
  return Status::Ok();
}

Status Replica::optimize_search_indexes() {
  for (const auto& e : schema_.entities()) {
    if (searchable(e).empty()) continue;
    const std::string fts = fts_table(e);
    if (Status s = db_.exec("INSERT INTO " + fts + "(" + fts + ") VALUES ('optimize')"); !s)
      return s;
  }
  return Status::Ok();
}

Result<std::vector<Record>> Replica::search(const std::string& entity_name, std::string_view typed,
                                            std::size_t limit) {
  auto entity = schema_.find_entity(entity_name);
  if (!entity) return entity.error();
  if (searchable(**entity).empty())
    return make_error(Errc::invalid_argument, entity_name + " has no field to search");
  const std::string query = fts_query(typed);
  std::vector<Record> out;
  if (query.empty() || limit == 0) return out;
  const std::string fts = fts_table(**entity);
  auto s =
      statement("SELECT k.id FROM " + fts + " JOIN " + key_table(**entity) + " k ON k.k = " + fts +
                ".rowid WHERE " + fts + " MATCH ? ORDER BY rank LIMIT ?");
  if (!s) return s.error();
  (*s)->bind(1, query).bind(2, static_cast<std::int64_t>(limit));
  std::vector<std::string> ids;
  while ((*s)->step()) ids.push_back((*s)->text(0));
  if (!(*s)->status()) return (*s)->status().error();
  for (const auto& id : ids) {
    auto rec = get(entity_name, id);
    if (!rec) return rec.error();
    out.push_back(std::move(rec).value());
  }
  return out;
}

Result<std::vector<Record>> Replica::referring(const std::string& entity_name,
                                               const std::string& field, const std::string& id,
                                               std::size_t limit) {
  auto entity = schema_.find_entity(entity_name);
  if (!entity) return entity.error();
  const auto i = field_index(**entity, field);
  if (i == (*entity)->fields.size() || (*entity)->fields[i].type != schema::FieldType::reference)
    return make_error(Errc::unknown_field, entity_name + " has no reference field '" + field + "'");
  auto s = statement("SELECT id FROM " + quote_ident(entity_name) + " WHERE " + quote_ident(field) +
                     " = ? AND _deleted = 0 ORDER BY id LIMIT ?");
  if (!s) return s.error();
  (*s)->bind(1, id).bind(2, static_cast<std::int64_t>(limit));
  std::vector<std::string> ids;
  while ((*s)->step()) ids.push_back((*s)->text(0));
  if (!(*s)->status()) return (*s)->status().error();
  std::vector<Record> out;
  for (const auto& rid : ids) {
    auto rec = get(entity_name, rid);
    if (!rec) return rec.error();
    out.push_back(std::move(rec).value());
  }
  return out;
}

}  // namespace relais::store
