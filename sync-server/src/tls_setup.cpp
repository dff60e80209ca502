#include "relais/server/tls_setup.h"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <memory>

namespace relais::server {
namespace {

template <class T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using PKey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509, X509_free>>;

int close_file(std::FILE* f) {
  return std::fclose(f);
}
using File = std::unique_ptr<std::FILE, decltype(&close_file)>;

Error tls_error(const std::string& what) {
  return make_error(Errc::store_io, what);
}

bool is_ip(const std::string& name) {
  unsigned char buf[16];
  return inet_pton(AF_INET, name.c_str(), buf) == 1 || inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

bool add_extension(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

Result<Cert> make_certificate(EVP_PKEY* key, const std::vector<std::string>& names) {
  Cert cert(X509_new());
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7F;  // a positive serial number
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_set_version(cert.get(), 2);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 825L * 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(names.front().c_str()), -1, -1,
                             0);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("Relais"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  std::string san;
  for (const auto& n : names)
    san += (san.empty() ? "" : ",") + std::string(is_ip(n) ? "IP:" : "DNS:") + n;
  if (!add_extension(cert.get(), NID_subject_alt_name, san) ||
      !add_extension(cert.get(), NID_basic_constraints, "critical,CA:TRUE") ||
      !add_extension(cert.get(), NID_key_usage, "critical,digitalSignature,keyCertSign") ||
      !add_extension(cert.get(), NID_ext_key_usage, "serverAuth") ||
      !add_extension(cert.get(), NID_subject_key_identifier, "hash"))
    return tls_error("cannot build the certificate extensions");
  if (X509_sign(cert.get(), key, EVP_sha256()) == 0)
    return tls_error("cannot sign the certificate");
  return cert;
}

}  // namespace

Status write_self_signed_certificate(const std::string& cert_path, const std::string& key_path,
                                     const std::vector<std::string>& names) {
  if (names.empty()) return make_error(Errc::invalid_argument, "a certificate needs a host name");
  PKey key(EVP_EC_gen("P-256"));
  if (!key) return tls_error("cannot generate a P-256 key");
  auto cert = make_certificate(key.get(), names);
  if (!cert) return cert.error();

  const mode_t old = umask(077);
  File kf(std::fopen(key_path.c_str(), "wx"), &close_file);
  umask(old);
  if (!kf) return tls_error("cannot create '" + key_path + "' (does it exist already?)");
  if (PEM_write_PrivateKey(kf.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return tls_error("cannot write '" + key_path + "'");
  File cf(std::fopen(cert_path.c_str(), "wx"), &close_file);
  if (!cf) return tls_error("cannot create '" + cert_path + "' (does it exist already?)");
  if (PEM_write_X509(cf.get(), cert->get()) != 1)
    return tls_error("cannot write '" + cert_path + "'");
  return Status::Ok();
}

Result<std::string> certificate_fingerprint(const std::string& path) {
  File f(std::fopen(path.c_str(), "r"), &close_file);
  if (!f) return tls_error("cannot read '" + path + "'");
  Cert cert(PEM_read_X509(f.get(), nullptr, nullptr, nullptr));
  if (!cert) return tls_error("'" + path + "' holds no PEM certificate");
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  X509_digest(cert.get(), EVP_sha256(), md, &n);
  std::string out;
  char hex[4];
  for (unsigned int i = 0; i < n; ++i) {
    std::snprintf(hex, sizeof hex, "%02X", md[i]);
    out += (i ? ":" : "") + std::string(hex);
  }
  return out;
}

}  // namespace relais::server
