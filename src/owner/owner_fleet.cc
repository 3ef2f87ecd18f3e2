// --redis: the counts a room's owner tells (welcome.online, `state`, GET /admin/rooms/R) are the
// fleet's: this node's own viewers plus what the other nodes last reported through Redis
// (cluster::FleetCounts, docs/cluster.md "Counts across nodes").
#include "owner/owner_service.h"

namespace roomcast::owner {

void OwnerService::SetFleetCounts(room::OwnerRoom* r, uint64_t others_online, uint64_t unique_5m,
                                  uint64_t unique_total) {
  if (opt_.presence) r->Stats().SetFleetUnique(unique_5m, unique_total);
  if (r->FleetOnline() == r->Online() + others_online) return;
  r->SetOthersOnline(others_online);
  // The viewers here may believe another count now: a presence state is due (Pulse paces it).
  pulse_.NoteOnline(r->Name(), now_ms_, r->Online(), 0);
}

}  // namespace roomcast::owner
