// The accounts people log in with on a replica (`relais serve`): user, role,
// site and a password verifier, never the password. Kept in the replica file
// so that login works with no network. An enrolled replica receives them
// from its server at each sync (the server is the authority: a user removed
// there disappears here at the next sync); a replica that syncs with no
// server has local accounts made with `relais account add`.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relais/error.h"
#include "relais/store/replica.h"

namespace relais::sync {

// Iterations of PBKDF2-HMAC-SHA256 for new verifiers (OWASP's 2023 advice).
inline constexpr int kPasswordIterations = 600000;
inline constexpr std::size_t kMinPasswordLength = 10;  // in characters
// A verifier asking for more is refused: a login must not be made to spin.
inline constexpr int kMaxPasswordIterations = 10000000;

// The roles of Relais, as the server names them.
inline constexpr std::string_view kRoles[] = {"counsellor", "site_manager", "central", "dpo",
                                              "admin"};
bool is_role(std::string_view role);

// "pbkdf2-sha256$ITERATIONS$SALT$HASH" (salt of 16 random bytes and hash of
// 32 bytes, both in lower-case hex). invalid_argument for a password shorter
// than kMinPasswordLength characters, or iterations outside 1 to
// kMaxPasswordIterations.
Result<std::string> make_password_verifier(std::string_view password,
                                           int iterations = kPasswordIterations);
// Whether `password` matches `verifier`, compared in constant time. False
// for a verifier that is not in the format above (or asks for more than
// kMaxPasswordIterations).
bool check_password(std::string_view verifier, std::string_view password);

struct Account {
  std::string user;
  std::string role;
  std::string site;  // empty for roles that span every site
  std::string verifier;
  bool from_server = false;
};

class Accounts {
 public:
  // Creates the accounts table in `replica`'s file if needed.
  static Result<Accounts> open(store::Replica& replica);

  Result<std::optional<Account>> find(const std::string& user);
  Result<std::vector<Account>> list();
  // Adds or replaces a local account. Refused (invalid_argument) on a
  // replica enrolled with a server, whose accounts come from the server.
  Status put_local(const Account& account);
  Status remove_local(const std::string& user);
  // Replaces every account with the server's list, in one transaction.
  Status replace_from_server(const std::vector<Account>& accounts);

 private:
  explicit Accounts(store::Replica& replica) : replica_(&replica) {}
  store::Replica* replica_;
};

}  // namespace relais::sync
