// The admin protocol handler (Authorization: Bearer <--admin-key>):
//   POST   /admin/rooms/R/publish      {"text","cid"?,"user"?,"prio"?,"kind"?} -> {"seq","id"}
//   DELETE /admin/rooms/R/messages/S   {"reason"?,"by"?} (body optional)   -> {"retracted","seq"}
//   POST   /admin/rooms/R/bans         {"user","secs"?,"shadow"?,"reason"?} -> {"op":"ban"}
//   GET    /admin/rooms/R/bans                                              -> {"room","bans"}
//   DELETE /admin/rooms/R/bans/U                                            -> {"op":"unban"}
//   POST   /admin/rooms/R/clear        {"user"?,"reason"?}       -> {"op":"clear","seq"?}
//   POST   /admin/rooms/R/modes        {"slow_secs"?,...}        -> {"op":"mode","seq"}
//   GET    /admin/rooms/R/audit?limit=N (1..1000, default 50)    -> {"room","audit"}
//   GET|PUT /admin/rooms/R/terms, GET|PUT /admin/terms  {"terms":[...],"regex":[...]}
//   GET    /admin/rooms/R/held, POST /admin/rooms/R/held/H/allow|deny
//   GET    /admin/rooms/R                                  -> the room's report (404: no room)
//   GET    /admin/rooms?top=N&by=online|msgs (N 1..100)    -> {"rooms":[...]} from every shard
// Without --admin-key the admin API is off (403). A request that was taken waits for the owner's
// ack (kAwaitingAck, input held) and is answered by HttpSession::OnAck. Shard thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "context.h"
#include "http/http_parser.h"

namespace roomcast::session {

struct AdminEndpoint;

class AdminSession {
 public:
  explicit AdminSession(Context* ctx) : ctx_(*ctx) {}
  void Handle(ConnId c, const http::Request& req, AnswerForm a, std::string_view body);
  // GET|PUT /admin/terms: the server-wide blocked terms.
  void HandleGlobalTerms(ConnId c, const http::Request& req, AnswerForm a, std::string_view body);
  // GET /admin/rooms?top=N&by=online|msgs (admin_rooms.cc): asks every shard's owner.
  void HandleTopRooms(ConnId c, const http::Request& req, AnswerForm a);
  // One shard's part of a top-rooms answer; the last part gives the whole answer, to be sent
  // as an HTTP ack (Sessions::OnAnswer).
  [[nodiscard]] std::optional<mesh::AckReply> OnRoomStatsReply(mesh::RoomStatsReply& rep);

 private:
  [[nodiscard]] bool Authorized(ConnId c, const http::Request& req, AnswerForm a);
  void HandleRetract(ConnId c, std::string_view room, std::string_view seq, AnswerForm a,
                     std::string_view body);
  void HandleModerate(ConnId c, const http::Request& req, std::string_view room,
                      const AdminEndpoint& e, std::string_view arg, AnswerForm a,
                      std::string_view body);
  // A PUT body {"terms","regex"}: parsed and compiled into op (false: answered 400, naming the
  // rule or the pattern the matcher refused).
  bool ParseTerms(ConnId c, std::string_view body, AnswerForm a, chat::ModOp* op);
  // The request waits for the owner's answer (HttpSession::OnAck), input held.
  void AwaitAck(ConnId c, AnswerForm a);
  // GET /admin/rooms/R: the owner answers with an ack whose body is the report.
  void HandleRoomReport(ConnId c, std::string_view room, AnswerForm a);

  Context& ctx_;
  // Top-rooms answers being gathered, by id (at most kMaxGathers at once).
  static constexpr size_t kMaxGathers = 64;
  struct Gather {
    mesh::ReplyTo to;
    uint8_t cors = 0;
    uint32_t top = 0;
    mesh::RoomOrder by = mesh::RoomOrder::kOnline;
    int waiting = 0;  // shards yet to answer
    std::vector<mesh::RoomStatsRow> rows;
  };
  std::unordered_map<uint32_t, Gather> gathers_;
  uint32_t next_gather_ = 1;
};

}  // namespace roomcast::session
