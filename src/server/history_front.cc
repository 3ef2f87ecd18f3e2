// GET /rooms/R/history?after=S&limit=N: one page of what the room still keeps after seq S, for
// clients that fill holes themselves (PROTOCOL.md, "Resumes are complete"). The request goes to
// the room's owner, which answers from its history without counting a viewer or creating the
// room; the HTTP connection holds pipelined input until the page is sent. Shard thread only.
#include <algorithm>

#include "batch.h"
#include "mesh_items.h"
#include "roomcast/json_writer.h"
#include "shard.h"

namespace roomcast::server {

namespace {

constexpr uint32_t kDefaultHistoryLimit = 100;

}  // namespace

void Shard::HandleHistory(ConnId c, const http::Request& req, std::string_view room) {
  const bool ka = req.keep_alive && !draining_;
  if (!chat::IsValidRoomId(room)) {
    return RespondError(c, 400, "bad_request", "room must be 1..64 bytes of [A-Za-z0-9_.:-]", ka);
  }
  std::string value;
  uint64_t after = 0;
  if (http::QueryParam(req.query, "after", &value) && !http::ParseDecimal(value, &after)) {
    return RespondError(c, 400, "bad_request", "after must be a whole number (a seq)", ka);
  }
  const uint32_t max = cfg_.max_history_request;
  uint64_t limit = std::min(kDefaultHistoryLimit, max);
  if (http::QueryParam(req.query, "limit", &value) &&
      (!http::ParseDecimal(value, &limit) || limit == 0 || limit > max)) {
    return RespondError(c, 400, "bad_request",
                        "limit must be a whole number from 1 to " + std::to_string(max) +
                            " (--max-history-request)",
                        ka);
  }
  if (max == 0) return RespondError(c, 400, "bad_request", "history requests are off", ka);
  Session& s = Sess(c);
  s.flags |= kAwaitingAck;
  if (!ka) s.flags |= kClosingSess;
  SendToOwner(
      room, kItemHistory, 0,
      new HistoryReq{std::string(room), after, static_cast<uint32_t>(limit), c, s.gen, cur_cors_});
}

void Shard::OnHistory(int from, HistoryReq* req) {
  std::unique_ptr<HistoryReq> own(req);
  auto* rep = new HistoryReply{req->conn, req->gen, req->cors, req->room};
  if (const room::OwnerRoom* r = owned_.Find(req->room)) {
    rep->epoch = r->Epoch();
    rep->head = r->HeadSeq();
    rep->last = req->after;
    // A seq above the head is of another epoch: nothing of it is here (the epoch says so).
    if (req->after < rep->head) {
      room::OwnerRoom::SinceResult res =
          r->Since(req->after, req->limit, room::OwnerRoom::Cap::kOldest);
      rep->gap_from = res.gap_from;
      rep->gap_to = res.gap_to;
      rep->last = res.last;
      rep->msgs = std::move(res.msgs);
      // Since puts priority events first; a page is in seq order.
      std::stable_sort(
          rep->msgs.begin(), rep->msgs.end(),
          [](const room::SequencedMsg& a, const room::SequencedMsg& b) { return a.seq < b.seq; });
    }
  }
  mesh_.Send(from, mesh::Item{kItemHistoryReply, 0, 0, rep});
}

void Shard::OnHistoryReply(HistoryReply* rep) {
  std::unique_ptr<HistoryReply> own(rep);
  Session& s = Sess(rep->conn);
  if (s.gen != rep->gen || s.kind != SessKind::kHttp) return;  // the client left meanwhile
  s.flags &= static_cast<uint8_t>(~kAwaitingAck);
  const bool keep_alive = !(s.flags & kClosingSess);
  s.flags &= static_cast<uint8_t>(~kClosingSess);  // RespondHttp decides from keep_alive
  cur_cors_ = rep->cors;
  std::string body = R"({"messages":[)";
  bool first = true;
  if (rep->gap_to != 0) {
    body += GapJson(rep->room, rep->gap_from, rep->gap_to);
    first = false;
  }
  for (const room::SequencedMsg& m : rep->msgs) {
    if (!first) body += ',';
    body += m.json;
    first = false;
  }
  body += R"(],"more":)";
  body += rep->last < rep->head ? "true" : "false";
  if (!rep->epoch.empty()) {
    body += R"(,"epoch":)";
    json::AppendString(&body, rep->epoch);
  }
  body += R"(,"seq":)";
  json::AppendUint(&body, rep->head);
  body += '}';
  RespondHttp(
      rep->conn,
      http::BuildResponse(200, "application/json", body, keep_alive, CorsHeaders(cur_cors_)),
      keep_alive);
  if (keep_alive) ResumeHeldInput(rep->conn);
}

}  // namespace roomcast::server
