// Internal: text that must be UTF-8 (JSON) made from bytes that need not be (paths).
//
// POSIX paths are bytes: a project in a Latin-1 directory has a cache path that is not
// UTF-8, and JSON strings must be. nlohmann::json refuses to dump such a string (it
// throws type_error 316, which aborted janusc and `jdc stats --json`). Every JSON
// document jdc writes therefore replaces what is not UTF-8 with U+FFFD, the
// replacement character: by nlohmann's error_handler_t::replace where a json object is
// dumped, and by to_valid_utf8() where jdc writes JSON text itself (the inputs log),
// with the same result for the same input. A path shown this way is for people; it is
// not a path that can be opened again.
#pragma once

#include <string>
#include <string_view>

namespace jdc::detail {

// True when `text` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates,
// nothing above U+10FFFF).
bool is_valid_utf8(std::string_view text) noexcept;

// `text` with every maximal ill-formed subsequence replaced by U+FFFD ("\xEF\xBF\xBD"),
// as Unicode's "substitution of maximal subparts" recommends and nlohmann::json's
// replace handler does; well-formed text is returned unchanged.
std::string to_valid_utf8(std::string_view text);

}  // namespace jdc::detail
