// The protobuf peer of the jdc arena (schema: dispatch_table.proto): the conventional
// way to keep a table in a file, parsed into message objects before use. Encode,
// parse (protobuf's verification: wire format, field types, UTF-8 of strings), fixup
// and lookup on the parsed objects. See peer_common.hpp for what every peer provides
// and shares.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "dispatch_table.pb.h"
#include "peer_common.hpp"

namespace jdc::bench {

struct PbPeer {
    static constexpr const char* kName = "Pb";
    using Encoded = std::string;

    // Message objects filled from the table's fields, then SerializeToString.
    static Encoded encode(const DispatchTable& table, const TypeRegistry& registry);
    static std::span<const std::uint8_t> bytes(const Encoded& e) {
        return {reinterpret_cast<const std::uint8_t*>(e.data()), e.size()};
    }
    // ParseFromArray into a fresh message, discarded.
    static bool verify(std::span<const std::uint8_t> bytes);

    class Bound {
    public:
        // ParseFromArray (+ index checks) + fixup. The parsed message is owned: the
        // bytes may go once load returns.
        bool load(std::span<const std::uint8_t> bytes, const TypeRegistry& registry, IndexChecks checks);
        Resolution lookup(std::span<const TypeId> args) const noexcept;

    private:
        pb_schema::DispatchTable message_;
        const TypeRegistry* registry_ = nullptr;
        LiveTypes live_;
    };
};

}  // namespace jdc::bench
