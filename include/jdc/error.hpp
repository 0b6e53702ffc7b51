// jdc — the one error type of the library.
//
// Every fallible function returns `jdc::Result<T>` (tl::expected). The code says
// what kind of failure it is, so callers can branch on it (is_damage() below: the
// store drops such an entry, the cache layer counts it as a corrupt miss); the
// message says why, for a person, and names the offending offset or value.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

#include "jdc/export.hpp"

namespace jdc {

enum class ErrorCode {
    invalid_argument,     // caller passed something the API cannot accept
    bad_magic,            // the bytes are not a jdc arena at all
    unsupported_version,  // another format major version, or features (flags, codec,
                          // required sections) this reader does not have
    truncated,            // shorter than its header or its sections say
    corrupt,              // structurally invalid: bad offset, count, index, cycle
    checksum_mismatch,    // structurally fine but the bytes changed since writing
    limit_exceeded,       // larger or deeper than the configured verify limits
    stale,                // valid arena, but built against different type definitions
    not_found,            // file or entry does not exist
    io,                   // the operating system refused (open, read, mmap, ...)
    timeout,              // a remote server did not answer within the configured time
    protocol,             // a remote server broke the protocol: a reply the request cannot
                          // produce (wrong type, longer than asked for, malformed); the
                          // server is misbehaving or is not what it claims to be
};

JDC_API std::string_view to_string(ErrorCode code) noexcept;

// Damage: the bytes themselves are wrong (not an arena, cut short, structurally
// invalid, changed since they were written), so every reader would reject them the
// same way. Only damage is a reason to delete a shared cache entry or count it as
// corrupt; a reader's own limits (limit_exceeded), a newer format
// (unsupported_version), a binding to other types (stale) or a failed system call
// (io, not_found, timeout) say nothing against the bytes.
constexpr bool is_damage(ErrorCode code) noexcept {
    return code == ErrorCode::bad_magic || code == ErrorCode::truncated || code == ErrorCode::corrupt ||
           code == ErrorCode::checksum_mismatch;
}

struct Error {
    ErrorCode code;
    std::string message;

    Error(ErrorCode c, std::string m) : code(c), message(std::move(m)) {}
};

template <class T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> make_error(ErrorCode code, std::string message) {
    return tl::unexpected<Error>(Error{code, std::move(message)});
}

}  // namespace jdc
