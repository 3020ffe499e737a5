// Certificates made at test time with the openssl CLI: a throwaway CA and
// certificates it signs, valid for 127.0.0.1 and localhost.
#pragma once

#include <string>

namespace credbroker::testing {

struct CertificateAuthority {
  std::string cert_file;
  std::string key_file;
};

struct Certificate {
  std::string cert_file;
  std::string key_file;
};

// Makes a CA named `name` in `dir`.
CertificateAuthority MakeCertificateAuthority(const std::string& dir, const std::string& name);
// Issues a certificate for `name` signed by `ca`, with subjectAltName
// IP:127.0.0.1 and DNS:localhost plus `extra_san` (e.g.
// "URI:spiffe://studio.test/ns/pipeline/sa/ingest"), usable for servers and
// clients, valid for `days` days.
Certificate IssueCertificate(const CertificateAuthority& ca, const std::string& dir,
                             const std::string& name, const std::string& extra_san = "",
                             int days = 2);

}  // namespace credbroker::testing
