// Text from outside (server answers, events, tags) made safe to show: valid UTF-8, bounded in size.
//
// nlohmann::json::dump() throws on invalid UTF-8 and Lambda refuses oversized bodies, so every excerpt
// of a foreign text that goes into a message, a log line or a JSON document passes through here.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace rcc {

// The length of the valid UTF-8 sequence starting at text[i] (1 for ASCII, 2 to 4 otherwise), or 0 when
// the lead byte or one of its continuation bytes is invalid (overlong forms, UTF-16 surrogates and code
// points above U+10FFFF are invalid). Requires i < text.size().
std::size_t utf8_sequence_length(std::string_view text, std::size_t i);

// `text` with every invalid UTF-8 byte replaced by U+FFFD.
std::string valid_utf8(std::string_view text);

// At most `max_bytes` bytes of valid_utf8(text), cut on a character boundary; when text was cut, the
// excerpt ends with "...(N bytes)" naming the full size (which may exceed max_bytes by that suffix).
std::string utf8_excerpt(std::string_view text, std::size_t max_bytes);

// The size excerpts of foreign text in error messages and logs are cut to.
inline constexpr std::size_t kExcerptBytes = 200;

// json.dump() that never throws on invalid UTF-8 in a string (such bytes become U+FFFD): compact, or
// indented by `indent` spaces when indent >= 0.
std::string dump_json(const nlohmann::json& json, int indent = -1);

}  // namespace rcc
