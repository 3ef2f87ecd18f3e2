#include "auth/token_verifier.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <string>
#include <vector>

#include "auth/base64url.h"

namespace roomcast::auth {
namespace {

constexpr int64_t kNow = 1'800'000'000;
constexpr std::string_view kSecret = "a-test-secret-of-some-length";

std::string Claims(std::string_view extra = "") {
  std::string s = R"({"sub":"alice","exp":)" + std::to_string(kNow + 600);
  if (!extra.empty()) s += std::string(",") + std::string(extra);
  return s + "}";
}

std::string Part(std::string_view json) { return EncodeBase64Url(json); }

// A key pair made for the test, its public half as PEM, and a signer for tokens.
struct KeyPair {
  EVP_PKEY* pkey = nullptr;
  explicit KeyPair(bool ec) {
    pkey = ec ? EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")
              : EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
  }
  ~KeyPair() { EVP_PKEY_free(pkey); }
  std::string PublicPem() const {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, pkey);
    char* data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    std::string pem(data, static_cast<size_t>(len));
    BIO_free(bio);
    return pem;
  }
  std::string SignDer(std::string_view input) const {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    size_t len = 0;
    EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, pkey);
    EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                   input.size());
    std::string sig(len, '\0');
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                   reinterpret_cast<const unsigned char*>(input.data()), input.size());
    sig.resize(len);
    EVP_MD_CTX_free(ctx);
    return sig;
  }
};

std::string EcDerToRaw(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  std::string raw(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), reinterpret_cast<unsigned char*>(raw.data()), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
  ECDSA_SIG_free(sig);
  return raw;
}

