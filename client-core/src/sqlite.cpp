#include "relais/store/sqlite.h"

#include <fcntl.h>
#include <unistd.h>

namespace relais::store {
namespace {

// How long a statement waits for another connection's lock.
constexpr int kBusyRetryMs = 5000;

Error io_error(sqlite3* db, std::string_view what) {
  return make_error(Errc::store_io, std::string(what) + ": " + sqlite3_errmsg(db));
}

}  // namespace

Result<Database> Database::open(const std::string& path, bool create) {
  // A new file holds personal data: readable by its owner only, whatever
  // the umask. SQLite gives its WAL and shared-memory files the same mode.
  if (create && path != ":memory:") {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) ::close(fd);
  }
  sqlite3* raw = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Database db;
  db.db_.reset(raw);
  if (rc != SQLITE_OK) {
    return make_error(Errc::store_io, "cannot open '" + path +
                                          "': " + (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_extended_result_codes(raw, 1);
  // A double-quoted name that matches no column must be an error, not a
  // string literal: a missing column would otherwise read as its own name.
  sqlite3_db_config(raw, SQLITE_DBCONFIG_DQS_DML, 0, nullptr);
  sqlite3_db_config(raw, SQLITE_DBCONFIG_DQS_DDL, 0, nullptr);
  sqlite3_busy_timeout(raw, kBusyRetryMs);
  return db;
}

Status Database::exec(std::string_view sql) {
  char* message = nullptr;
  const std::string text(sql);
  if (sqlite3_exec(db_.get(), text.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    std::string m = message ? message : "unknown error";
    sqlite3_free(message);
    return make_error(Errc::store_io, "sqlite: " + m);
  }
  return Status::Ok();
}

Result<Statement> Database::prepare(std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()),
                         SQLITE_PREPARE_PERSISTENT, &raw, nullptr) != SQLITE_OK)
    return io_error(db_.get(), "prepare '" + std::string(sql.substr(0, 60)) + "'");
  Statement s;
  s.stmt_.reset(raw);
  return s;
}

std::string Database::last_error() const {
  return sqlite3_errmsg(db_.get());
}
std::int64_t Database::changes() const {
  return sqlite3_changes64(db_.get());
}

Statement& Statement::bind(int index, std::int64_t value) {
  sqlite3_bind_int64(stmt_.get(), index, value);
  return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
  sqlite3_bind_text64(stmt_.get(), index, value.data(), value.size(), SQLITE_TRANSIENT,
                      SQLITE_UTF8);
  return *this;
}

Statement& Statement::bind_null(int index) {
  sqlite3_bind_null(stmt_.get(), index);
  return *this;
}

bool Statement::step() {
  int rc = sqlite3_step(stmt_.get());
  // Outside a transaction, SQLite may answer "busy" at once instead of
  // waiting through the busy timeout (a reader meeting another process's
  // WAL restart or recovery); such a statement may simply run again.
  sqlite3* db = sqlite3_db_handle(stmt_.get());
  for (int waited_ms = 0;
       (rc & 0xff) == SQLITE_BUSY && sqlite3_get_autocommit(db) && waited_ms < kBusyRetryMs;
       waited_ms += 5) {
    sqlite3_sleep(5);
    rc = sqlite3_step(stmt_.get());
  }
  if (rc == SQLITE_ROW) return true;
  if (rc != SQLITE_DONE) status_ = io_error(sqlite3_db_handle(stmt_.get()), "step");
  return false;
}

Status Statement::run() {
  status_ = Status::Ok();
  while (step()) {
  }
  Status result = status_;
  reset();
  return result;
}

void Statement::reset() {
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
  status_ = Status::Ok();
}

bool Statement::is_null(int col) const {
  return sqlite3_column_type(stmt_.get(), col) == SQLITE_NULL;
}

std::int64_t Statement::int64(int col) const {
  return sqlite3_column_int64(stmt_.get(), col);
}

std::string Statement::text(int col) const {
  return std::string(text_view(col));
}

std::string_view Statement::text_view(int col) const {
  const auto* p = sqlite3_column_text(stmt_.get(), col);
  if (!p) return {};
  return {reinterpret_cast<const char*>(p),
          static_cast<std::size_t>(sqlite3_column_bytes(stmt_.get(), col))};
}

// Savepoints of one name nest: ROLLBACK TO and RELEASE name the innermost.
constexpr char kSavepoint[] = "relais_nested";

Result<std::unique_ptr<Transaction>> Transaction::begin(Database& db) {
  const bool nested = sqlite3_get_autocommit(db.handle()) == 0;
  if (Status s = db.exec(nested ? std::string("SAVEPOINT ") + kSavepoint : "BEGIN IMMEDIATE"); !s)
    return s.error();
  return std::unique_ptr<Transaction>(new Transaction(db, nested));
}

Transaction::~Transaction() {
  if (done_) return;
  if (nested_)
    (void)db_.exec(std::string("ROLLBACK TO ") + kSavepoint + "; RELEASE " + kSavepoint);
  else
    (void)db_.exec("ROLLBACK");
}

Status Transaction::commit() {
  Status s = db_.exec(nested_ ? std::string("RELEASE ") + kSavepoint : "COMMIT");
  if (s) done_ = true;
  return s;
}

}  // namespace relais::store
