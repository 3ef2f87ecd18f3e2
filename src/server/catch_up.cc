// Stream resumes in pages (catch_up.h): the viewer's shard side. Shard thread only.
#include "catch_up.h"

#include <algorithm>

#include "shard.h"

namespace roomcast::server {

bool Shard::CatchingUp(ConnId c) const { return catchups_.find(c) != catchups_.end(); }

void Shard::QueueCatchUpPage(const mesh::JoinReply& rep, bool sse, std::string out) {
  const ConnId c = rep.to.conn;
  auto [it, fresh] = catchups_.try_emplace(c);
  CatchUp& cu = it->second;
  if (fresh) {  // the first page: the record holds the replica until the catch-up ends
    cu.gen = rep.to.gen;
    cu.replica = Sess(c).replica;
    replicas_.At(cu.replica).joining++;
  }
  cu.epoch = rep.epoch;
  cu.last = rep.last;
  cu.prio_sent_upto = rep.prio_sent_upto;
  cu.in_flight = false;
  AppendJoinBacklog(rep, sse, &out);
  cu.last_page_bytes = static_cast<uint32_t>(std::min<size_t>(out.size(), UINT32_MAX));
  loop_.EnqueueCopy(c, std::move(out));
  ShardMetrics::Add(metrics_.catchup_pages_total, 1);
  catchup_queue_peak_ = std::max<uint64_t>(catchup_queue_peak_, loop_.QueuedBytes(c));
  AskNextPage(c);
}

void Shard::AskNextPage(ConnId c) {
  auto it = catchups_.find(c);
  if (it == catchups_.end()) return;
  CatchUp& cu = it->second;
  const Session& s = Sess(c);
  if (s.gen != cu.gen || (s.flags & kClosingSess)) return;
  if (!PageFits(cu, loop_.QueuedBytes(c), cfg_.max_queue_bytes)) return;
  room::Replica& r = replicas_.At(cu.replica);
  r.joining++;  // held by the request until its answer (OnJoinReply)
  cu.in_flight = true;
  mesh::JoinReq req{r.name,  {c, s.gen},
                    0,       s.kind == SessKind::kSseJoining ? JoinMode::kSse : JoinMode::kWs,
                    cu.last, cu.epoch};
  req.prio_sent_upto = cu.prio_sent_upto;
  SendToOwner(r.name, std::move(req));
}

void Shard::EndCatchUp(ConnId c) {
  auto it = catchups_.find(c);
  if (it == catchups_.end()) return;
  const uint32_t idx = it->second.replica;
  catchups_.erase(it);
  room::Replica& r = replicas_.At(idx);
  if (r.joining > 0) r.joining--;
  replicas_.ReleaseIfUnused(idx);
}

}  // namespace roomcast::server
