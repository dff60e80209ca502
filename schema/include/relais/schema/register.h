// The register of processing activities (RGPD art. 30), rendered from the
// model. The purposes, legal bases, retention rules, categories of data and
// recipients come from the schema's annotations, so the register changes
// with the model and cannot drift from it; only the sections on security
// measures and on the impact assessment are fixed text, kept here beside the
// code whose behaviour they describe.
#pragma once

#include <string>

#include "relais/schema/schema.h"

namespace relais::schema {

// The register as Markdown, in English. Deterministic: the same model gives
// the same bytes, so a committed copy (docs/register.md) can be checked
// against it.
std::string processing_register(const Schema& schema);

}  // namespace relais::schema
