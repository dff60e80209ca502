// Checking values against the model. Values are JSON: strings, integers,
// booleans, sorted arrays of strings for sets, and null for "no value".
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "relais/error.h"
#include "relais/schema/schema.h"

namespace relais::schema {

// Checks `value` for `field` of `entity` and returns it normalised: strings
// trimmed (an empty one becomes null), e-mail lower-cased, phone numbers
// without separators, sets sorted and without repeats. Text must be valid
// UTF-8. null is accepted for every field (it clears it); required fields
// are checked by check_required and the store.
Result<nlohmann::json> normalize_value(const Entity& entity, const Field& field,
                                       const nlohmann::json& value);

// normalize_value for every value of `fields`, an object of field name to
// value; names the first unknown field or bad value.
Result<nlohmann::json> normalize_fields(const Entity& entity, const nlohmann::json& fields);

// Turns text typed by a person (the right side of `field=value`) into the
// field's value and normalises it. An empty text is null; sets are
// comma-separated; booleans accept true/false, yes/no, oui/non, 1/0.
Result<nlohmann::json> parse_value_text(const Entity& entity, const Field& field,
                                        std::string_view text);

// Checks that `fields` (an object of field name to value) has every required
// field of `entity` with a non-null value.
Status check_required(const Entity& entity, const nlohmann::json& fields);

// True for a syntactically valid UUID in canonical lower-case text form.
bool is_uuid(std::string_view text);

// True for a real calendar date written YYYY-MM-DD.
bool is_date(std::string_view text);

// True for an instant in UTC in the canonical form YYYY-MM-DDTHH:MM:SSZ
// (the form normalize_value stores for a datetime field).
bool is_datetime(std::string_view text);

}  // namespace relais::schema
