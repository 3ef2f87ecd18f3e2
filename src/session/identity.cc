// Who a connection is (context.h, "Identity"): the token of a request, checked once per
// connection with the shard's TokenVerifier and the keys in force at that moment (SIGHUP may
// replace them; a connection keeps the user it was given), or --dev-auth's ?user=. Shard thread
// only.
#include <ctime>

#include "base/log.h"
#include "context.h"

namespace roomcast::session {

namespace {

// The token a request carries: `Authorization: Bearer <jwt>`, else ?token=<jwt>. Empty: none.
std::string TokenOf(const http::Request& req) {
  constexpr std::string_view kBearer = "Bearer ";
  bool has = false;
  const std::string_view auth = req.Find("Authorization", &has);
  if (has && auth.size() > kBearer.size() && auth.substr(0, kBearer.size()) == kBearer) {
    return std::string(auth.substr(kBearer.size()));
  }
  std::string token;
  (void)http::QueryParam(req.query, "token", &token);
  return token;
}

}  // namespace

auth::TokenVerifier* Context::Verifier() {
  std::shared_ptr<const auth::TokenKeys> keys = token_keys_ ? token_keys_->load() : nullptr;
  if (!keys) return nullptr;
  verifier_.SetKeys(std::move(keys));
  return &verifier_;
}

int64_t Context::UnixSeconds() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec);
}

Auth Context::Authenticate(ConnId c, const http::Request& req, AnswerForm a) {
  table.ClearUser(c);  // a keep-alive connection is whoever its latest request names
  const std::string token = TokenOf(req);
  if (!token.empty()) {
    std::string detail = "no key for user tokens is configured";
    auth::Identity id;
    auth::TokenVerifier* verifier = Verifier();
    const auth::TokenError e = verifier ? verifier->Verify(token, UnixSeconds(), &id, &detail)
                                        : auth::TokenError::kAlgorithm;
    if (e != auth::TokenError::kNone) {
      RespondError(c, a.Closing(), 401, "unauthorized",
                   std::string(auth::Describe(e)) + ": " + detail);
      return Auth::kRefused;
    }
    table.SetUser(c, std::move(id));
    return Auth::kUser;
  }
  std::string user;
  if (cfg.dev_auth && http::QueryParam(req.query, "user", &user)) {
    if (!chat::IsValidUserName(user)) {
      RespondError(c, a.Closing(), 400, "bad_request", kUserRule);
      return Auth::kRefused;
    }
    table.SetUser(c, user);
    return Auth::kUser;
  }
  return Auth::kAnonymous;
}

auth::TokenError Context::Refresh(ConnId c, std::string_view token, std::string* detail) {
  auth::TokenVerifier* verifier = Verifier();
  if (!verifier) {
    *detail = "no key for user tokens is configured";
    return auth::TokenError::kAlgorithm;
  }
  auth::Identity id;
  const auth::TokenError e = verifier->Verify(token, UnixSeconds(), &id, detail);
  if (e != auth::TokenError::kNone) return e;
  const UserProfile* now = table.Profile(c);
  if (now != nullptr && now->id.sub != id.sub) {
    *detail = "the token names another user";
    return auth::TokenError::kClaims;
  }
  table.SetUser(c, std::move(id));
  return auth::TokenError::kNone;
}

}  // namespace roomcast::session