std::string SignWith(const KeyPair& k, std::string_view alg, std::string_view claims) {
  std::string input = Part(std::string(R"({"alg":")") + std::string(alg) + R"(","typ":"JWT"})") +
                      "." + Part(claims);
  std::string sig = k.SignDer(input);
  if (EVP_PKEY_get_base_id(k.pkey) == EVP_PKEY_EC) sig = EcDerToRaw(sig);
  return input + "." + EncodeBase64Url(sig);
}

class TokenVerifierTest : public ::testing::Test {
 protected:
  TokenVerifier Hs() {
    std::string err;
    auto keys = TokenKeys::Load(std::string(kSecret), "", &err);
    EXPECT_TRUE(keys) << err;
    return TokenVerifier(keys);
  }
  TokenError Check(TokenVerifier& v, std::string_view token) {
    detail_.clear();
    return v.Verify(token, kNow, &id_, &detail_);
  }
  Identity id_;
  std::string detail_;
};

TEST_F(TokenVerifierTest, Hs256GoodTokenNamesTheUser) {
  TokenVerifier v = Hs();
  std::string t = MintHs256(kSecret, Claims(R"("name":"Alice A.","roles":["vip"],)"
                                            R"("room_roles":{"lobby":["moderator"]},)"
                                            R"("badges":["subscriber/12","turbo"])"));
  ASSERT_EQ(Check(v, t), TokenError::kNone) << detail_;
  EXPECT_EQ(id_.sub, "alice");
  EXPECT_EQ(id_.name, "Alice A.");
  EXPECT_EQ(id_.exp, kNow + 600);
  EXPECT_EQ(id_.RolesIn("other"), Bit(Role::kVip));
  EXPECT_EQ(id_.RolesIn("lobby"), Bit(Role::kVip) | Bit(Role::kModerator));
  EXPECT_EQ(Highest(id_.RolesIn("lobby")), Role::kModerator);
  EXPECT_TRUE(CanModerate(id_.RolesIn("lobby")));
  EXPECT_FALSE(CanModerate(id_.RolesIn("other")));
  EXPECT_EQ(id_.badges, (std::vector<std::string>{"subscriber/12", "turbo"}));
}

TEST_F(TokenVerifierTest, TamperedPayloadOrWrongSecretIsABadSignature) {
  TokenVerifier v = Hs();
  std::string t = MintHs256(kSecret, Claims());
  size_t d1 = t.find('.'), d2 = t.rfind('.');
  std::string forged =
      t.substr(0, d1 + 1) + Part(R"({"sub":"mallory","exp":1900000000})") + t.substr(d2);
  EXPECT_EQ(Check(v, forged), TokenError::kSignature);
  EXPECT_EQ(Check(v, MintHs256("another-secret", Claims())), TokenError::kSignature);
  std::string flipped = t;
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  EXPECT_NE(Check(v, flipped), TokenError::kNone);
}

TEST_F(TokenVerifierTest, AlgNoneAndUnknownAlgsAreRefused) {
  TokenVerifier v = Hs();
  std::string none = Part(R"({"alg":"none","typ":"JWT"})") + "." + Part(Claims()) + ".";
  EXPECT_EQ(Check(v, none), TokenError::kAlgorithm);
  std::string hs512 = Part(R"({"alg":"HS512"})") + "." + Part(Claims()) + "." +
                      EncodeBase64Url(HmacSha256(kSecret, "x"));
  EXPECT_EQ(Check(v, hs512), TokenError::kAlgorithm);
  std::string noalg = Part(R"({"typ":"JWT"})") + "." + Part(Claims()) + ".AAAA";
  EXPECT_EQ(Check(v, noalg), TokenError::kAlgorithm);
  std::string crit_input = Part(R"({"alg":"HS256","crit":["x"],"x":1})") + "." + Part(Claims());
  std::string crit = crit_input + "." + EncodeBase64Url(HmacSha256(kSecret, crit_input));
  EXPECT_EQ(Check(v, crit), TokenError::kAlgorithm);
}

TEST_F(TokenVerifierTest, TimesAreHonouredWithLeeway) {
  TokenVerifier v = Hs();
  EXPECT_EQ(Check(v, MintHs256(kSecret, R"({"sub":"a","exp":)" + std::to_string(kNow) + "}")),
            TokenError::kExpired);
  EXPECT_EQ(Check(v, MintHs256(kSecret, R"({"sub":"a"})")), TokenError::kClaims);
  EXPECT_EQ(Check(v, MintHs256(kSecret, R"({"sub":"a","exp":"soon"})")), TokenError::kClaims);
  EXPECT_EQ(Check(v, MintHs256(kSecret, Claims("\"nbf\":" + std::to_string(kNow + 31)))),
            TokenError::kNotYetValid);
  EXPECT_EQ(Check(v, MintHs256(kSecret, Claims("\"nbf\":" + std::to_string(kNow + 30)))),
            TokenError::kNone);
  EXPECT_EQ(Check(v, MintHs256(kSecret, Claims("\"iat\":" + std::to_string(kNow + 300)))),
            TokenError::kNotYetValid);
  EXPECT_EQ(Check(v, MintHs256(kSecret, R"({"sub":"a","exp":1800000100.5})")), TokenError::kNone);
}

TEST_F(TokenVerifierTest, MalformedAndOversizedTokens) {
  TokenVerifier v = Hs();
  EXPECT_EQ(Check(v, ""), TokenError::kMalformed);
  EXPECT_EQ(Check(v, "abc"), TokenError::kMalformed);
  EXPECT_EQ(Check(v, "a.b"), TokenError::kMalformed);
  EXPECT_EQ(Check(v, "a.b.c.d"), TokenError::kMalformed);
  EXPECT_EQ(Check(v, "a*.b.c"), TokenError::kMalformed);
  EXPECT_EQ(Check(v, Part("[1]") + "." + Part(Claims()) + ".AAAA"), TokenError::kMalformed);
  std::string input = Part(R"({"alg":"HS256"})") + "." + Part("not json");
  EXPECT_EQ(Check(v, input + "." + EncodeBase64Url(HmacSha256(kSecret, input))),
            TokenError::kMalformed);
  std::string big = MintHs256(kSecret, Claims("\"pad\":\"" + std::string(7000, 'x') + "\""));
  ASSERT_GT(big.size(), kMaxTokenBytes);
  EXPECT_EQ(Check(v, big), TokenError::kTooLarge);
}

TEST_F(TokenVerifierTest, ClaimsOutsideTheirRulesAreRefused) {
  TokenVerifier v = Hs();
  for (const char* bad : {R"("sub":"")", R"("sub":"has space")", R"("sub":7)"}) {
    std::string c = std::string("{") + bad + ",\"exp\":" + std::to_string(kNow + 60) + "}";
    EXPECT_EQ(Check(v, MintHs256(kSecret, c)), TokenError::kClaims) << bad;
  }
  EXPECT_EQ(Check(v, MintHs256(kSecret, R"({"sub":")" + std::string(65, 'a') + R"(","exp":)" +
                                            std::to_string(kNow + 60) + "}")),
            TokenError::kClaims);
  for (const char* extra :
       {R"("roles":["owner"])", R"("roles":"moderator")", R"("room_roles":{"lobby":["god"]})",
        R"("room_roles":{"bad room":["vip"]})", R"("room_roles":[])", R"("badges":[""])",
        R"("badges":"x")", R"("name":7)", R"("name":"a\u0001b")",
        R"("badges":["1","2","3","4","5","6","7","8","9"])"}) {
    EXPECT_EQ(Check(v, MintHs256(kSecret, Claims(extra))), TokenError::kClaims) << extra;
    EXPECT_FALSE(detail_.empty());
  }
}

TEST_F(TokenVerifierTest, Rs256AndEs256WithTheirPublicKeys) {
  for (bool ec : {false, true}) {
    KeyPair k(ec);
    ASSERT_NE(k.pkey, nullptr);
    std::string err;
    auto keys = TokenKeys::Load("", k.PublicPem(), &err);
    ASSERT_TRUE(keys) << err;
    TokenVerifier v(keys);
    std::string alg = ec ? "ES256" : "RS256";
    EXPECT_EQ(Check(v, SignWith(k, alg, Claims())), TokenError::kNone) << alg << " " << detail_;
    EXPECT_EQ(id_.sub, "alice");
    // The other public algorithm and HS256 have no key here: refused before any signature check.
    EXPECT_EQ(Check(v, SignWith(k, ec ? "RS256" : "ES256", Claims())), TokenError::kAlgorithm);
    EXPECT_EQ(Check(v, MintHs256(k.PublicPem(), Claims())), TokenError::kAlgorithm);
    KeyPair other(ec);
    EXPECT_EQ(Check(v, SignWith(other, alg, Claims())), TokenError::kSignature);
  }
}

TEST(TokenKeys, LoadRefusesWhatItCannotUse) {
  std::string err;
  EXPECT_FALSE(TokenKeys::Load("", "", &err));
  EXPECT_FALSE(TokenKeys::Load("", "-----BEGIN PUBLIC KEY-----\nnope\n", &err));
  EXPECT_FALSE(err.empty());
  EVP_PKEY* small = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(1024));
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, small);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  EXPECT_FALSE(TokenKeys::Load("", std::string(data, static_cast<size_t>(len)), &err));
  EXPECT_NE(err.find("2048"), std::string::npos);
  BIO_free(bio);
  EVP_PKEY_free(small);
  EVP_PKEY* p384 = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
  bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, p384);
  len = BIO_get_mem_data(bio, &data);
  EXPECT_FALSE(TokenKeys::Load("", std::string(data, static_cast<size_t>(len)), &err));
  EXPECT_NE(err.find("P-256"), std::string::npos);
  BIO_free(bio);
  EVP_PKEY_free(p384);
}

}  // namespace
}  // namespace roomcast::auth
