// GET /rooms/R/history?after=S&limit=N: one page of what the room still keeps after seq S, for
// clients that fill holes themselves (PROTOCOL.md, "Resumes are complete"). The request goes to
// the room's owner (OwnerService::OnHistory), which answers from its history without counting a
// viewer or creating the room; the HTTP connection holds pipelined input until the page is sent.
// Shard thread only.
#include <algorithm>

#include "base/json_writer.h"
#include "room/fanout.h"
#include "shard.h"

namespace roomcast::server {

namespace {

constexpr uint32_t kDefaultHistoryLimit = 100;

}  // namespace

void Shard::HandleHistory(ConnId c, const http::Request& req, AnswerForm a, std::string_view room) {
  const bool ka = a.keep_alive;
  if (!chat::IsValidRoomId(room)) {
    return RespondError(c, a, 400, "bad_request", "room must be 1..64 bytes of [A-Za-z0-9_.:-]");
  }
  std::string value;
  uint64_t after = 0;
  if (http::QueryParam(req.query, "after", &value) && !http::ParseDecimal(value, &after)) {
    return RespondError(c, a, 400, "bad_request", "after must be a whole number (a seq)");
  }
  const uint32_t max = cfg_.max_history_request;
  uint64_t limit = std::min(kDefaultHistoryLimit, max);
  if (http::QueryParam(req.query, "limit", &value) &&
      (!http::ParseDecimal(value, &limit) || limit == 0 || limit > max)) {
    return RespondError(c, a, 400, "bad_request",
                        "limit must be a whole number from 1 to " + std::to_string(max) +
                            " (--max-history-request)");
  }
  if (max == 0) return RespondError(c, a, 400, "bad_request", "history requests are off");
  Session& s = Sess(c);
  s.flags |= kAwaitingAck;
  if (!ka) s.flags |= kClosingSess;
  SendToOwner(
      room,
      mesh::HistoryReq{std::string(room), after, static_cast<uint32_t>(limit), {c, s.gen}, a.cors});
}

void Shard::OnHistoryReply(mesh::HistoryReply& rep) {
  Session& s = Sess(rep.to.conn);
  if (s.gen != rep.to.gen || s.kind != SessKind::kHttp) return;  // the client left meanwhile
  s.flags &= static_cast<uint8_t>(~kAwaitingAck);
  const bool keep_alive = !(s.flags & kClosingSess);
  s.flags &= static_cast<uint8_t>(~kClosingSess);  // RespondHttp decides from keep_alive
  std::string body = R"({"messages":[)";
  bool first = true;
  if (rep.gap_to != 0) {
    body += room::GapJson(rep.room, rep.gap_from, rep.gap_to);
    first = false;
  }
  for (const room::SequencedMsg& m : rep.msgs) {
    if (!first) body += ',';
    body += m.json;
    first = false;
  }
  body += R"(],"more":)";
  body += rep.last < rep.head ? "true" : "false";
  if (!rep.epoch.empty()) {
    body += R"(,"epoch":)";
    json::AppendString(&body, rep.epoch);
  }
  body += R"(,"seq":)";
  json::AppendUint(&body, rep.head);
  body += '}';
  RespondHttp(rep.to.conn,
              http::BuildResponse(200, "application/json", body, keep_alive, CorsHeaders(rep.cors)),
              keep_alive);
  if (keep_alive) ResumeHeldInput(rep.to.conn);
}

}  // namespace roomcast::server
