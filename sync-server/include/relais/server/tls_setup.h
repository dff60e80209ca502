// A self-signed certificate for a first run of relais-server, made with
// OpenSSL: an ECDSA P-256 key and a certificate for the given host names
// and IP addresses, valid 825 days. Production uses a real certificate.
#pragma once

#include <string>
#include <vector>

#include "relais/error.h"

namespace relais::server {

// Writes the certificate (PEM) to `cert_path` and the key (PEM, mode 0600)
// to `key_path`. `names` are DNS names or IP addresses for the certificate's
// subjectAltName; the first is also its common name.
Status write_self_signed_certificate(const std::string& cert_path, const std::string& key_path,
                                     const std::vector<std::string>& names);

// SHA-256 fingerprint of the PEM certificate at `path`, as "AB:CD:...".
Result<std::string> certificate_fingerprint(const std::string& path);

}  // namespace relais::server
