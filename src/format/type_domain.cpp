#include "jdc/type_domain.hpp"

#include <algorithm>

#include "jdc/type_registry.hpp"
#include "util/hash_stream.hpp"

namespace jdc {

std::uint64_t domain_digest(std::span<const std::uint64_t> ascending_member_hashes) noexcept {
    detail::HashStream h;
    h.str("jdc type domain");
    h.u32(static_cast<std::uint32_t>(ascending_member_hashes.size()));
    for (std::uint64_t x : ascending_member_hashes) h.u64(x);
    return h.digest();
}

TypeDomain::TypeDomain(const TypeRegistry& registry, TypeId root) : root_(root) {
    std::vector<std::pair<std::uint64_t, TypeId>> by_hash;
    if (registry.find(root) != nullptr) {
        // Down the direct-subtype edges from the root: work proportional to the domain,
        // not to the registry. Diamonds reach a type twice; the mark keeps it once.
        std::vector<bool> seen(registry.size() + 1, false);
        std::vector<TypeId> pending{root};
        seen[root] = true;
        while (!pending.empty()) {
            const TypeId id = pending.back();
            pending.pop_back();
            by_hash.emplace_back(registry.find(id)->structural_hash, id);
            for (TypeId sub : registry.direct_subtypes(id))
                if (!seen[sub]) {
                    seen[sub] = true;
                    pending.push_back(sub);
                }
        }
    }
    // Structural hashes are unique within a registry (TypeRegistry::add refuses a
    // collision), so the order is total.
    std::sort(by_hash.begin(), by_hash.end());
    std::vector<std::uint64_t> hashes;
    hashes.reserve(by_hash.size());
    members_.reserve(by_hash.size());
    TypeId highest = 0;
    for (const auto& [hash, id] : by_hash) {
        hashes.push_back(hash);
        members_.push_back(id);
        highest = std::max(highest, id);
    }
    digest_ = domain_digest(hashes);
    if (members_.empty()) return;
    id_base_ = root;
    id_span_ = highest - root + 1;
    rank_by_id_ = std::make_unique<std::uint32_t[]>(id_span_);
    std::fill_n(rank_by_id_.get(), id_span_, kNotInDomain);
    for (std::uint32_t rank = 0; rank < members_.size(); ++rank) rank_by_id_[members_[rank] - id_base_] = rank;
}

}  // namespace jdc
