// Accounts and password verifiers: see relais/store/accounts.h.
#include "relais/sync/accounts.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <charconv>

#include "relais/store/sqlite.h"
#include "relais/sync/client.h"

namespace relais::sync {
namespace {

constexpr std::string_view kScheme = "pbkdf2-sha256";
constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kHashBytes = 32;

constexpr const char* kAccountsTable = R"(
CREATE TABLE IF NOT EXISTS accounts(user TEXT PRIMARY KEY, role TEXT NOT NULL,
  site TEXT NOT NULL, verifier TEXT NOT NULL, from_server INTEGER NOT NULL) WITHOUT ROWID;
)";

std::string to_hex(const unsigned char* bytes, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    out += kDigits[bytes[i] >> 4];
    out += kDigits[bytes[i] & 0xf];
  }
  return out;
}

std::optional<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(hex.data() + i, hex.data() + i + 2, v, 16);
    if (ec != std::errc() || p != hex.data() + i + 2) return std::nullopt;
    out += static_cast<char>(v);
  }
  return out;
}

bool derive(std::string_view password, std::string_view salt, int iterations,
            unsigned char (&out)[kHashBytes]) {
  return PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                           reinterpret_cast<const unsigned char*>(salt.data()),
                           static_cast<int>(salt.size()), iterations, EVP_sha256(), kHashBytes,
                           out) == 1;
}

Account read_account(store::Statement& s) {
  return Account{s.text(0), s.text(1), s.text(2), s.text(3), s.int64(4) != 0};
}

}  // namespace

bool is_role(std::string_view role) {
  return std::find(std::begin(kRoles), std::end(kRoles), role) != std::end(kRoles);
}

Result<std::string> make_password_verifier(std::string_view password, int iterations) {
  // Characters, not bytes: "é" is two bytes of UTF-8 but one character.
  const auto characters = static_cast<std::size_t>(
      std::count_if(password.begin(), password.end(), [](char c) { return (c & 0xc0) != 0x80; }));
  if (iterations < 1 || iterations > kMaxPasswordIterations)
    return make_error(Errc::invalid_argument, "PBKDF2 takes 1 to " +
                                                  std::to_string(kMaxPasswordIterations) +
                                                  " iterations, not " + std::to_string(iterations));
  if (characters < kMinPasswordLength)
    return make_error(
        Errc::invalid_argument,
        "a password has at least " + std::to_string(kMinPasswordLength) + " characters");
  unsigned char salt[kSaltBytes];
  if (RAND_bytes(salt, sizeof salt) != 1)
    return make_error(Errc::store_io, "no random bytes for a password salt");
  unsigned char hash[kHashBytes];
  const std::string salt_bytes(reinterpret_cast<const char*>(salt), sizeof salt);
  if (!derive(password, salt_bytes, iterations, hash))
    return make_error(Errc::store_io, "PBKDF2 failed");
  return std::string(kScheme) + "$" + std::to_string(iterations) + "$" + to_hex(salt, sizeof salt) +
         "$" + to_hex(hash, sizeof hash);
}

bool check_password(std::string_view verifier, std::string_view password) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= verifier.size(); ++i)
    if (i == verifier.size() || verifier[i] == '$') {
      parts.push_back(verifier.substr(start, i - start));
      start = i + 1;
    }
  if (parts.size() != 4 || parts[0] != kScheme) return false;
  int iterations = 0;
  auto [p, ec] = std::from_chars(parts[1].data(), parts[1].data() + parts[1].size(), iterations);
  if (ec != std::errc() || p != parts[1].data() + parts[1].size() || iterations < 1 ||
      iterations > kMaxPasswordIterations)
    return false;
  const auto salt = from_hex(parts[2]);
  const auto expected = from_hex(parts[3]);
  if (!salt || !expected || expected->size() != kHashBytes) return false;
  unsigned char hash[kHashBytes];
  if (!derive(password, *salt, iterations, hash)) return false;
  return CRYPTO_memcmp(hash, expected->data(), kHashBytes) == 0;
}

Result<Accounts> Accounts::open(store::Replica& replica) {
  if (Status s = replica.database().exec(kAccountsTable); !s) return s.error();
  return Accounts(replica);
}

Result<std::optional<Account>> Accounts::find(const std::string& user) {
  auto s = replica_->database().prepare(
      "SELECT user, role, site, verifier, from_server FROM accounts WHERE user = ?");
  if (!s) return s.error();
  s->bind(1, user);
  if (s->step()) return std::optional<Account>(read_account(*s));
  if (!s->status()) return s->status().error();
  return std::optional<Account>();
}

Result<std::vector<Account>> Accounts::list() {
  auto s = replica_->database().prepare(
      "SELECT user, role, site, verifier, from_server FROM accounts ORDER BY user");
  if (!s) return s.error();
  std::vector<Account> out;
  while (s->step()) out.push_back(read_account(*s));
  if (!s->status()) return s->status().error();
  return out;
}

Status Accounts::put_local(const Account& a) {
  if (replica_->setting(std::string(kCredentialKey)))
    return make_error(Errc::invalid_argument,
                      "this replica is enrolled with a server: its accounts come from the "
                      "server (relais-server user add, user password)");
  if (a.user.empty()) return make_error(Errc::invalid_argument, "an account needs a user name");
  if (!is_role(a.role))
    return make_error(
        Errc::invalid_argument,
        "unknown role '" + a.role + "' (counsellor, site_manager, central, dpo or admin)");
  auto s = replica_->database().prepare(
      "INSERT OR REPLACE INTO accounts(user, role, site, verifier, from_server) "
      "VALUES (?, ?, ?, ?, 0)");
  if (!s) return s.error();
  s->bind(1, a.user).bind(2, a.role).bind(3, a.site).bind(4, a.verifier);
  return s->run();
}

Status Accounts::remove_local(const std::string& user) {
  auto s = replica_->database().prepare("DELETE FROM accounts WHERE user = ? AND from_server = 0");
  if (!s) return s.error();
  s->bind(1, user);
  if (Status st = s->run(); !st) return st;
  if (replica_->database().changes() == 0)
    return make_error(Errc::unknown_user, "no local account '" + user + "' on this replica");
  return Status::Ok();
}

Status Accounts::replace_from_server(const std::vector<Account>& accounts) {
  auto& db = replica_->database();
  auto tx = store::Transaction::begin(db);
  if (!tx) return tx.error();
  if (Status s = db.exec("DELETE FROM accounts"); !s) return s;
  auto ins = db.prepare(
      "INSERT OR REPLACE INTO accounts(user, role, site, verifier, from_server) "
      "VALUES (?, ?, ?, ?, 1)");
  if (!ins) return ins.error();
  for (const auto& a : accounts) {
    ins->bind(1, a.user).bind(2, a.role).bind(3, a.site).bind(4, a.verifier);
    if (Status s = ins->run(); !s) return s;
  }
  return (*tx)->commit();
}

}  // namespace relais::sync
