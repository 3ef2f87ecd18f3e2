// The shard's snapshot cache (snapshots.h). Shard thread only.
#include "snapshots.h"

#include "base/json_writer.h"
#include "web/static_files.h"

namespace roomcast::session {

namespace {

// A strong validator from the body: FNV-1a, 64 bits, as 16 hex digits in quotes.
std::string EtagOf(std::string_view body) {
  uint64_t h = 1469598103934665603ull;
  for (const char ch : body) {
    h ^= static_cast<uint8_t>(ch);
    h *= 1099511628211ull;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string etag = "\"";
  for (int shift = 60; shift >= 0; shift -= 4) etag += kHex[(h >> shift) & 0xf];
  etag += '"';
  return etag;
}

}  // namespace

std::string Snapshots::Key(std::string_view room, uint32_t limit) {
  std::string key = std::to_string(limit);
  key += ' ';
  key += room;
  return key;
}

std::string Snapshots::Body(const mesh::HistoryReply& rep) {
  std::string body = R"({"room":)";
  json::AppendString(&body, rep.room);
  body += R"(,"epoch":)";
  if (rep.epoch.empty()) {
    body += "null";
  } else {
    json::AppendString(&body, rep.epoch);
  }
  body += R"(,"seq":)";
  json::AppendUint(&body, rep.head);
  body += R"(,"online":)";
  json::AppendUint(&body, rep.online);
  body += R"(,"messages":[)";
  bool first = true;
  for (const room::SequencedMsg& m : rep.msgs) {
    if (!first) body += ',';
    body += m.json;
    first = false;
  }
  // The last reactions window's totals ({} when the room had none in its last window).
  body += R"(],"reactions":)";
  body += rep.reactions.empty() ? std::string_view("{}") : std::string_view(rep.reactions);
  body += '}';
  return body;
}

void Snapshots::Request(ConnId c, AnswerForm a, std::string_view room, uint32_t limit,
                        std::string_view if_none_match) {
  const uint64_t now = ctx_.out.NowMs();
  const std::string key = Key(room, limit);
  auto it = entries_.find(key);
  if (it != entries_.end() && !it->second.building && now - it->second.built_ms < kFreshMs) {
    return Answer(c, a, it->second, if_none_match);
  }
  if (it == entries_.end()) {
    if (entries_.size() >= kMaxEntries) {
      return ctx_.RespondError(c, a, 503, "unavailable",
                               "too many snapshots are being built on this shard; retry");
    }
    it = entries_.emplace(key, Entry{}).first;
  }
  Entry& e = it->second;
  Session& s = ctx_.Sess(c);
  s.flags |= kAwaitingAck;  // pipelined requests wait behind the answer
  if (!a.keep_alive) s.flags |= kClosingSess;
  e.waiters.push_back(Waiter{c, s.gen, a, std::string(if_none_match)});
  if (e.building) return;
  e.building = true;
  ShardMetrics::Add(ctx_.metrics.snapshot_builds_total, 1);
  mesh::HistoryReq ask{std::string(room), 0, limit, {c, s.gen}, a.cors};
  ask.latest = true;
  ctx_.rooms.History(std::move(ask));
}

void Snapshots::OnReply(const mesh::HistoryReply& rep) {
  auto it = entries_.find(Key(rep.room, rep.limit));
  if (it == entries_.end()) return;
  Entry& e = it->second;
  e.body = Body(rep);
  e.etag = EtagOf(e.body);
  e.built_ms = ctx_.out.NowMs();
  e.building = false;
  std::vector<Waiter> waiters = std::move(e.waiters);
  e.waiters.clear();
  for (const Waiter& w : waiters) {
    Session& s = ctx_.Sess(w.conn);
    if (s.gen != w.gen || s.kind != SessKind::kHttp || !(s.flags & kAwaitingAck)) continue;
    s.flags &= static_cast<uint8_t>(~kAwaitingAck);
    const bool keep_alive = !(s.flags & kClosingSess);
    s.flags &= static_cast<uint8_t>(~kClosingSess);  // RespondHttp decides from keep_alive
    AnswerForm form = w.form;
    form.keep_alive = keep_alive;
    Answer(w.conn, form, e, w.if_none_match);
    if (keep_alive) ctx_.held.ResumeHeldInput(w.conn);
  }
}

void Snapshots::Answer(ConnId c, AnswerForm a, const Entry& e, std::string_view if_none_match) {
  std::string extra = "ETag: " + e.etag + "\r\nCache-Control: public, max-age=1\r\n";
  extra += ctx_.CorsHeaders(a.cors);
  if (!if_none_match.empty() && web::EtagMatches(if_none_match, e.etag)) {
    ShardMetrics::Add(ctx_.metrics.snapshot_not_modified_total, 1);
    return ctx_.Respond(c, a, http::BuildResponse(304, "", "", a.keep_alive, extra));
  }
  ctx_.Respond(c, a, http::BuildResponse(200, "application/json", e.body, a.keep_alive, extra));
}

void Snapshots::Sweep(uint64_t now_ms) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    const Entry& e = it->second;
    if (!e.building && e.waiters.empty() && now_ms - e.built_ms >= 2 * kFreshMs) {
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace roomcast::session
