// The operators' view of the rooms this shard owns (OwnerService::OnRoomStats, OnLagReport,
// TopRooms; PROTOCOL.md "Presence, counts and hot rooms"). Owner shard thread only.
#include <algorithm>
#include <cstdio>

#include "base/json_writer.h"
#include "owner/owner_service.h"

namespace roomcast::owner {

namespace {

constexpr size_t kMaxTop = 100;  // the most rooms one answer lists (the session checks 1..100)

void AppendRate(std::string* out, double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f", v);
  *out += buf;
}

}  // namespace

mesh::RoomStatsRow OwnerService::ReportOf(room::OwnerRoom& r, uint64_t now) {
  using room::Transport;
  room::RoomStats& st = r.Stats();
  mesh::RoomStatsRow row;
  row.room = r.Name();
  row.online = r.FleetOnline();
  row.msgs_per_s = st.MsgsPerSec(now);
  std::string& j = row.json;
  j = R"({"room":)";
  json::AppendString(&j, r.Name());
  j += R"(,"online":)";
  json::AppendUint(&j, r.FleetOnline());
  j += R"(,"unique_5m":)";
  json::AppendUint(&j, st.Unique5m(now));
  j += R"(,"unique_total":)";
  json::AppendUint(&j, st.UniqueTotal());
  j += R"(,"msgs_per_s":)";
  AppendRate(&j, row.msgs_per_s);
  j += R"(,"viewers":{"ws":)";
  json::AppendUint(&j, st.Viewers(Transport::kWs));
  j += R"(,"sse":)";
  json::AppendUint(&j, st.Viewers(Transport::kSse));
  j += R"(,"longpoll":)";
  json::AppendUint(&j, st.Viewers(Transport::kPoll));
  j += R"(},"modes":)";
  j += moderator_.Rules().ModesJsonOf(r.Name());
  j += R"(,"hot":)";
  j += r.HotNow() ? "true" : "false";
  j += R"(,"sampled":)";
  j += r.SamplingNow() ? "true" : "false";
  j += R"(,"lag_ms_p99":)";
  json::AppendUint(&j, st.LagP99(now));
  j += '}';
  return row;
}

void OwnerService::OnRoomStats(int from, const mesh::RoomStatsReq& req, uint64_t now) {
  if (!req.room.empty()) {  // one room, answered as an HTTP ack with a body
    mesh::AckReply ack;
    ack.to = req.to;
    ack.http = true;
    ack.cors = req.cors;
    if (room::OwnerRoom* r = rooms_.Find(req.room)) {
      ack.body = ReportOf(*r, now).json;
    } else {
      ack.refusal = chat::Refusal::kNoSuchRoom;
    }
    return out_->Send(from, std::move(ack));
  }
  // This shard's top rooms by the sort key, then a report for each of those only.
  struct Key {
    double v;
    room::OwnerRoom* r;
  };
  std::vector<Key> keys;
  keys.reserve(rooms_.Count());
  const bool by_msgs = req.by == mesh::RoomOrder::kMsgs;
  rooms_.ForEach([&](room::OwnerRoom& r) {
    keys.push_back(Key{by_msgs ? r.Stats().MsgsPerSec(now) : static_cast<double>(r.Online()), &r});
  });
  const size_t n = std::min({keys.size(), static_cast<size_t>(req.top), kMaxTop});
  std::partial_sort(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(n), keys.end(),
                    [](const Key& a, const Key& b) {
                      return a.v != b.v ? a.v > b.v : a.r->Name() < b.r->Name();
                    });
  mesh::RoomStatsReply rep;
  rep.to = req.to;
  rep.cors = req.cors;
  rep.gather = req.gather;
  for (size_t k = 0; k < n; ++k) rep.rows.push_back(ReportOf(*keys[k].r, now));
  out_->Send(from, std::move(rep));
}

void OwnerService::OnLagReport(int from, const mesh::LagReport& rep, uint64_t now) {
  if (!opt_.presence) return;
  for (const auto& [name, p99] : rep.rooms) {
    if (room::OwnerRoom* r = rooms_.Find(name)) r->Stats().NoteLag(from, p99, now);
  }
}

std::vector<TopRoom> OwnerService::TopRooms(size_t n, uint64_t now) {
  std::vector<room::OwnerRoom*> rooms;
  rooms_.ForEach([&](room::OwnerRoom& r) {
    if (r.Online() > 0 || r.Stats().MsgsPerSec(now) > 0) rooms.push_back(&r);
  });
  n = std::min(n, rooms.size());
  std::partial_sort(rooms.begin(), rooms.begin() + static_cast<std::ptrdiff_t>(n), rooms.end(),
                    [](const room::OwnerRoom* a, const room::OwnerRoom* b) {
                      return a->Online() != b->Online() ? a->Online() > b->Online()
                                                        : a->Name() < b->Name();
                    });
  std::vector<TopRoom> top(n);
  for (size_t k = 0; k < n; ++k) {
    room::OwnerRoom& r = *rooms[k];
    room::RoomStats& st = r.Stats();
    TopRoom& t = top[k];
    t.room = r.Name();
    t.online = r.Online();
    t.unique_5m = st.Unique5m(now);
    t.unique_total = st.UniqueTotal();
    t.msgs_per_s = st.MsgsPerSec(now);
    for (size_t m = 0; m < room::kTransports; ++m) {
      t.viewers[m] = st.Viewers(static_cast<room::Transport>(m));
    }
    t.lag_ms_p99 = st.LagP99(now);
  }
  return top;
}

}  // namespace roomcast::owner
