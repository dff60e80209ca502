// CSV import: decoding, RFC 4180 parsing, column mapping, checks, import.
#include "relais/exchange/csv_import.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>

#include "relais/schema/validate.h"
#include "relais/store/consent.h"
#include "relais/store/duplicates.h"

namespace relais::exchange {
namespace {

using nlohmann::json;

// Windows-1252 bytes 0x80 to 0x9F, as Unicode code points (0: undefined).
constexpr char32_t kCp1252High[32] = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0,      0x017D, 0,      0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178};

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

// The line (from 1) of byte `at` of `bytes`.
std::size_t line_of(std::string_view bytes, std::size_t at) {
  return 1 + static_cast<std::size_t>(std::count(bytes.begin(), bytes.begin() + at, '\n'));
}

Result<std::string> from_cp1252(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() + bytes.size() / 8);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    if (b < 0x80) {
      out += static_cast<char>(b);
    } else if (b >= 0xA0) {
      append_utf8(out, b);
    } else if (kCp1252High[b - 0x80] != 0) {
      append_utf8(out, kCp1252High[b - 0x80]);
    } else {
      return make_error(Errc::invalid_encoding, "line " + std::to_string(line_of(bytes, i)) +
                                                    ": byte 0x" + "0123456789ABCDEF"[b >> 4] +
                                                    "0123456789ABCDEF"[b & 15] +
                                                    " is not a character in Windows-1252");
    }
  }
  return out;
}

// The byte at which `bytes` stops being UTF-8 (RFC 3629: no overlong form,
// surrogate or value past U+10FFFF), or npos.
std::size_t utf8_error_at(std::string_view bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t size = bytes.size();
  for (std::size_t i = 0; i < size;) {
    const unsigned b = p[i];
    if (b < 0x80) {
      ++i;
      continue;
    }
    std::size_t n = 0;
    unsigned lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
    if (b >= 0xC2 && b <= 0xDF) {
      n = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
      n = 3;
      if (b == 0xE0) lo = 0xA0;
      if (b == 0xED) hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      n = 4;
      if (b == 0xF0) lo = 0x90;
      if (b == 0xF4) hi = 0x8F;
    } else {
      return i;
    }
    if (i + n > size || p[i + 1] < lo || p[i + 1] > hi) return i;
    for (std::size_t k = 2; k < n; ++k)
      if ((p[i + k] & 0xC0) != 0x80) return i;
    i += n;
  }
  return std::string_view::npos;
}

// The separator the first line that is not blank uses most, outside
// quotes: ';' or ','.
char guess_separator(std::string_view text) {
  text.remove_prefix(std::min(text.size(), text.find_first_not_of(" \t\r\n")));
  std::size_t semicolons = 0, commas = 0;
  bool quoted = false;
  for (char c : text) {
    if (c == '"') quoted = !quoted;
    if (quoted) continue;
    if (c == '\n' || c == '\r') break;
    if (c == ';') ++semicolons;
    if (c == ',') ++commas;
  }
  return semicolons > commas ? ';' : ',';
}

// A cell that a spreadsheet would run as a formula ("=...", "@...") is
// written after an apostrophe, which reading takes off again.
bool formula_like(std::string_view c) {
  return !c.empty() && (c[0] == '=' || c[0] == '@');
}

std::string unguarded(std::string cell) {
  if (cell.size() > 1 && cell[0] == '\'' && formula_like(std::string_view(cell).substr(1)))
    cell.erase(0, 1);
  return cell;
}

std::string trimmed(std::string_view s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return "";
  return std::string(s.substr(b, s.find_last_not_of(" \t") - b + 1));
}

// A column name or a label, compared: folded, underscores as spaces.
std::string comparable(std::string_view name) {
  std::string s(name);
  std::replace(s.begin(), s.end(), '_', ' ');
  return store::fold_name(s);
}

// "14/05/2008" as spreadsheets write dates, to "2008-05-14"; other text as is.
std::string iso_date(const std::string& text) {
  if (text.size() == 10 && text[2] == '/' && text[5] == '/' &&
      std::all_of(text.begin(), text.end(),
                  [](char c) { return std::isdigit(c & 0xff) || c == '/'; }))
    return text.substr(6, 4) + "-" + text.substr(3, 2) + "-" + text.substr(0, 2);
  return text;
}

}  // namespace

