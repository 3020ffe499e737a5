// IdentifyCaller: service tokens (by SHA-256 digest), client certificates
// (SPIFFE URI, URI, DNS, CN), anonymous callers.
#include "broker/identity/caller_identity.h"

#include <string>

#include "broker/common/errors.h"
#include "broker/crypto/digest.h"
#include "gtest/gtest.h"

namespace credbroker {
namespace {

constexpr char kIngestToken[] = "ingest-service-token-0123456789";
constexpr char kRenderToken[] = "render-service-token-abcdefghij";

CallerAuthSettings TokenSettings() {
  CallerAuthSettings settings;
  settings.service_tokens.push_back({"ingest", Sha256Hex(kIngestToken)});
  settings.service_tokens.push_back({"render", Sha256Hex(kRenderToken)});
  return settings;
}

CallerAuthSettings CertSettings() {
  CallerAuthSettings settings;
  settings.client_ca_file = "/etc/broker/clients-ca.pem";
  return settings;
}

PeerCredentials WithToken(const std::string& token) {
  PeerCredentials peer;
  peer.bearer_token = token;
  return peer;
}

void ExpectUnauthenticated(const absl::StatusOr<std::string>& identity) {
  ASSERT_FALSE(identity.ok()) << *identity;
  EXPECT_EQ(identity.status().code(), absl::StatusCode::kUnauthenticated) << identity.status();
  ASSERT_TRUE(ReasonOf(identity.status()).has_value()) << identity.status();
  EXPECT_EQ(*ReasonOf(identity.status()), Reason::kCallerUnauthenticated);
  EXPECT_EQ(ReasonName(*ReasonOf(identity.status())), "CALLER_UNAUTHENTICATED");
}

TEST(CallerIdentityTest, Sha256HexIsLowercaseHex) {
  // The config holds `printf %s TOKEN | sha256sum`.
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(CallerIdentityTest, NotEnabledIsAnonymousWhateverIsPresented) {
  const CallerAuthSettings off;
  ASSERT_FALSE(off.enabled());
  PeerCredentials everything = WithToken(kIngestToken);
  everything.uri_sans = {"spiffe://studio.example/ns/a/sa/b"};
  everything.dns_sans = {"ingest.studio.example"};
  everything.common_name = "ingest";
  PeerCredentials malformed;
  malformed.malformed_authorization = true;
  for (const PeerCredentials& peer :
       {PeerCredentials{}, everything, malformed, WithToken("wrong")}) {
    absl::StatusOr<std::string> identity = IdentifyCaller(peer, off);
    ASSERT_TRUE(identity.ok()) << identity.status();
    EXPECT_EQ(*identity, "anonymous");
  }
}

TEST(CallerIdentityTest, RightTokenNamesItsIdentity) {
  EXPECT_EQ(IdentifyCaller(WithToken(kIngestToken), TokenSettings()).value(), "ingest");
  EXPECT_EQ(IdentifyCaller(WithToken(kRenderToken), TokenSettings()).value(), "render");
}

TEST(CallerIdentityTest, WrongTokenIsUnauthenticated) {
  ExpectUnauthenticated(IdentifyCaller(WithToken("not-a-token"), TokenSettings()));
  ExpectUnauthenticated(IdentifyCaller(WithToken(""), TokenSettings()));
  // The digest itself is not the token.
  ExpectUnauthenticated(IdentifyCaller(WithToken(Sha256Hex(kIngestToken)), TokenSettings()));
  ExpectUnauthenticated(
      IdentifyCaller(WithToken(std::string(kIngestToken) + "\n"), TokenSettings()));
}

TEST(CallerIdentityTest, WrongTokenRefusedEvenWithAnonymousAllowed) {
  CallerAuthSettings settings = TokenSettings();
  settings.allow_anonymous = true;
  ExpectUnauthenticated(IdentifyCaller(WithToken("not-a-token"), settings));
}

TEST(CallerIdentityTest, MalformedAuthorizationIsUnauthenticated) {
  PeerCredentials peer;
  peer.malformed_authorization = true;
  ExpectUnauthenticated(IdentifyCaller(peer, TokenSettings()));
  // Even with a good certificate and anonymous callers allowed.
  CallerAuthSettings settings = CertSettings();
  settings.allow_anonymous = true;
  peer.uri_sans = {"spiffe://studio.example/ns/a/sa/b"};
  ExpectUnauthenticated(IdentifyCaller(peer, settings));
}

TEST(CallerIdentityTest, CertificatePrefersSpiffeUri) {
  PeerCredentials peer;
  peer.uri_sans = {"https://ingest.studio.example/", "spiffe://studio.example/ns/p/sa/ingest",
                   "urn:example:ingest"};
  peer.dns_sans = {"ingest.studio.example"};
  peer.common_name = "ingest";
  EXPECT_EQ(IdentifyCaller(peer, CertSettings()).value(), "spiffe://studio.example/ns/p/sa/ingest");
}

TEST(CallerIdentityTest, CertificateElseFirstUri) {
  PeerCredentials peer;
  peer.uri_sans = {"urn:example:ingest", "https://ingest.studio.example/"};
  peer.dns_sans = {"ingest.studio.example"};
  peer.common_name = "ingest";
  EXPECT_EQ(IdentifyCaller(peer, CertSettings()).value(), "urn:example:ingest");
}

TEST(CallerIdentityTest, CertificateElseDnsSan) {
  PeerCredentials peer;
  peer.dns_sans = {"ingest.studio.example", "other.studio.example"};
  peer.common_name = "ingest";
  EXPECT_EQ(IdentifyCaller(peer, CertSettings()).value(), "ingest.studio.example");
}

TEST(CallerIdentityTest, CertificateElseCommonName) {
  PeerCredentials peer;
  peer.common_name = "ingest";
  EXPECT_EQ(IdentifyCaller(peer, CertSettings()).value(), "ingest");
}

TEST(CallerIdentityTest, CertificateIgnoredWithoutClientCa) {
  // Only service tokens configured: certificate names are not trusted.
  PeerCredentials peer;
  peer.uri_sans = {"spiffe://studio.example/ns/p/sa/ingest"};
  peer.common_name = "ingest";
  ExpectUnauthenticated(IdentifyCaller(peer, TokenSettings()));
}

TEST(CallerIdentityTest, NothingPresented) {
  ExpectUnauthenticated(IdentifyCaller(PeerCredentials{}, TokenSettings()));
  ExpectUnauthenticated(IdentifyCaller(PeerCredentials{}, CertSettings()));
  CallerAuthSettings settings = TokenSettings();
  settings.client_ca_file = "/etc/broker/clients-ca.pem";
  settings.allow_anonymous = true;
  EXPECT_EQ(IdentifyCaller(PeerCredentials{}, settings).value(), "anonymous");
  CallerAuthSettings certs = CertSettings();
  certs.allow_anonymous = true;
  EXPECT_EQ(IdentifyCaller(PeerCredentials{}, certs).value(), "anonymous");
}

TEST(CallerIdentityTest, TokenTakesPrecedenceOverCertificate) {
  CallerAuthSettings settings = TokenSettings();
  settings.client_ca_file = "/etc/broker/clients-ca.pem";
  PeerCredentials peer = WithToken(kRenderToken);
  peer.uri_sans = {"spiffe://studio.example/ns/p/sa/ingest"};
  peer.common_name = "ingest";
  EXPECT_EQ(IdentifyCaller(peer, settings).value(), "render");
  // A wrong token is not rescued by a good certificate.
  peer.bearer_token = "wrong";
  ExpectUnauthenticated(IdentifyCaller(peer, settings));
}

}  // namespace
}  // namespace credbroker
