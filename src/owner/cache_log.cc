#include "owner/cache_log.h"

#include <string>

namespace roomcast::owner {

void CacheLog::AppendCopy(room::OwnerRoom* r, const room::SequencedMsg& m, uint64_t target) {
  // A gap placeholder stands for seqs the copy never had: a replay finds the same hole.
  if (m.Lost()) return;
  store::Record rec;
  rec.seq = m.seq;
  rec.target = m.Retract() ? target : 0;
  rec.ts_ms = m.ts_ms;
  rec.flags = static_cast<uint8_t>((m.Prio() ? store::kRecPrio : 0) |
                                   (m.Retract() ? store::kRecRetract : 0));
  rec.room = r->Name();
  rec.epoch = r->Epoch();
  // The sender's tag (a ban hides the user's recent messages), in decimal: Redis's events carry
  // no user id.
  const std::string tag = m.user_tag != 0 ? std::to_string(m.user_tag) : std::string();
  rec.user = tag;
  rec.json = m.json;
  log_->AppendRecord(rec);
}

void CacheLog::AppendCopyReset(room::OwnerRoom* r) {
  store::Record rec;
  rec.flags = store::kRecControl;
  rec.room = r->Name();
  rec.epoch = r->Epoch();
  rec.json = R"({"reset":true})";
  log_->AppendRecord(rec);
}

}  // namespace roomcast::owner