Result<CsvTable> parse_csv(std::string_view bytes, const CsvOptions& options) {
  CsvTable table;
  if (bytes.starts_with("\xEF\xBB\xBF")) bytes.remove_prefix(3);  // a BOM
  std::string text;
  const std::size_t bad = utf8_error_at(bytes);
  if (options.encoding == CsvEncoding::utf8 && bad != std::string_view::npos)
    return make_error(Errc::invalid_encoding,
                      "line " + std::to_string(line_of(bytes, bad)) +
                          ": the file is not UTF-8 (save it as UTF-8, or give "
                          "--encoding windows-1252)");
  // UTF-8 up to a byte that is not: one file, two encodings (lines pasted
  // from elsewhere). Read as Windows-1252 it would garble every accent.
  if (options.encoding == CsvEncoding::automatic && bad != std::string_view::npos &&
      std::any_of(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(bad),
                  [](char c) { return (c & 0x80) != 0; }))
    return make_error(Errc::invalid_encoding,
                      "line " + std::to_string(line_of(bytes, bad)) +
                          ": the file is UTF-8 before this line and not on it: save the whole "
                          "file again as UTF-8");
  if (options.encoding == CsvEncoding::windows1252 ||
      (options.encoding == CsvEncoding::automatic && bad != std::string_view::npos)) {
    auto decoded = from_cp1252(bytes);
    if (!decoded) return decoded.error();
    text = std::move(decoded).value();
    table.encoding = "Windows-1252";
  } else {
    text = std::string(bytes);
    table.encoding = "UTF-8";
  }
  if (text.find_first_not_of(" \t\r\n") == std::string::npos)
    return make_error(Errc::csv_malformed, "the file is empty: no header line");
  table.separator = options.separator ? options.separator : guess_separator(text);
  const char sep = table.separator;

  std::vector<std::string> row;
  std::string cell;
  std::size_t line = 1, row_line = 1;
  bool in_quotes = false, was_quoted = false, after_quote = false;
  bool row_quoted = false;      // a cell of the row was quoted: even "" is not a blank row
  std::size_t header_line = 1;  // after blank lines, if the file starts with some
  auto end_row = [&]() -> Status {
    row.push_back(unguarded(was_quoted ? cell : trimmed(cell)));
    cell.clear();
    was_quoted = after_quote = false;
    const bool blank = !row_quoted && std::all_of(row.begin(), row.end(),
                                                  [](const std::string& c) { return c.empty(); });
    row_quoted = false;
    if (table.header.empty()) {
      if (!blank) {
        table.header = std::move(row);
        header_line = row_line;
      }
    } else if (!blank) {
      if (row.size() != table.header.size())
        return make_error(Errc::csv_malformed,
                          "line " + std::to_string(row_line) + ": " + std::to_string(row.size()) +
                              " cells where the header has " + std::to_string(table.header.size()) +
                              " (separator '" + std::string(1, sep) + "')");
      table.rows.push_back(std::move(row));
      table.row_lines.push_back(row_line);
    }
    row.clear();
    row_line = line;
    return Status::Ok();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          cell += '"';
          ++i;
        } else {
          in_quotes = false;
          after_quote = true;
        }
      } else {
        if (c == '\n' || (c == '\r' && (i + 1 >= text.size() || text[i + 1] != '\n'))) ++line;
        cell += c;
      }
      continue;
    }
    if (c == sep) {
      row.push_back(unguarded(was_quoted ? cell : trimmed(cell)));
      cell.clear();
      was_quoted = after_quote = false;
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      continue;
    } else if (c == '\n' || c == '\r') {  // a lone CR ends lines in old Mac files
      ++line;
      if (Status s = end_row(); !s) return s.error();
    } else if (c == '"') {
      if (!trimmed(cell).empty() || after_quote)
        return make_error(Errc::csv_malformed, "line " + std::to_string(line) +
                                                   ": a quote inside a cell that does not start "
                                                   "with one (quote the whole cell, and double "
                                                   "the quotes inside it)");
      cell.clear();
      in_quotes = was_quoted = row_quoted = true;
    } else if (after_quote && c != ' ' && c != '\t') {
      return make_error(Errc::csv_malformed, "line " + std::to_string(line) +
                                                 ": text after the closing quote of a cell");
    } else if (!after_quote) {
      cell += c;
    }
  }
  if (in_quotes)
    return make_error(Errc::csv_malformed,
                      "line " + std::to_string(row_line) + ": a quote opened here is never closed");
  if (!cell.empty() || !row.empty() || was_quoted)
    if (Status s = end_row(); !s) return s.error();
  std::set<std::string> seen;
  const std::string at = "line " + std::to_string(header_line) + ": ";
  for (const auto& h : table.header) {
    if (h.empty()) return make_error(Errc::csv_malformed, at + "a column has no name");
    if (!seen.insert(h).second)
      return make_error(Errc::csv_malformed, at + "two columns are named '" + h + "'");
  }
  return table;
}

