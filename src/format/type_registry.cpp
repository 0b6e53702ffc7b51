#include "jdc/type_registry.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "util/hash_stream.hpp"

namespace jdc {

std::uint64_t structural_hash(std::string_view name, TypeKind kind, std::span<const std::uint64_t> supertype_hashes) noexcept {
    detail::HashStream h;
    h.str(name);
    h.u8(static_cast<std::uint8_t>(kind));
    h.u32(static_cast<std::uint32_t>(supertype_hashes.size()));
    for (std::uint64_t s : supertype_hashes) h.u64(s);
    return h.digest();
}

// Domains by root id. Readers take the fast path, two acquire loads; the first reader
// of a root builds its domain under the mutex and publishes it. The slot array is
// sized once per registry size: add() (never concurrent with domain(), by contract)
// clears the cache.
struct TypeRegistry::DomainCache {
    std::mutex mutex;
    std::atomic<std::size_t> slot_count{0};
    std::atomic<std::atomic<const TypeDomain*>*> slots{nullptr};
    std::unique_ptr<std::atomic<const TypeDomain*>[]> slot_storage;
    std::vector<std::unique_ptr<TypeDomain>> owned;
    std::unique_ptr<TypeDomain> empty;

    void clear() {
        slot_count.store(0, std::memory_order_relaxed);
        slots.store(nullptr, std::memory_order_relaxed);
        slot_storage.reset();
        owned.clear();
    }
};

TypeRegistry::TypeRegistry(const TypeRegistry& other)
    : types_(other.types_),
      ancestor_bits_(other.ancestor_bits_),
      row_offset_(other.row_offset_),
      subtypes_(other.subtypes_),
      by_name_(other.by_name_),
      by_hash_(other.by_hash_),
      domains_(std::make_unique<DomainCache>()) {}

TypeRegistry& TypeRegistry::operator=(const TypeRegistry& other) {
    if (this != &other) {
        TypeRegistry copy(other);
        *this = std::move(copy);
    }
    return *this;
}

TypeRegistry::TypeRegistry(TypeRegistry&&) noexcept = default;
TypeRegistry& TypeRegistry::operator=(TypeRegistry&&) noexcept = default;
TypeRegistry::~TypeRegistry() = default;

const TypeDomain& TypeRegistry::domain(TypeId id) const {
    if (!domains_) domains_ = std::make_unique<DomainCache>();  // a moved-from registry, reused
    DomainCache& cache = *domains_;
    if (id < cache.slot_count.load(std::memory_order_acquire))
        if (const TypeDomain* d = cache.slots.load(std::memory_order_acquire)[id].load(std::memory_order_acquire)) return *d;
    if (find(id) == nullptr) {
        std::lock_guard<std::mutex> guard(cache.mutex);
        if (!cache.empty) cache.empty = std::make_unique<TypeDomain>(*this, kInvalidType);
        return *cache.empty;
    }
    // Built before taking the lock: threads that meet new roots build their domains
    // at the same time (a large project's first build has thousands); when two build
    // the same root, the second one's is dropped.
    auto built = std::make_unique<TypeDomain>(*this, id);
    std::lock_guard<std::mutex> guard(cache.mutex);
    if (cache.slot_count.load(std::memory_order_relaxed) != types_.size()) {
        cache.slot_storage = std::make_unique<std::atomic<const TypeDomain*>[]>(types_.size());
        for (std::size_t i = 0; i < types_.size(); ++i) cache.slot_storage[i].store(nullptr, std::memory_order_relaxed);
        cache.slots.store(cache.slot_storage.get(), std::memory_order_release);
        cache.slot_count.store(types_.size(), std::memory_order_release);
    }
    std::atomic<const TypeDomain*>& slot = cache.slot_storage[id];
    if (const TypeDomain* d = slot.load(std::memory_order_acquire)) return *d;
    cache.owned.push_back(std::move(built));
    slot.store(cache.owned.back().get(), std::memory_order_release);
    return *cache.owned.back();
}

TypeRegistry::TypeRegistry() : domains_(std::make_unique<DomainCache>()) {
    types_.emplace_back();  // id 0: invalid
    row_offset_.push_back(0);
    for (const char* name : {"i32", "f64", "bool", "string"}) {
        // Built-ins cannot fail: fresh names, no supertypes.
        (void)add(name, TypeKind::primitive);
    }
}

Result<TypeId> TypeRegistry::add(std::string_view name, TypeKind kind, std::span<const TypeId> supertypes) {
    if (name.empty()) return make_error(ErrorCode::invalid_argument, "type name must not be empty");
    if (static_cast<std::uint8_t>(kind) >= kTypeKindCount)
        return make_error(ErrorCode::invalid_argument, "type '" + std::string(name) + "': unknown kind");
    if (by_name_.contains(name))
        return make_error(ErrorCode::invalid_argument, "type '" + std::string(name) + "' is already registered");
    std::vector<std::uint64_t> super_hashes;
    std::uint32_t depth = 0;
    for (TypeId s : supertypes) {
        if (find(s) == nullptr)
            return make_error(ErrorCode::invalid_argument, "type '" + std::string(name) + "': supertype id " +
                                                               std::to_string(s) + " is not registered");
        if (std::count(supertypes.begin(), supertypes.end(), s) > 1)
            return make_error(ErrorCode::invalid_argument,
                              "type '" + std::string(name) + "': supertype '" + types_[s].name + "' listed twice");
        super_hashes.push_back(types_[s].structural_hash);
        depth = std::max(depth, types_[s].depth + 1);
    }
    const auto id = static_cast<TypeId>(types_.size());
    Type t;
    t.id = id;
    t.name = std::string(name);
    t.kind = kind;
    t.supertypes.assign(supertypes.begin(), supertypes.end());
    t.structural_hash = structural_hash(name, kind, super_hashes);
    t.depth = depth;
    if (by_hash_.contains(t.structural_hash))
        return make_error(ErrorCode::invalid_argument,
                          "type '" + t.name + "': structural hash collides with type '" +
                              types_[by_hash_.at(t.structural_hash)].name + "'");

    // Ancestor bit row: self, plus the union of the supertypes' rows (their ids are
    // smaller, so their rows are prefixes of this one).
    const std::size_t words = id / 64 + 1;
    const std::size_t offset = ancestor_bits_.size();
    ancestor_bits_.resize(offset + words, 0);
    for (TypeId s : supertypes) {
        const std::size_t s_words = s / 64 + 1;
        for (std::size_t w = 0; w < s_words; ++w) ancestor_bits_[offset + w] |= ancestor_bits_[row_offset_[s] + w];
    }
    ancestor_bits_[offset + id / 64] |= std::uint64_t{1} << (id % 64);
    row_offset_.push_back(offset);

    by_name_.emplace(t.name, id);
    by_hash_.emplace(t.structural_hash, id);
    subtypes_.resize(id + 1);
    for (TypeId s : supertypes) subtypes_[s].push_back(id);
    types_.push_back(std::move(t));
    if (domains_) domains_->clear();  // the new type joins the domains of its supertypes
    return id;
}

TypeId TypeRegistry::find(std::string_view name) const noexcept {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? kInvalidType : it->second;
}

TypeId TypeRegistry::find_by_structural_hash(std::uint64_t hash) const noexcept {
    auto it = by_hash_.find(hash);
    return it == by_hash_.end() ? kInvalidType : it->second;
}

bool TypeRegistry::is_subtype_by_walk(TypeId sub, TypeId super) const {
    if (find(sub) == nullptr || find(super) == nullptr) return false;
    std::vector<TypeId> stack{sub};
    std::vector<bool> seen(types_.size(), false);
    while (!stack.empty()) {
        TypeId t = stack.back();
        stack.pop_back();
        if (t == super) return true;
        if (seen[t]) continue;
        seen[t] = true;
        for (TypeId s : types_[t].supertypes) stack.push_back(s);
    }
    return false;
}

std::uint64_t TypeRegistry::fingerprint() const noexcept {
    detail::HashStream h;
    for (const Type& t : types()) h.u64(t.structural_hash);
    return h.digest();
}

}  // namespace jdc
