// janusc — a set of modules as bits: "does module m see (import, transitively) module n".
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace janusc {

class ModuleSet {
public:
    explicit ModuleSet(std::size_t modules = 0) : bits_((modules + 63) / 64, 0) {}
    void insert(std::size_t m) { bits_[m / 64] |= std::uint64_t{1} << (m % 64); }
    bool contains(std::size_t m) const { return m / 64 < bits_.size() && ((bits_[m / 64] >> (m % 64)) & 1u) != 0; }
    void merge(const ModuleSet& other) {
        for (std::size_t w = 0; w < bits_.size() && w < other.bits_.size(); ++w) bits_[w] |= other.bits_[w];
    }

private:
    std::vector<std::uint64_t> bits_;
};

}  // namespace janusc
