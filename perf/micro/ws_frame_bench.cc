// WebSocket framing through wslay: FrameWriter::Append builds one unmasked server text frame (what
// every batch is made of); FrameReader::Parse turns a receive buffer holding 64 masked 100-byte
// client frames into frames, as one large receive completion would.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ws/ws_frame.h"

namespace roomcast::ws {
namespace {

void BM_FrameWriterAppendText(benchmark::State& state) {
  const std::string payload(static_cast<size_t>(state.range(0)), 'x');
  FrameWriter writer;
  std::string out;
  out.reserve(payload.size() + 16);
  for (auto _ : state) {
    out.clear();  // keeps its capacity: the cost measured is framing, not allocation
    writer.Append(&out, Opcode::kText, payload);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  if (out.size() != payload.size() + ServerHeaderSize(payload.size())) {
    state.SkipWithError("unexpected frame size");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * payload.size()));
}
BENCHMARK(BM_FrameWriterAppendText)->Arg(100)->Arg(1000);

// A masked, final client text frame with a payload shorter than 126 bytes (RFC 6455 5.2).
void AppendMaskedClientFrame(std::vector<uint8_t>* buf, std::string_view payload, uint32_t key) {
  const uint8_t mask[4] = {static_cast<uint8_t>(key >> 24), static_cast<uint8_t>(key >> 16),
                           static_cast<uint8_t>(key >> 8), static_cast<uint8_t>(key)};
  buf->push_back(0x81);  // FIN, text
  buf->push_back(static_cast<uint8_t>(0x80 | payload.size()));
  buf->insert(buf->end(), mask, mask + 4);
  for (size_t i = 0; i < payload.size(); ++i) {
    buf->push_back(static_cast<uint8_t>(payload[i]) ^ mask[i % 4]);
  }
}

class CountingSink final : public FrameSink {
 public:
  bool OnFrame(const Frame& frame) override {
    ++frames;
    payload_bytes += frame.payload.size();
    checksum += static_cast<uint8_t>(frame.payload.back());
    return true;
  }
  uint64_t frames = 0;
  uint64_t payload_bytes = 0;
  uint64_t checksum = 0;
};

void BM_FrameReaderParse64x100(benchmark::State& state) {
  constexpr size_t kFrames = 64;
  constexpr size_t kPayload = 100;
  std::vector<uint8_t> buf;
  for (size_t i = 0; i < kFrames; ++i) {
    // A client "send" op (shared/PROTOCOL.md), padded to exactly kPayload bytes.
    std::string text = R"({"op":"send","cid":"c-)" + std::to_string(i) + R"(","text":")";
    text.resize(kPayload - 2, 'y');
    text += "\"}";
    AppendMaskedClientFrame(&buf, text, 0x9e3779b9u * static_cast<uint32_t>(i + 1));
  }
  FrameReader reader(65536);
  CountingSink sink;
  bool ok = true;
  for (auto _ : state) {
    const ParseResult r = reader.Parse(buf, sink);
    ok &= (r.consumed == buf.size() && r.error == CloseCode::kNone);
    benchmark::DoNotOptimize(sink.checksum);
  }
  if (!ok || sink.frames != kFrames * state.iterations() ||
      sink.payload_bytes != kFrames * kPayload * state.iterations()) {
    state.SkipWithError("the frames did not parse as expected");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kFrames));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * buf.size()));
}
BENCHMARK(BM_FrameReaderParse64x100);

}  // namespace
}  // namespace roomcast::ws
