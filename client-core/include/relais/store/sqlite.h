// A thin RAII layer over the SQLite C API: a connection, prepared statements
// and a transaction guard. Failures come back as Status with Errc::store_io,
// carrying SQLite's own message.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "relais/error.h"

namespace relais::store {

class Statement;

class Database {
 public:
  // Opens (or creates, if `create`) the file at `path`.
  static Result<Database> open(const std::string& path, bool create);

  // Runs one or more statements that return no rows.
  Status exec(std::string_view sql);
  // Compiles `sql`; the Statement must not outlive this Database.
  Result<Statement> prepare(std::string_view sql);

  sqlite3* handle() const { return db_.get(); }
  std::string last_error() const;
  std::int64_t changes() const;

 private:
  struct Closer {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
  };
  std::unique_ptr<sqlite3, Closer> db_;
};

class Statement {
 public:
  Statement() = default;

  // Binds by 1-based position; values are copied into SQLite.
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, std::string_view value);
  Statement& bind_null(int index);

  // Advances: true while a row is available, false at the end; an error
  // leaves a Status in `status()` and returns false.
  bool step();
  // Runs a statement that returns no row, then resets it for reuse.
  Status run();
  // Resets for another execution and clears the bindings.
  void reset();
  const Status& status() const { return status_; }

  bool is_null(int col) const;
  std::int64_t int64(int col) const;
  std::string text(int col) const;
  std::string_view text_view(int col) const;  // valid until the next step()

 private:
  friend class Database;
  struct Finalizer {
    void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
  };
  std::unique_ptr<sqlite3_stmt, Finalizer> stmt_;
  Status status_;
};

// A borrowed Statement that is reset when the borrow ends, so that no
// statement left on a row keeps a read transaction (and its old snapshot of
// the file) open between calls.
class StatementLease {
 public:
  explicit StatementLease(Statement* s) : s_(s) {}
  StatementLease(StatementLease&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  StatementLease& operator=(StatementLease&&) = delete;
  ~StatementLease() {
    if (s_) s_->reset();
  }
  Statement* operator->() const { return s_; }
  Statement& operator*() const { return *s_; }

 private:
  Statement* s_;
};

// Begins an IMMEDIATE transaction; rolls back in the destructor unless
// commit() succeeded. Begun inside another transaction, it is a savepoint of
// it: commit() keeps its writes for the outer one to commit, and a rollback
// undoes its own writes only.
class Transaction {
 public:
  static Result<std::unique_ptr<Transaction>> begin(Database& db);
  ~Transaction();
  Status commit();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

 private:
  Transaction(Database& db, bool nested) : db_(db), nested_(nested) {}
  Database& db_;
  bool nested_;
  bool done_ = false;
};

}  // namespace relais::store
