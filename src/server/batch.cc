#include "batch.h"

namespace roomcast::server {

void EncodeBatch(ws::FrameWriter& writer, std::span<const room::SequencedMsg> msgs,
                 std::string* out) {
  size_t total = 0;
  for (const auto& m : msgs) total += m.json.size() + ws::ServerHeaderSize(m.json.size());
  out->reserve(out->size() + total);
  for (const auto& m : msgs) writer.Append(out, ws::Opcode::kText, m.json);
}

}  // namespace roomcast::server
