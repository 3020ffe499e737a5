// EC P-256 keys: quick to generate, accepted by OpenSSL, libcurl and gRPC.
#include "test_certs.h"

#include <cstdlib>
#include <stdexcept>

#include "temp_dir.h"

namespace credbroker::testing {
namespace {

void Run(const std::string& command) {
  if (std::system((command + " >/dev/null 2>&1").c_str()) != 0) {
    throw std::runtime_error("certificate command failed: " + command);
  }
}

}  // namespace

CertificateAuthority MakeCertificateAuthority(const std::string& dir, const std::string& name) {
  CertificateAuthority ca{dir + "/" + name + ".pem", dir + "/" + name + ".key"};
  Run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2"
      " -subj '/CN=" +
      name + "' -keyout " + ca.key_file + " -out " + ca.cert_file +
      " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign");
  return ca;
}

Certificate IssueCertificate(const CertificateAuthority& ca, const std::string& dir,
                             const std::string& name, const std::string& extra_san, int days) {
  Certificate cert{dir + "/" + name + ".pem", dir + "/" + name + ".key"};
  const std::string csr = dir + "/" + name + ".csr";
  const std::string extensions = dir + "/" + name + ".ext";
  {
    std::FILE* out = std::fopen(extensions.c_str(), "w");
    if (out == nullptr) throw std::runtime_error("cannot write " + extensions);
    const std::string san = extra_san.empty() ? "IP:127.0.0.1,DNS:localhost"
                                              : extra_san + ",IP:127.0.0.1,DNS:localhost";
    std::fputs(("basicConstraints=CA:FALSE\n"
                "keyUsage=digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth,clientAuth\n"
                "subjectAltName=" +
                san + "\n")
                   .c_str(),
               out);
    std::fclose(out);
  }
  Run("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj '/CN=" + name +
      "' -keyout " + cert.key_file + " -out " + csr);
  Run("openssl x509 -req -days " + std::to_string(days) + " -in " + csr + " -CA " + ca.cert_file +
      " -CAkey " + ca.key_file + " -CAcreateserial -extfile " + extensions + " -out " +
      cert.cert_file);
  return cert;
}

}  // namespace credbroker::testing
