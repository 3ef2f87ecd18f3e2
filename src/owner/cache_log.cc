#include "owner/cache_log.h"

#include <charconv>
#include <string_view>

namespace roomcast::owner {

void CacheLog::AppendCopy(room::OwnerRoom* r, const room::SequencedMsg& m, uint64_t target) {
  // A gap placeholder stands for seqs the copy never had (trimmed from the stream, or a malformed
  // event): what came before it is not replayed, so the replayed copy begins after the gap
  // (a resume from before it is told the gap, as from any history that begins late).
  if (m.Lost()) return AppendCopyReset(r);
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
  char tag[20];
  if (m.user_tag != 0) {
    const auto [end, ec] = std::to_chars(tag, tag + sizeof(tag), m.user_tag);
    rec.user = std::string_view(tag, static_cast<size_t>(end - tag));
  }
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
