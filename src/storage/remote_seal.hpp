// jdc (internal) — the seal of a remote value: a keyed MAC with the team secret
// (format-spec/remote-cache-v1.md §3.3).
//
// Storage layer. A team that sets a secret (JANUS_CACHE_REMOTE_SECRET) seals every
// value it writes: 8 bytes of magic, then a 32-byte BLAKE2b MAC (libsodium's keyed
// crypto_generichash) over the Redis key name, a zero byte and the value, then the
// value. The MAC key is derived from the secret. Readers with the secret accept only
// values whose seal matches their key name, so only holders of the secret can write
// values that are used; readers without one skip the seal (they trust the server as
// before, and the arena is verified and key-checked either way).
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "jdc/error.hpp"

namespace jdc::detail {

inline constexpr std::array<unsigned char, 8> kSealMagic = {'J', 'D', 'C', 'S', 'E', 'A', 'L', '1'};
inline constexpr std::size_t kSealMacBytes = 32;
inline constexpr std::size_t kSealBytes = kSealMagic.size() + kSealMacBytes;  // 40

// The MAC key of a team secret (a secret of at least one byte). Error: io when
// libsodium cannot be initialised.
struct SealKey {
    std::array<unsigned char, 32> bytes{};
};
Result<SealKey> derive_seal_key(std::string_view secret);

// True when `value` starts with the seal magic (and is long enough to hold a seal).
bool is_sealed(std::span<const std::byte> value) noexcept;

// The seal of `value` under `key_name` (kSealBytes bytes, to be sent before the value).
std::array<std::byte, kSealBytes> seal(const SealKey& key, std::string_view key_name, std::span<const std::byte> value);

// Checks the seal of a sealed value (is_sealed) against `key_name` in constant time.
// Error: corrupt (the MAC does not match: another secret, another key, other bytes).
Result<void> check_seal(const SealKey& key, std::string_view key_name, std::span<const std::byte> sealed);

}  // namespace jdc::detail
