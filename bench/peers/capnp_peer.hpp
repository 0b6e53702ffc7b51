// The Cap'n Proto peer of the jdc arena (schema: dispatch_table.capnp): encode, load,
// fixup and lookup through the generated readers. See peer_common.hpp for what every
// peer provides and shares.
//
// Cap'n Proto verifies lazily: a reader checks the bounds of each pointer when it is
// followed, under the limits of its ReaderOptions (traversal limit: words read, against
// amplification; nesting limit). So "load" is FlatArrayMessageReader + getRoot, the
// checks are paid by whatever is read later (the fixup reads the types, every lookup
// reads entries), and verify() is the only whole-message check Cap'n Proto offers, a
// totalSize() walk over every pointer. A reader that answers lookups for a whole
// compilation must not run out of traversal budget, so Bound's reader has none
// (kj::maxValue): what a long-lived Cap'n Proto reader of trusted size must do.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include <capnp/serialize.h>

#include "dispatch_table.capnp.h"
#include "peer_common.hpp"

namespace jdc::bench {

struct CapnpPeer {
    static constexpr const char* kName = "Capnp";
    using Encoded = kj::Array<capnp::word>;

    // MallocMessageBuilder over the table's fields, then messageToFlatArray (the
    // single contiguous buffer a file holds).
    static Encoded encode(const DispatchTable& table, const TypeRegistry& registry);
    static std::span<const std::uint8_t> bytes(const Encoded& e) {
        auto b = e.asBytes();
        return {b.begin(), b.size()};
    }
    // Reader with the default ReaderOptions (traversal limit 64 MiB, nesting 64) +
    // getRoot + totalSize(): every pointer of the message followed and bounds-checked.
    // `bytes` must be 8-byte aligned.
    static bool verify(std::span<const std::uint8_t> bytes);

    class Bound {
    public:
        Bound() = default;
        Bound(const Bound&) = delete;
        Bound& operator=(const Bound&) = delete;
        // FlatArrayMessageReader + getRoot (+ index checks: every parameter list read and
        // bounds-checked) + fixup (every type read). `bytes` must be 8-byte aligned.
        bool load(std::span<const std::uint8_t> bytes, const TypeRegistry& registry, IndexChecks checks);
        Resolution lookup(std::span<const TypeId> args) const noexcept;

    private:
        std::optional<capnp::FlatArrayMessageReader> reader_;
        capnp_schema::DispatchTable::Reader root_;
        const TypeRegistry* registry_ = nullptr;
        LiveTypes live_;
    };
};

}  // namespace jdc::bench
