// Import of contact spreadsheets (the pilot's lists, a partner's file) as
// ordinary operations: the file is read (RFC 4180, UTF-8 or Windows-1252,
// `;` or `,`), its columns mapped to the model's fields, every line checked
// and compared with the others and with the persons held, all before
// anything is written. The import itself is one transaction.
#pragma once

#include <cstddef>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "relais/error.h"
#include "relais/store/replica.h"

namespace relais::exchange {

enum class CsvEncoding { automatic, utf8, windows1252 };

struct CsvOptions {
  char separator = 0;  // ';' or ','; 0: the one the header line uses most
  CsvEncoding encoding = CsvEncoding::automatic;  // automatic: UTF-8 if valid, else Windows-1252
};

struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // as many cells as the header
  std::vector<std::size_t> row_lines;          // the line each row starts on (1 = header)
  char separator = ',';
  std::string encoding;  // "UTF-8" or "Windows-1252"
};

// Reads a whole file's bytes into UTF-8 cells. Errors (Errc::csv_malformed)
// name the line and the problem: a quote left open, a quote inside a field
// that does not start with one, a row with another number of cells than the
// header, an empty file; Errc::invalid_encoding for bytes that are not the
// encoding asked for.
Result<CsvTable> parse_csv(std::string_view bytes, const CsvOptions& options = {});

// One cell of a CSV line (RFC 4180): quoted when it holds the separator, a
// quote or a line end, or starts or ends with a space; after an apostrophe
// when a spreadsheet would run it as a formula ("=...", "@...").
std::string csv_cell(std::string_view cell, char separator);

// A CSV file (RFC 4180) of `header` and `rows`: UTF-8 with a byte-order
// mark (so that spreadsheets show the accents), CRLF line ends, a cell
// quoted when it holds the separator, a quote, a line end or starts or ends
// with a space. parse_csv reads it back cell for cell.
std::string write_csv(const std::vector<std::string>& header,
                      const std::vector<std::vector<std::string>>& rows, char separator = ';');

// One thing found wrong, or worth a look, on a line of the file.
struct ImportProblem {
  std::size_t line = 0;  // in the file; 0 for the file as a whole
  std::string column;    // the file's column name, if the problem has one
  std::string message;
  bool blocking = true;  // false: a warning (the line may be imported)
};

struct ImportPlan {
  std::string entity;
  std::vector<std::pair<std::string, std::string>> mapping;  // column, field
  std::vector<std::string> ignored_columns;                  // mapped to no field
  std::vector<nlohmann::json> records;                       // fields of each valid line
  std::vector<std::size_t> record_lines;
  std::vector<ImportProblem> problems;  // by line
  std::size_t lines = 0;                // data lines read
  std::size_t invalid_lines = 0;        // lines with a blocking problem
};

// Plans the import of `table` as records of `entity`: maps each column to
// a field (by the field's name or its French or English label, accents and
// case aside, unless `mapping` names it: column -> field, or "" to ignore
// it), then checks every line against the model. For persons, a line that
// looks like another line of the file is refused, and one that looks like a
// person held is flagged (a warning). Writes nothing. Errors: an unknown
// entity or field in `mapping`, a column mapped twice to one field, a
// required field with no column (Errc::missing_required).
Result<ImportPlan> plan_import(store::Replica& replica, const CsvTable& table,
                               const std::string& entity,
                               const std::map<std::string, std::string>& mapping = {});

// Writes the records of `plan` in one transaction, as the replica's user;
// their ids, in order.
Result<std::vector<std::string>> run_import(store::Replica& replica, const ImportPlan& plan);

}  // namespace relais::exchange
