// What a node puts into Redis for one message, and how every node turns it back into the
// room's message object once Redis has numbered it. The owner renders the object once (with
// seq 0) and cuts it where the seq (and a server-made id, which holds the epoch and the seq)
// go; the payload is "1 <flags> <user tag> <ts ms> <id mode>\n<head>\n<tail>", JSON text never
// holding a raw newline. A node rebuilds head + seq + [,"id":"s-EPOCH-SEQ"] + tail.
// A moderation event (a retract, a `state` after a mode change, a `clear`) is
// "2 <flags> <target> <ts ms> <kind>\n<head>\n<tail>": head ends where its own seq goes ("seq":
// of a state or clear, "at": of a retract); kind r hides `target`, c hides what came before.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "room/room_owner.h"

namespace roomcast::cluster {

// The payload of `in` for room r (false: the rendered object did not have the expected shape).
bool EncodeMessage(const room::OwnerRoom& r, const room::PublishInput& in, std::string* out);
// What a decoded event asks of the copy besides keeping it.
struct EventEffect {
  char kind = 'm';      // m: a message; e: an event; r: a retract (hides target); c: a clear
  uint64_t target = 0;  // r: the retracted message's seq
};
// The event object `json`, rendered with 0 where its seq goes (`"seq":0` for kind e and c,
// `"at":0` for r), as a payload (false: no such field).
bool EncodeEvent(std::string_view json, char kind, uint64_t target, int64_t ts_ms,
                 std::string* out);
// The message at `seq` of `epoch` (false: a malformed payload, dropped and counted).
bool DecodeMessage(std::string_view payload, uint64_t seq, std::string_view epoch,
                   room::SequencedMsg* out, EventEffect* effect = nullptr);
// The id a message gets: its cid, or one made of the epoch and seq (as OwnerRoom::MessageId).
std::string MessageIdOf(std::string_view cid, bool cid_taken, std::string_view epoch, uint64_t seq);

}  // namespace roomcast::cluster
