// The operators' view of rooms (admin_session.h): GET /admin/rooms/R from the room's owner, and
// GET /admin/rooms?top=N&by=online|msgs gathered from every shard's owner. Shard thread only.
#include <algorithm>

#include "admin_session.h"

namespace roomcast::session {

namespace {

constexpr uint64_t kMaxTop = 100;

}  // namespace

void AdminSession::HandleRoomReport(ConnId c, std::string_view room, AnswerForm a) {
  AwaitAck(c, a);
  mesh::RoomStatsReq req;
  req.room.assign(room);
  req.to = {c, ctx_.Sess(c).gen};
  req.cors = a.cors;
  ctx_.rooms.RoomStats(std::move(req));
}

void AdminSession::HandleTopRooms(ConnId c, const http::Request& req, AnswerForm a) {
  if (req.method != "GET" && req.method != "HEAD") {
    return ctx_.RespondError(c, a, 405, "method_not_allowed", "use GET");
  }
  if (!Authorized(c, req, a)) return;
  std::string value;
  uint64_t top = 10;
  if (http::QueryParam(req.query, "top", &value) &&
      (!http::ParseDecimal(value, &top) || top == 0 || top > kMaxTop)) {
    return ctx_.RespondError(c, a, 400, "bad_request", "top must be a whole number from 1 to 100");
  }
  mesh::RoomOrder by = mesh::RoomOrder::kOnline;
  if (http::QueryParam(req.query, "by", &value)) {
    if (value == "msgs") {
      by = mesh::RoomOrder::kMsgs;
    } else if (value != "online") {
      return ctx_.RespondError(c, a, 400, "bad_request", "by must be online or msgs");
    }
  }
  if (gathers_.size() >= kMaxGathers) {
    return ctx_.RespondError(c, a, 503, "unavailable",
                             "too many room listings at once on this shard: try again");
  }
  const uint32_t id = next_gather_++;
  Gather& g = gathers_[id];
  g.to = {c, ctx_.Sess(c).gen};
  g.cors = a.cors;
  g.top = static_cast<uint32_t>(top);
  g.by = by;
  g.waiting = ctx_.shards;
  AwaitAck(c, a);
  ctx_.rooms.RoomStats(mesh::RoomStatsReq{{}, g.top, by, g.to, a.cors, id});
}

std::optional<mesh::AckReply> AdminSession::OnRoomStatsReply(mesh::RoomStatsReply& rep) {
  auto it = gathers_.find(rep.gather);
  if (it == gathers_.end()) return std::nullopt;
  Gather& g = it->second;
  for (mesh::RoomStatsRow& row : rep.rows) g.rows.push_back(std::move(row));
  if (--g.waiting > 0) return std::nullopt;
  // Every shard answered with its own best: the best of those, ties by name.
  const bool by_msgs = g.by == mesh::RoomOrder::kMsgs;
  std::sort(g.rows.begin(), g.rows.end(),
            [by_msgs](const mesh::RoomStatsRow& x, const mesh::RoomStatsRow& y) {
              const double kx = by_msgs ? x.msgs_per_s : static_cast<double>(x.online);
              const double ky = by_msgs ? y.msgs_per_s : static_cast<double>(y.online);
              return kx != ky ? kx > ky : x.room < y.room;
            });
  mesh::AckReply ack;
  ack.to = g.to;
  ack.http = true;
  ack.cors = g.cors;
  ack.body = R"({"rooms":[)";
  const size_t n = std::min<size_t>(g.rows.size(), g.top);
  for (size_t k = 0; k < n; ++k) {
    if (k) ack.body += ',';
    ack.body += g.rows[k].json;
  }
  ack.body += "]}";
  gathers_.erase(it);
  return ack;
}

}  // namespace roomcast::session
