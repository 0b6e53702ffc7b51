#include "storage/remote_seal.hpp"

#include <algorithm>
#include <cstring>

#include <sodium.h>

namespace jdc::detail {
namespace {

// The MAC key's own key: the derivation is BLAKE2b-256 keyed with this label over the
// secret, so a secret used elsewhere does not give the same key.
constexpr std::string_view kDerivationLabel = "jdc remote cache seal key, v1";  // 29 bytes

std::array<unsigned char, kSealMacBytes> mac_of(const SealKey& key, std::string_view key_name, std::span<const std::byte> value) {
    crypto_generichash_state state;
    crypto_generichash_init(&state, key.bytes.data(), key.bytes.size(), kSealMacBytes);
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(key_name.data()), key_name.size());
    const unsigned char zero = 0;
    crypto_generichash_update(&state, &zero, 1);
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(value.data()), value.size());
    std::array<unsigned char, kSealMacBytes> mac{};
    crypto_generichash_final(&state, mac.data(), mac.size());
    return mac;
}

}  // namespace

Result<SealKey> derive_seal_key(std::string_view secret) {
    if (sodium_init() < 0) return make_error(ErrorCode::io, "cannot initialise libsodium");
    if (secret.empty()) return make_error(ErrorCode::invalid_argument, "the team secret is empty");
    SealKey key;
    crypto_generichash(key.bytes.data(), key.bytes.size(), reinterpret_cast<const unsigned char*>(secret.data()), secret.size(),
                       reinterpret_cast<const unsigned char*>(kDerivationLabel.data()), kDerivationLabel.size());
    return key;
}

bool is_sealed(std::span<const std::byte> value) noexcept {
    return value.size() >= kSealBytes && std::memcmp(value.data(), kSealMagic.data(), kSealMagic.size()) == 0;
}

std::array<std::byte, kSealBytes> seal(const SealKey& key, std::string_view key_name, std::span<const std::byte> value) {
    std::array<std::byte, kSealBytes> out{};
    std::memcpy(out.data(), kSealMagic.data(), kSealMagic.size());
    const auto mac = mac_of(key, key_name, value);
    std::memcpy(out.data() + kSealMagic.size(), mac.data(), mac.size());
    return out;
}

Result<void> check_seal(const SealKey& key, std::string_view key_name, std::span<const std::byte> sealed) {
    const auto mac = mac_of(key, key_name, sealed.subspan(kSealBytes));
    if (crypto_verify_32(reinterpret_cast<const unsigned char*>(sealed.data()) + kSealMagic.size(), mac.data()) != 0)
        return make_error(ErrorCode::corrupt, "its seal does not match (written without the team secret, or changed since)");
    return {};
}

}  // namespace jdc::detail
