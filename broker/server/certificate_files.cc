// Parsed with OpenSSL; errors name the file, never its contents.
#include "broker/server/certificate_files.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>

#include "absl/strings/str_cat.h"

namespace credbroker {
namespace {

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

absl::StatusOr<BioPtr> Open(const std::string& path) {
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) return absl::NotFoundError(absl::StrCat("cannot read '", path, "'"));
  return bio;
}

absl::Time NotAfter(const X509& cert) {
  tm expiry{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(&cert), &expiry) != 1) return absl::InfinitePast();
  return absl::FromTM(expiry, absl::UTCTimeZone());
}

}  // namespace

absl::StatusOr<absl::Time> EarliestExpiry(const std::string& pem_path) {
  absl::StatusOr<BioPtr> bio = Open(pem_path);
  if (!bio.ok()) return bio.status();
  absl::Time earliest = absl::InfiniteFuture();
  int count = 0;
  while (X509Ptr cert{PEM_read_bio_X509(bio->get(), nullptr, nullptr, nullptr)}) {
    earliest = std::min(earliest, NotAfter(*cert));
    ++count;
  }
  // The read that ended the loop left "no start line" on this thread's
  // OpenSSL error queue; later TLS users on the thread must not see it.
  ERR_clear_error();
  if (count == 0) {
    return absl::InvalidArgumentError(absl::StrCat("'", pem_path, "' holds no PEM certificate"));
  }
  return earliest;
}

absl::Status CheckKeyPair(const std::string& cert_path, const std::string& key_path) {
  absl::StatusOr<BioPtr> cert_bio = Open(cert_path);
  if (!cert_bio.ok()) return cert_bio.status();
  X509Ptr cert{PEM_read_bio_X509(cert_bio->get(), nullptr, nullptr, nullptr)};
  if (!cert) {
    return absl::InvalidArgumentError(absl::StrCat("'", cert_path, "' holds no PEM certificate"));
  }
  absl::StatusOr<BioPtr> key_bio = Open(key_path);
  if (!key_bio.ok()) return key_bio.status();
  std::unique_ptr<EVP_PKEY, KeyFree> key{
      PEM_read_bio_PrivateKey(key_bio->get(), nullptr, nullptr, nullptr)};
  if (!key) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", key_path, "' holds no unencrypted PEM private key"));
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the key in '", key_path, "' does not belong to the certificate in '", cert_path, "'"));
  }
  return absl::OkStatus();
}

}  // namespace credbroker
