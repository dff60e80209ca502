// Duplicate persons: the same young person recorded twice, by two
// counsellors at two events or at two sites. Names are compared folded
// (accents, case, spacing, hyphens and ligatures ignored) and with room for
// small typos, first and last names possibly swapped; phones in their
// national form, e-mails as stored (lower case); birth dates for equality.
// The result is a list for a person to review, best first, with a score
// and the reasons behind it: nothing is merged here.
#pragma once

#include <cstddef>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "relais/error.h"
#include "relais/store/replica.h"

namespace relais::store {

// What the comparison looks at of a person, normalised.
struct PersonKey {
  std::string id;
  std::string site;
  std::string first;       // folded
  std::string last;        // folded
  std::string birth_date;  // YYYY-MM-DD or ""
  std::string phone;       // national form for a French number: 0612345678
  std::string email;
};

// `fields` of a person (as a record holds them) turned into its key.
PersonKey person_key(const std::string& id, const nlohmann::json& fields);

// A name folded for comparison: lower-case ASCII letters, accents removed,
// ligatures spelt out (œ: oe, æ: ae, ß: ss), and every run of other
// characters (spaces, hyphens, apostrophes, dots) one space, trimmed.
std::string fold_name(std::string_view name);

// Jaro-Winkler similarity of two strings, 0 (nothing alike) to 1 (equal).
double jaro_winkler(std::string_view a, std::string_view b);

struct DuplicatePair {
  std::string a;  // person ids, a < b
  std::string b;
  double score = 0;  // 0 to 1; pairs at or above DuplicateOptions::min_score are listed
  std::vector<std::string> reasons;  // "same phone", "names alike (0.93)"...
};

// How alike two persons are, with the reasons. The score weighs the names
// (their similarity, first and last swapped or not) with what identifies a
// person: the same phone or e-mail, the same birth date; a different birth
// date counts against.
DuplicatePair compare_persons(const PersonKey& a, const PersonKey& b);

struct DuplicateOptions {
  double min_score = 0.75;
  std::size_t limit = 500;  // pairs listed at most
};

// Persons grouped by what a duplicate would share with its twin: a phone,
// an e-mail, a birth date, the sound of the last name with the first
// initial (either way round). Blocks too large to say anything (everyone
// born on one day at a big site) are left out.
class PersonIndex {
 public:
  // `keys` must outlive the index; their positions are what it returns.
  explicit PersonIndex(const std::vector<PersonKey>& keys);
  // Positions of the persons sharing a block with `key`, each once.
  std::vector<std::size_t> near(const PersonKey& key) const;
  // Calls `pair(i, j)`, i < j, for the persons of each block: pairs sharing
  // several blocks come several times.
  void each_pair(const std::function<void(std::size_t, std::size_t)>& pair) const;

 private:
  std::unordered_map<std::string, std::vector<std::size_t>> blocks_;
};

// The pairs among `keys` that look like one person (score at least
// `min_score`), as positions, each pair once, best first.
std::vector<std::pair<std::size_t, std::size_t>> duplicates_among(
    const std::vector<PersonKey>& keys, double min_score);

// The pairs of live persons of `replica` that look like one person, best
// first. Candidates come from blocks of persons sharing a phone, an e-mail,
// a birth date or the sound of their last name with their first initial,
// so that 100,000 persons are not compared two by two.
Result<std::vector<DuplicatePair>> find_duplicates(Replica& replica,
                                                   const DuplicateOptions& options = {});

// The live persons of `replica` that look like `fields` (a person not yet
// recorded, such as a line of a file to import), best first; `a` of each
// pair is empty and `b` the person held.
Result<std::vector<DuplicatePair>> duplicates_of(Replica& replica, const nlohmann::json& fields,
                                                 const DuplicateOptions& options = {});

}  // namespace relais::store