std::string csv_cell(std::string_view cell, char separator) {
  const std::string c = formula_like(cell) ? "'" + std::string(cell) : std::string(cell);
  const bool quote = c.find_first_of(std::string("\"\r\n") + separator) != std::string::npos ||
                     (!c.empty() && (c.front() == ' ' || c.back() == ' ' || c.front() == '\t' ||
                                     c.back() == '\t'));
  if (!quote) return c;
  std::string out = "\"";
  for (char ch : c) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return out + '"';
}

std::string write_csv(const std::vector<std::string>& header,
                      const std::vector<std::vector<std::string>>& rows, char separator) {
  std::string out = "\xEF\xBB\xBF";
  auto line = [&](const std::vector<std::string>& cells) {
    if (cells.size() == 1 && cells[0].empty()) {  // else an empty line, which is skipped
      out += "\"\"\r\n";
      return;
    }
    for (std::size_t i = 0; i < cells.size(); ++i)
      out += (i ? std::string(1, separator) : std::string()) + csv_cell(cells[i], separator);
    out += "\r\n";
  };
  line(header);
  for (const auto& r : rows) line(r);
  return out;
}

Result<ImportPlan> plan_import(store::Replica& replica, const CsvTable& table,
                               const std::string& entity_name,
                               const std::map<std::string, std::string>& mapping) {
  auto found = replica.schema().find_entity(entity_name);
  if (!found) return found.error();
  const schema::Entity& entity = **found;
  if (entity.append_only)
    return make_error(Errc::append_only,
                      entity.name +
                          " records are proof written with what was shown and by whom "
                          "(relais consent give): they are not imported from a file");
  ImportPlan plan;
  plan.entity = entity.name;

  // Columns to fields.
  for (const auto& [column, field] : mapping) {
    if (std::find(table.header.begin(), table.header.end(), column) == table.header.end())
      return make_error(Errc::invalid_argument,
                        "--map names a column '" + column + "' that the file does not have");
    if (!field.empty())
      if (auto f = schema::Schema::find_field(entity, field); !f) return f.error();
  }
  std::vector<const schema::Field*> field_of(table.header.size(), nullptr);
  std::map<std::string, std::string> column_of;  // field -> column
  for (std::size_t c = 0; c < table.header.size(); ++c) {
    const std::string& column = table.header[c];
    const schema::Field* field = nullptr;
    if (auto it = mapping.find(column); it != mapping.end()) {
      if (!it->second.empty()) field = *schema::Schema::find_field(entity, it->second);
    } else {
      // Never the site: records go to this replica's own site.
      const std::string name = comparable(column);
      for (const auto& f : entity.fields)
        if (f.name != "site" && (name == comparable(f.name) || name == comparable(f.label.fr) ||
                                 name == comparable(f.label.en)))
          field = &f;
    }
    if (!field) {
      plan.ignored_columns.push_back(column);
      continue;
    }
    if (auto [it, fresh] = column_of.emplace(field->name, column); !fresh)
      return make_error(Errc::invalid_argument, "columns '" + it->second + "' and '" + column +
                                                    "' both go to " + entity.name + "." +
                                                    field->name + ": --map one of them");
    field_of[c] = field;
    plan.mapping.emplace_back(column, field->name);
  }
  for (const auto& f : entity.fields)
    if (f.required && f.name != "site" && !column_of.count(f.name))
      return make_error(Errc::missing_required, "no column for " + entity.name + "." + f.name +
                                                    ", which is required: name a column '" +
                                                    f.name + "' or '" + f.label.fr +
                                                    "', or --map one to it");

  // Every line.
  std::vector<std::size_t> valid_rows;
  for (std::size_t r = 0; r < table.rows.size(); ++r) {
    const std::size_t line = table.row_lines[r];
    json fields = json::object();
    bool ok = true;
    for (std::size_t c = 0; c < table.header.size(); ++c) {
      const schema::Field* f = field_of[c];
      if (!f || table.rows[r][c].empty()) continue;
      const std::string text =
          f->type == schema::FieldType::date ? iso_date(table.rows[r][c]) : table.rows[r][c];
      auto v = schema::parse_value_text(entity, *f, text);
      if (!v) {
        plan.problems.push_back({line, table.header[c], v.error().message, true});
        ok = false;
      } else if (!v->is_null()) {
        fields[f->name] = std::move(v).value();
      }
    }
    if (ok && fields.contains("site") && fields["site"] != replica.info().site) {
      plan.problems.push_back({line, column_of["site"],
                               "this replica holds the records of site '" + replica.info().site +
                                   "' only, not '" + fields["site"].get<std::string>() + "'",
                               true});
      ok = false;
    }
    if (ok) {
      json with_site = fields;
      if (!with_site.contains("site")) with_site["site"] = replica.info().site;
      if (Status s = schema::check_required(entity, with_site); !s) {
        plan.problems.push_back({line, "", s.error().message, true});
        ok = false;
      }
    }
    if (!ok) continue;
    plan.records.push_back(std::move(fields));
    plan.record_lines.push_back(line);
    valid_rows.push_back(r);
  }
  plan.lines = table.rows.size();

  // What only writing can tell (a reference to a record not held, a consent
  // missing or an objection for what the record processes): every valid line
  // written in a transaction that is then rolled back.
  std::vector<std::optional<Error>> refused(plan.records.size());
  const Error trial_only{Errc::invalid_argument, "trial import, rolled back"};
  Status trial = replica.atomically([&]() -> Status {
    for (std::size_t i = 0; i < plan.records.size(); ++i)
      if (auto id = store::create_record_with_consent(replica, entity.name, plan.records[i]); !id)
        refused[i] = id.error();
    return trial_only;
  });
  if (trial) return make_error(Errc::store_io, "the trial import was committed");
  if (trial.error().message != trial_only.message) return trial.error();
  {
    std::vector<json> records;
    std::vector<std::size_t> lines;
    for (std::size_t i = 0; i < plan.records.size(); ++i) {
      if (refused[i]) {
        plan.problems.push_back({plan.record_lines[i], "", refused[i]->message, true});
        continue;
      }
      records.push_back(std::move(plan.records[i]));
      lines.push_back(plan.record_lines[i]);
    }
    plan.records = std::move(records);
    plan.record_lines = std::move(lines);
  }

  if (entity.name == "person") {
    // A line like another: the later one is refused.
    std::vector<store::PersonKey> keys;
    for (std::size_t i = 0; i < plan.records.size(); ++i)
      keys.push_back(store::person_key(std::to_string(i), plan.records[i]));
    std::set<std::size_t> repeated;
    for (const auto& [i, j] : store::duplicates_among(keys, store::DuplicateOptions{}.min_score)) {
      if (!repeated.insert(j).second) continue;
      const auto p = store::compare_persons(keys[i], keys[j]);
      plan.problems.push_back({plan.record_lines[j], "",
                               "looks like line " + std::to_string(plan.record_lines[i]) +
                                   " (score " + std::to_string(p.score).substr(0, 4) + ": " +
                                   p.reasons.front() + ")",
                               true});
    }
    // A line like a person held: flagged.
    auto held = replica.list("person", SIZE_MAX);
    if (!held) return held.error();
    std::vector<store::PersonKey> held_keys;
    for (const auto& p : *held) held_keys.push_back(store::person_key(p.id, p.fields));
    const store::PersonIndex index(held_keys);
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (repeated.count(i)) continue;
      double best = 0;
      std::string who;
      for (std::size_t h : index.near(keys[i])) {
        const auto p = store::compare_persons(keys[i], held_keys[h]);
        if (p.score > best) {
          best = p.score;
          who = held_keys[h].id;
        }
      }
      if (best >= store::DuplicateOptions{}.min_score)
        plan.problems.push_back({plan.record_lines[i], "",
                                 "looks like person " + who + " already held (score " +
                                     std::to_string(best).substr(0, 4) + ")",
                                 false});
    }
    if (!repeated.empty()) {
      std::vector<json> records;
      std::vector<std::size_t> lines;
      for (std::size_t i = 0; i < plan.records.size(); ++i)
        if (!repeated.count(i)) {
          records.push_back(std::move(plan.records[i]));
          lines.push_back(plan.record_lines[i]);
        }
      plan.records = std::move(records);
      plan.record_lines = std::move(lines);
    }
  }
  std::stable_sort(plan.problems.begin(), plan.problems.end(),
                   [](const auto& a, const auto& b) { return a.line < b.line; });
  std::set<std::size_t> bad_lines;
  for (const auto& p : plan.problems)
    if (p.blocking) bad_lines.insert(p.line);
  plan.invalid_lines = bad_lines.size();
  return plan;
}

Result<std::vector<std::string>> run_import(store::Replica& replica, const ImportPlan& plan) {
  std::vector<std::string> ids;
  ids.reserve(plan.records.size());
  Status s = replica.atomically([&]() -> Status {
    for (std::size_t i = 0; i < plan.records.size(); ++i) {
      auto id = store::create_record_with_consent(replica, plan.entity, plan.records[i]);
      if (!id)
        return make_error(id.error().code, "line " + std::to_string(plan.record_lines[i]) + ": " +
                                               id.error().message);
      ids.push_back(std::move(id).value());
    }
    return Status::Ok();
  });
  if (!s) return s.error();
  return ids;
}

}  // namespace relais::exchange
