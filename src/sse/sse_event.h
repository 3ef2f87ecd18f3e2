// Server-sent events (text/event-stream) as roomcast writes them: one event per JSON object, the
// event name from its "type", the id from its seq. Pure functions, any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace roomcast::sse {

// Appends "id: <id>:<epoch>\n" (when has_id; "id: <id>\n" when epoch is empty), "event:
// <event>\n", "data: <data>\n" and the blank line that ends the event. data must be one line
// (roomcast's JSON never holds a raw newline). The epoch in the id lets a browser's reconnect
// (Last-Event-ID) name the epoch its seq belongs to; JS parseInt() of the id is still the seq.
void AppendEvent(std::string* out, std::string_view event, bool has_id, uint64_t id,
                 std::string_view data, std::string_view epoch = {});

// Appends a comment line (": <text>\n\n"): proxies see traffic, EventSource ignores it.
void AppendComment(std::string* out, std::string_view text);

// The response head that opens a stream (no Content-Length: the stream ends when the connection
// does), the reconnect delay browsers should use, and extra_headers verbatim (CRLF-terminated).
[[nodiscard]] std::string StreamHead(uint32_t retry_ms, std::string_view extra_headers);

// Parses a Last-Event-ID value: a whole decimal number (surrounding spaces allowed).
[[nodiscard]] bool ParseEventId(std::string_view text, uint64_t* id);

// Parses a Last-Event-ID value as the server writes it: SEQ or SEQ:EPOCH (surrounding spaces
// allowed), EPOCH 1..64 letters and digits. *epoch is empty for a plain SEQ and points into text.
[[nodiscard]] bool ParseEventId(std::string_view text, uint64_t* id, std::string_view* epoch);

// An epoch as the server makes them and accepts them from clients: 1..64 letters and digits.
[[nodiscard]] bool IsValidEpoch(std::string_view epoch);

}  // namespace roomcast::sse
