// Who is where in the fanout and storm scenarios: each viewer's and publisher's room and worker
// process, and the storm group. Pure functions of the options, any process.
//
// Rooms: viewer v is in room v % R, publisher j in room j % R. Workers: round robin (viewer v in
// worker v % W, publisher j in worker j % W), except with --storm-calm-apart in the storm
// scenario (and 2 or more workers): worker 0 holds every calm viewer and every publisher, and the
// storm group is spread over workers 1 .. W-1, so that the load generator's own reconnect work
// cannot delay the calm viewers or a publish.
#pragma once

#include <cstdint>

#include "options.h"

namespace roomcast::load {

// Storm grouping. Default (--storm-fraction 0): every viewer of rooms 0 .. StormRooms-1, where
// StormRooms = R / 2. With --storm-fraction F: in every room, the first floor(F x viewers of the
// room) viewers (viewer v is the (v / R)-th of room v % R); StormRooms is then 0 (no room is
// left out of the calm set as a whole).
[[nodiscard]] uint32_t StormRooms(const Options& opt);
[[nodiscard]] bool InStormGroup(const Options& opt, uint64_t viewer);

// Publishers of room `room` (publisher j is in room j % R).
[[nodiscard]] uint32_t PublishersInRoom(const Options& o, uint32_t room);

// The worker placement above; `storm` says whether the storm scenario runs.
[[nodiscard]] bool CalmApart(const Options& opt, bool storm, uint32_t workers);
[[nodiscard]] uint32_t ViewerWorker(const Options& opt, bool storm, uint32_t workers, uint64_t v);
[[nodiscard]] uint32_t PublisherWorker(const Options& opt, bool storm, uint32_t workers,
                                       uint64_t j);
// Publisher j's index among its worker's publishers.
[[nodiscard]] uint32_t PublisherSlot(const Options& opt, bool storm, uint32_t workers, uint64_t j);

}  // namespace roomcast::load
