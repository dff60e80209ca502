// The accounts of a replica and their password verifiers: the verifier's
// format and what it refuses, checking a password against it, local accounts
// on a replica that syncs with no server, and the server's list replacing
// them all on an enrolled one. No password ever reaches the replica file.
#include "relais/sync/accounts.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relais/sync/client.h"
#include "replicas.h"

namespace relais::sync {
namespace {

using testing::code_of;
using testing::file_holds;
using testing::must;

constexpr char kPassword[] = "Correct-Horse-42";
// Low, so that the tests stay fast; one test checks the default.
constexpr int kQuickIterations = 1000;

std::string quick_verifier(std::string_view password) {
  return must(make_password_verifier(password, kQuickIterations));
}

// The parts of a verifier between its '$' signs.
std::vector<std::string> parts_of(std::string_view verifier) {
  std::vector<std::string> parts(1);
  for (char c : verifier) {
    if (c == '$')
      parts.emplace_back();
    else
      parts.back() += c;
  }
  return parts;
}

bool is_lower_hex(std::string_view s) {
  return s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

// --- Password verifiers.

TEST(PasswordVerifier, IsSchemeIterationsSaltAndHashInLowerCaseHex) {
  const auto parts = parts_of(quick_verifier(kPassword));

  ASSERT_EQ(parts.size(), 4u);
  EXPECT_EQ(parts[0], "pbkdf2-sha256");
  EXPECT_EQ(parts[1], "1000");
  EXPECT_EQ(parts[2].size(), 32u);  // 16 bytes of salt
  EXPECT_TRUE(is_lower_hex(parts[2])) << parts[2];
  EXPECT_EQ(parts[3].size(), 64u);  // 32 bytes of hash
  EXPECT_TRUE(is_lower_hex(parts[3])) << parts[3];
}

TEST(PasswordVerifier, EncodesTheDefaultIterationCount) {
  const std::string verifier = must(make_password_verifier(kPassword));

  EXPECT_EQ(parts_of(verifier).at(1), std::to_string(kPasswordIterations));
  EXPECT_TRUE(check_password(verifier, kPassword));
}

TEST(PasswordVerifier, RefusesAPasswordShorterThanTheMinimum) {
  const std::string shortest(kMinPasswordLength, 'a');

  EXPECT_EQ(code_of(make_password_verifier("", kQuickIterations)), Errc::invalid_argument);
  EXPECT_EQ(code_of(make_password_verifier(shortest.substr(1), kQuickIterations)),
            Errc::invalid_argument);
  RELAIS_EXPECT_OK(make_password_verifier(shortest, kQuickIterations));
}

TEST(PasswordVerifier, CountsThePasswordLengthInCharactersNotBytes) {
  // Five characters, ten bytes of UTF-8.
  const auto five = make_password_verifier("ééééé", kQuickIterations);
  EXPECT_EQ(code_of(five), Errc::invalid_argument);
  RELAIS_EXPECT_OK(make_password_verifier("éééééééééé", kQuickIterations));
}

TEST(PasswordVerifier, TwoVerifiersOfOnePasswordDifferByTheirSalt) {
  const std::string first = quick_verifier(kPassword);
  const std::string second = quick_verifier(kPassword);

  EXPECT_NE(first, second);
  EXPECT_NE(parts_of(first).at(2), parts_of(second).at(2));
  EXPECT_TRUE(check_password(first, kPassword));
  EXPECT_TRUE(check_password(second, kPassword));
}

TEST(PasswordVerifier, DoesNotHoldThePassword) {
  const std::string verifier = quick_verifier(kPassword);

  EXPECT_EQ(verifier.find(kPassword), std::string::npos);
  EXPECT_EQ(verifier.find("Correct"), std::string::npos);
}

TEST(CheckPassword, AcceptsOnlyThePasswordTheVerifierWasMadeOf) {
  const std::string verifier = quick_verifier(kPassword);

  EXPECT_TRUE(check_password(verifier, kPassword));
  for (const char* wrong : {"", "Correct-Horse-4", "Correct-Horse-420", "correct-horse-42",
                            " Correct-Horse-42", "Correct-Horse-43"})
    EXPECT_FALSE(check_password(verifier, wrong)) << wrong;
}

TEST(CheckPassword, IsFalseForAGarbledVerifier) {
  const auto p = parts_of(quick_verifier(kPassword));
  const std::string salt = p[2], hash = p[3];
  std::string flipped = hash;
  flipped[0] = flipped[0] == '0' ? '1' : '0';

  for (const std::string& garbled : {
           std::string(),
           std::string("pbkdf2-sha256"),
           "pbkdf2-sha1$1000$" + salt + "$" + hash,
           "$1000$" + salt + "$" + hash,
           "pbkdf2-sha256$$" + salt + "$" + hash,
           "pbkdf2-sha256$0$" + salt + "$" + hash,
           "pbkdf2-sha256$-1000$" + salt + "$" + hash,
           "pbkdf2-sha256$1000x$" + salt + "$" + hash,
           "pbkdf2-sha256$999$" + salt + "$" + hash,
           "pbkdf2-sha256$1000$" + salt + "$" + flipped,
           "pbkdf2-sha256$1000$" + salt + "$" + hash.substr(0, 62),
           "pbkdf2-sha256$1000$" + salt + "$" + hash.substr(1),
           "pbkdf2-sha256$1000$" + salt + "$" + hash + "00",
           "pbkdf2-sha256$1000$zz" + salt.substr(2) + "$" + hash,
           "pbkdf2-sha256$1000$" + salt.substr(1) + "$" + hash,
           "pbkdf2-sha256$1000$" + salt + "$" + hash + "$",
           "pbkdf2-sha256$1000$" + salt,
           std::string(kPassword),
       })
    EXPECT_FALSE(check_password(garbled, kPassword)) << garbled;
}

TEST(Roles, AreTheFiveRolesOfTheServer) {
  for (std::string_view role : kRoles) EXPECT_TRUE(is_role(role)) << role;
  for (const char* other : {"", "Admin", "manager", "counsellor "}) EXPECT_FALSE(is_role(other));
}

// --- Accounts kept in a replica.

class AccountsTest : public testing::ReplicaTest {
 protected:
  void SetUp() override {
    replica_ = make("r");
    accounts_ = must(Accounts::open(*replica_));
  }

  static Account account(const std::string& user, const std::string& role = "counsellor",
                         const std::string& site = "nord") {
    return {user, role, site, quick_verifier(kPassword), false};
  }
  std::vector<std::string> users() {
    std::vector<std::string> out;
    for (const auto& a : must(accounts_->list())) out.push_back(a.user);
    return out;
  }
  void enrol() { must(replica_->set_settings({{std::string(kCredentialKey), "device-secret"}})); }

  std::unique_ptr<store::Replica> replica_;
  std::optional<Accounts> accounts_;
};

TEST_F(AccountsTest, FindsALocalAccountAsItWasPut) {
  const Account samia = account("samia", "site_manager");

  must(accounts_->put_local(samia));

  const auto found = must(accounts_->find("samia"));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->user, "samia");
  EXPECT_EQ(found->role, "site_manager");
  EXPECT_EQ(found->site, "nord");
  EXPECT_EQ(found->verifier, samia.verifier);
  EXPECT_FALSE(found->from_server);
  EXPECT_TRUE(check_password(found->verifier, kPassword));
}

TEST_F(AccountsTest, FindOfAnUnknownUserIsEmpty) {
  must(accounts_->put_local(account("samia")));

  EXPECT_FALSE(must(accounts_->find("karim")).has_value());
  EXPECT_FALSE(must(accounts_->find("")).has_value());
}

TEST_F(AccountsTest, ListsTheAccountsByUser) {
  EXPECT_TRUE(users().empty());
  for (const char* user : {"samia", "amel", "karim"}) must(accounts_->put_local(account(user)));

  EXPECT_EQ(users(), (std::vector<std::string>{"amel", "karim", "samia"}));
}

TEST_F(AccountsTest, PutLocalReplacesTheAccountOfTheSameUser) {
  must(accounts_->put_local(account("samia")));
  const Account promoted = account("samia", "central", "");

  must(accounts_->put_local(promoted));

  const auto found = must(accounts_->find("samia"));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->role, "central");
  EXPECT_EQ(found->site, "");
  EXPECT_EQ(found->verifier, promoted.verifier);
  EXPECT_EQ(users().size(), 1u);
}

TEST_F(AccountsTest, PutLocalRefusesAnEmptyUserOrAnUnknownRole) {
  EXPECT_EQ(code_of(accounts_->put_local(account(""))), Errc::invalid_argument);
  EXPECT_EQ(code_of(accounts_->put_local(account("samia", "boss"))), Errc::invalid_argument);
  EXPECT_TRUE(users().empty());
}

TEST_F(AccountsTest, RemoveLocalRemovesOnlyThatAccount) {
  must(accounts_->put_local(account("samia")));
  must(accounts_->put_local(account("karim")));

  must(accounts_->remove_local("samia"));

  EXPECT_EQ(users(), std::vector<std::string>{"karim"});
  EXPECT_EQ(code_of(accounts_->remove_local("samia")), Errc::unknown_user);
}

TEST_F(AccountsTest, AccountsAreKeptInTheReplicaFile) {
  must(accounts_->put_local(account("samia")));
  accounts_.reset();
  replica_.reset();

  replica_ = reopen("r");
  accounts_ = must(Accounts::open(*replica_));

  EXPECT_EQ(users(), std::vector<std::string>{"samia"});
}

TEST_F(AccountsTest, PutLocalIsRefusedOnAnEnrolledReplica) {
  must(accounts_->put_local(account("samia")));
  enrol();

  EXPECT_EQ(code_of(accounts_->put_local(account("karim"))), Errc::invalid_argument);
  EXPECT_EQ(code_of(accounts_->put_local(account("samia", "admin", ""))), Errc::invalid_argument);
  EXPECT_EQ(users(), std::vector<std::string>{"samia"});
  EXPECT_EQ(must(accounts_->find("samia"))->role, "counsellor");
}

TEST_F(AccountsTest, ReplaceFromServerReplacesEveryAccountAtOnce) {
  must(accounts_->put_local(account("samia")));
  enrol();

  must(accounts_->replace_from_server({account("amel"), account("karim", "dpo", "")}));

  EXPECT_EQ(users(), (std::vector<std::string>{"amel", "karim"}));
  for (const auto& a : must(accounts_->list())) EXPECT_TRUE(a.from_server) << a.user;
  EXPECT_EQ(must(accounts_->find("karim"))->role, "dpo");
}

TEST_F(AccountsTest, AUserRemovedOnTheServerDisappearsAtTheNextReplace) {
  enrol();
  must(accounts_->replace_from_server({account("amel"), account("karim")}));

  must(accounts_->replace_from_server({account("karim")}));

  EXPECT_EQ(users(), std::vector<std::string>{"karim"});
  EXPECT_FALSE(must(accounts_->find("amel")).has_value());
  must(accounts_->replace_from_server({}));
  EXPECT_TRUE(users().empty());
}

TEST_F(AccountsTest, RemoveLocalLeavesAnAccountFromTheServer) {
  must(accounts_->replace_from_server({account("karim")}));

  EXPECT_EQ(code_of(accounts_->remove_local("karim")), Errc::unknown_user);
  EXPECT_EQ(users(), std::vector<std::string>{"karim"});
}

TEST_F(AccountsTest, ThePasswordNeverReachesTheReplicaFile) {
  const Account samia = account("samia");
  must(accounts_->put_local(samia));
  enrol();
  const Account karim = account("karim");
  must(accounts_->replace_from_server({karim}));
  // The file does hold the accounts, so that looking for the password in it
  // can fail.
  ASSERT_TRUE(file_holds(path("r"), parts_of(karim.verifier).at(3)));

  EXPECT_FALSE(file_holds(path("r"), kPassword));
  must(replica_->compact());
  EXPECT_FALSE(file_holds(path("r"), kPassword));
}

}  // namespace
}  // namespace relais::sync
