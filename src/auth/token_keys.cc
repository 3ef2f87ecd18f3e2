#include "auth/token_keys.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>

#include <cstdint>
#include <vector>

namespace roomcast::auth {
namespace {

constexpr size_t kEs256SigBytes = 64;  // r || s, 32 bytes each
constexpr int kMinRsaBits = 2048;

bool DigestVerify(EVP_PKEY* pkey, std::string_view data, const unsigned char* sig, size_t sig_len) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return false;
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, pkey) == 1 &&
            EVP_DigestVerify(ctx, sig, sig_len, reinterpret_cast<const unsigned char*>(data.data()),
                             data.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

// RFC 7518's r||s as the DER ECDSA-Sig-Value OpenSSL checks.
bool RawEcSigToDer(std::string_view raw, std::vector<unsigned char>* der) {
  if (raw.size() != kEs256SigBytes) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
  BIGNUM* r = BN_bin2bn(p, 32, nullptr);
  BIGNUM* s = BN_bin2bn(p + 32, 32, nullptr);
  ECDSA_SIG* sig = ECDSA_SIG_new();
  if (r == nullptr || s == nullptr || sig == nullptr) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return false;
  }
  ECDSA_SIG_set0(sig, r, s);  // sig owns r and s now
  int len = i2d_ECDSA_SIG(sig, nullptr);
  bool ok = len > 0;
  if (ok) {
    der->resize(static_cast<size_t>(len));
    unsigned char* out = der->data();
    ok = i2d_ECDSA_SIG(sig, &out) == len;
  }
  ECDSA_SIG_free(sig);
  return ok;
}

// The algorithm a PEM public key serves, or nullopt (with *error) for a key we do not take.
std::optional<Alg> AlgOfKey(EVP_PKEY* pkey, std::string* error) {
  switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_RSA:
      if (EVP_PKEY_get_bits(pkey) < kMinRsaBits) {
        *error = "the RSA key has fewer than 2048 bits";
        return std::nullopt;
      }
      return Alg::kRs256;
    case EVP_PKEY_EC: {
      char group[64] = {0};
      size_t len = 0;
      if (EVP_PKEY_get_group_name(pkey, group, sizeof group, &len) != 1 ||
          std::string_view(group, len) != "prime256v1") {
        *error = "the EC key is not on P-256 (prime256v1), the only curve ES256 uses";
        return std::nullopt;
      }
      return Alg::kEs256;
    }
    default:
      *error = "the public key is neither RSA (RS256) nor EC P-256 (ES256)";
      return std::nullopt;
  }
}

}  // namespace

std::optional<Alg> ParseAlg(std::string_view name) {
  if (name == "HS256") return Alg::kHs256;
  if (name == "RS256") return Alg::kRs256;
  if (name == "ES256") return Alg::kEs256;
  return std::nullopt;
}

std::shared_ptr<const TokenKeys> TokenKeys::Load(std::string secret, std::string_view public_pem,
                                                 std::string* error) {
  if (secret.empty() && public_pem.empty()) {
    *error = "no key: give an HS256 secret or a public key";
    return nullptr;
  }
  std::shared_ptr<TokenKeys> keys(new TokenKeys());
  keys->secret_ = std::move(secret);
  if (!public_pem.empty()) {
    BIO* bio = BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size()));
    if (bio == nullptr) {
      *error = "out of memory";
      return nullptr;
    }
    keys->pkey_ = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    if (keys->pkey_ == nullptr) {
      *error = "not a PEM public key (-----BEGIN PUBLIC KEY-----)";
      return nullptr;
    }
    std::optional<Alg> alg = AlgOfKey(keys->pkey_, error);
    if (!alg) return nullptr;
    keys->pkey_alg_ = *alg;
  }
  return keys;
}

TokenKeys::~TokenKeys() { EVP_PKEY_free(pkey_); }

bool TokenKeys::Has(Alg alg) const {
  if (alg == Alg::kHs256) return !secret_.empty();
  return pkey_ != nullptr && pkey_alg_ == alg;
}

bool TokenKeys::Verify(Alg alg, std::string_view signing_input, std::string_view signature) const {
  if (!Has(alg)) return false;
  switch (alg) {
    case Alg::kHs256: {
      std::string mac = HmacSha256(secret_, signing_input);
      return signature.size() == mac.size() &&
             CRYPTO_memcmp(signature.data(), mac.data(), mac.size()) == 0;
    }
    case Alg::kRs256:
      return DigestVerify(pkey_, signing_input,
                          reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size());
    case Alg::kEs256: {
      std::vector<unsigned char> der;
      return RawEcSigToDer(signature, &der) &&
             DigestVerify(pkey_, signing_input, der.data(), der.size());
    }
  }
  return false;
}

std::string HmacSha256(std::string_view secret, std::string_view signing_input) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(), mac,
           &len) == nullptr) {
    return {};
  }
  return std::string(reinterpret_cast<const char*>(mac), len);
}

}  // namespace roomcast::auth
