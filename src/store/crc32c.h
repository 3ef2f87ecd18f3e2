// CRC32C (Castagnoli, reflected polynomial 0x82F63B78): the checksum of every log record.
//
// Crc32c picks the SSE4.2 crc32 instruction when the CPU has it (decided once, at the first call)
// and a slicing-by-8 table walk otherwise. Both apply the standard initial and final xor, so
// checksums chain: Crc32c(b, nb, Crc32c(a, na)) == Crc32c of a followed by b. Any thread may call.
#pragma once

#include <cstddef>
#include <cstdint>

namespace roomcast {

// crc: the checksum of the bytes before these (0 for none). Crc32c("123456789") == 0xE3069283.
[[nodiscard]] uint32_t Crc32c(const void* data, size_t len, uint32_t crc = 0);

// The table path alone (tests compare it with the hardware one).
[[nodiscard]] uint32_t Crc32cSoftware(const void* data, size_t len, uint32_t crc = 0);

// Whether Crc32c uses the crc32 instruction on this CPU.
[[nodiscard]] bool Crc32cHasHardware();

}  // namespace roomcast
