// The FlatBuffers peer of the jdc arena (schema: dispatch_table.fbs): encode, verify
// (flatbuffers::Verifier), fixup and lookup through the generated accessors. See
// peer_common.hpp for what every peer provides and shares.
#pragma once

#include <cstdint>
#include <span>

#include <flatbuffers/flatbuffers.h>

#include "peer_common.hpp"

namespace jdc::bench {

namespace fb { struct DispatchTable; }

struct FbPeer {
    static constexpr const char* kName = "Fb";
    using Encoded = flatbuffers::DetachedBuffer;

    // FlatBufferBuilder over the table's fields; plain CreateString (see fb_peer.cpp).
    static Encoded encode(const DispatchTable& table, const TypeRegistry& registry);
    static std::span<const std::uint8_t> bytes(const Encoded& e) { return {e.data(), e.size()}; }
    // flatbuffers::Verifier over the whole buffer (every offset, vector and string).
    static bool verify(std::span<const std::uint8_t> bytes);
    // The root's entry count, read in place (what a reader touches first after verifying).
    static std::uint32_t root_entries(std::span<const std::uint8_t> bytes);

    class Bound {
    public:
        // Verifier + GetRoot (+ index checks) + fixup.
        bool load(std::span<const std::uint8_t> bytes, const TypeRegistry& registry, IndexChecks checks);
        Resolution lookup(std::span<const TypeId> args) const noexcept;

    private:
        const fb::DispatchTable* root_ = nullptr;
        const TypeRegistry* registry_ = nullptr;
        LiveTypes live_;
    };
};

}  // namespace jdc::bench
