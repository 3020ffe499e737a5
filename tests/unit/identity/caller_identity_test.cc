// IdentifyCaller: service tokens (by SHA-256 digest), client certificates
// (SPIFFE URI, URI, DNS, CN), anonymous callers, and the source prefixes that
// keep one kind of credential from claiming another's name.
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
  EXPECT_EQ(IdentifyCaller(WithToken(kIngestToken), TokenSettings()).value(), "token:ingest");
  EXPECT_EQ(IdentifyCaller(WithToken(kRenderToken), TokenSettings()).value(), "token:render");
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
  EXPECT_EQ(IdentifyCaller(peer, CertSettings()).value(), "dns:ingest.studio.example");
}

TEST(CallerIdentityTest, CommonNameOnlyWhenAllowed) {
  PeerCredentials peer;
  peer.verified_certificate = true;
  peer.common_name = "ingest";
  // By default a certificate without URI or DNS SAN names nobody, and is not
  // "anonymous" either: it is a credential.
  ExpectUnauthenticated(IdentifyCaller(peer, CertSettings()));
  CallerAuthSettings lenient = CertSettings();
  lenient.allow_anonymous = true;
  ExpectUnauthenticated(IdentifyCaller(peer, lenient));
  lenient.allow_common_name = true;
  EXPECT_EQ(IdentifyCaller(peer, lenient).value(), "cn:ingest");
  // A SAN still wins over the CN.
  peer.dns_sans = {"ingest.studio.example"};
  EXPECT_EQ(IdentifyCaller(peer, lenient).value(), "dns:ingest.studio.example");
}

TEST(CallerIdentityTest, CertificateCannotClaimAServiceTokenName) {
  CallerAuthSettings settings = TokenSettings();
  settings.client_ca_file = "/etc/broker/clients-ca.pem";
  settings.allow_common_name = true;
  // Without the prefixes, each of these would have been the token's "ingest".
  PeerCredentials cn;
  cn.common_name = "ingest";
  EXPECT_EQ(IdentifyCaller(cn, settings).value(), "cn:ingest");
  PeerCredentials dns;
  dns.dns_sans = {"ingest"};
  EXPECT_EQ(IdentifyCaller(dns, settings).value(), "dns:ingest");
  EXPECT_NE(IdentifyCaller(cn, settings).value(),
            IdentifyCaller(WithToken(kIngestToken), settings).value());
}

TEST(CallerIdentityTest, UriSanWithAReservedSchemeIsRefused) {
  for (const char* uri : {"token:ingest", "dns:ingest.studio.example", "cn:ingest", "TOKEN:ingest",
                          "Dns:x", "token://ingest"}) {
    PeerCredentials peer;
    peer.verified_certificate = true;
    peer.uri_sans = {uri};
    ExpectUnauthenticated(IdentifyCaller(peer, CertSettings()));
    // Not rescued by a SPIFFE ID or a DNS SAN beside it.
    peer.uri_sans = {"spiffe://studio.example/ns/p/sa/ingest", uri};
    peer.dns_sans = {"ingest.studio.example"};
    ExpectUnauthenticated(IdentifyCaller(peer, CertSettings()));
  }
}

TEST(CallerIdentityTest, UriSanWithoutASchemeIsRefused) {
  // "anonymous" is reserved for callers with no credential.
  for (const char* uri : {"anonymous", "ingest", ":ingest", "1abc:x", "a b:c", ""}) {
    PeerCredentials peer;
    peer.uri_sans = {uri};
    ExpectUnauthenticated(IdentifyCaller(peer, CertSettings()));
  }
}

TEST(CallerIdentityTest, OtherUriSchemesAreKeptAsIs) {
  for (const char* uri : {"spiffe://studio.example/ns/p/sa/ingest", "urn:example:ingest",
                          "https://ingest.studio.example/", "tokens:x", "dnsx:y"}) {
    PeerCredentials peer;
    peer.uri_sans = {uri};
    EXPECT_EQ(IdentifyCaller(peer, CertSettings()).value(), uri);
  }
}

TEST(CallerIdentityTest, ServiceTokenNames) {
  EXPECT_TRUE(IsServiceTokenName("lambda-webhooks"));
  EXPECT_TRUE(IsServiceTokenName("render.farm_1"));
  EXPECT_FALSE(IsServiceTokenName(""));
  EXPECT_FALSE(IsServiceTokenName("anonymous"));
  EXPECT_FALSE(IsServiceTokenName("spiffe://studio.example/x"));
  EXPECT_FALSE(IsServiceTokenName("token:ingest"));
  EXPECT_FALSE(IsServiceTokenName("a:b"));
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
  EXPECT_EQ(IdentifyCaller(peer, settings).value(), "token:render");
  // A wrong token is not rescued by a good certificate.
  peer.bearer_token = "wrong";
  ExpectUnauthenticated(IdentifyCaller(peer, settings));
}

}  // namespace
}  // namespace credbroker
