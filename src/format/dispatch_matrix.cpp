#include "jdc/dispatch_matrix.hpp"

#include <algorithm>
#include <bit>
#include <limits>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>

namespace jdc {
namespace {

bool test_bit(const std::uint64_t* w, std::uint32_t i) noexcept { return ((w[i / 64] >> (i % 64)) & 1u) != 0; }
void set_bit(std::uint64_t* w, std::uint32_t i) noexcept { w[i / 64] |= std::uint64_t{1} << (i % 64); }

std::uint64_t saturating_mul(std::uint64_t a, std::uint64_t b) noexcept {
    if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) return std::numeric_limits<std::uint64_t>::max();
    return a * b;
}

std::uint64_t hash_words(const std::uint64_t* w, std::size_t words) noexcept {
    std::uint64_t h = 0x9E3779B97F4A7C15ull;
    for (std::size_t i = 0; i < words; ++i) h = (h ^ w[i]) * 0xBF58476D1CE4E5B9ull, h ^= h >> 29;
    return h;
}

// The poles of one position: distinct sets of methods (`words` bit words each, end to
// end, numbered from 0 in the order they were added) and an open-addressing index of
// them by hash. No allocation per set or per member.
class PoleSets {
public:
    explicit PoleSets(std::size_t words) : words_(words), slots_(64, 0) {}

    std::uint32_t count() const noexcept { return static_cast<std::uint32_t>(hashes_.size()); }
    const std::uint64_t* set(std::uint32_t pole) const noexcept { return sets_.data() + std::size_t{pole} * words_; }

    // The 0-based pole of `set`, added when new.
    std::uint32_t find_or_add(const std::uint64_t* set) {
        if (words_ == 1) return find_or_add_word(*set);
        const std::uint64_t h = hash_words(set, words_);
        for (std::size_t i = h & (slots_.size() - 1);; i = (i + 1) & (slots_.size() - 1)) {
            const std::uint32_t at = slots_[i];
            if (at == 0) break;
            if (hashes_[at - 1] == h && same(set, this->set(at - 1))) return at - 1;
        }
        return add(set, h);
    }

    // The same for a one-word set (up to 64 methods), inline: the common case.
    std::uint32_t find_or_add_word(std::uint64_t set) {
        const std::uint64_t h = hash_words(&set, 1);
        for (std::size_t i = h & (slots_.size() - 1);; i = (i + 1) & (slots_.size() - 1)) {
            const std::uint32_t at = slots_[i];
            if (at == 0) break;
            if (sets_[at - 1] == set) return at - 1;
        }
        return add(&set, h);
    }

private:
    std::uint32_t add(const std::uint64_t* set, std::uint64_t h) {
        hashes_.push_back(h);
        sets_.insert(sets_.end(), set, set + words_);
        if (2 * hashes_.size() > slots_.size()) {  // keep the index at most half full
            slots_.assign(2 * slots_.size(), 0);
            for (std::uint32_t pole = 0; pole < count(); ++pole) place(pole);
        } else {
            place(count() - 1);
        }
        return count() - 1;
    }
    bool same(const std::uint64_t* a, const std::uint64_t* b) const noexcept {
        for (std::size_t w = 0; w < words_; ++w)
            if (a[w] != b[w]) return false;
        return true;
    }
    void place(std::uint32_t pole) {
        std::size_t i = hashes_[pole] & (slots_.size() - 1);
        while (slots_[i] != 0) i = (i + 1) & (slots_.size() - 1);
        slots_[i] = pole + 1;
    }

    std::size_t words_;
    std::vector<std::uint64_t> sets_;
    std::vector<std::uint64_t> hashes_;
    std::vector<std::uint32_t> slots_;  // pole + 1; 0: empty
};

// Up to this many distinct parameter types at a position, a member's set is found by
// testing it against each; above, from its supertypes' sets (fill_sets_from_supertypes).
constexpr std::size_t kTestedKinds = 8;

// The set of methods accepting each member of `universe` (by rank, `words` words each,
// into `out`): the methods whose parameter type is the member itself (masks[a] for
// accepted[a]), and those accepting a direct supertype of it in the universe (a
// supertype outside it is no subtype of any parameter type, which lies inside it).
// Supertypes before subtypes, by a depth-first walk with an explicit stack (hierarchies
// may be deep); a diamond's top is computed once.
void fill_sets_from_supertypes(const TypeRegistry& registry, const TypeDomain& universe, std::span<const TypeId> accepted,
                               std::span<const std::uint64_t> masks, std::size_t words, std::vector<std::uint64_t>& out) {
    const std::uint32_t size = universe.size();
    out.assign(std::size_t{size} * words, 0);
    for (std::size_t a = 0; a < accepted.size(); ++a) {
        const std::uint32_t rank = universe.rank_of(accepted[a]);
        for (std::size_t w = 0; w < words; ++w) out[std::size_t{rank} * words + w] |= masks[a * words + w];
    }
    std::vector<std::uint8_t> done(size, 0);
    std::vector<std::uint32_t> stack;
    for (std::uint32_t first = 0; first < size; ++first) {
        if (done[first]) continue;
        stack.push_back(first);
        while (!stack.empty()) {
            const std::uint32_t rank = stack.back();
            if (done[rank]) {  // reached again through another subtype meanwhile
                stack.pop_back();
                continue;
            }
            const std::vector<TypeId>& supertypes = registry.find(universe.member(rank))->supertypes;
            bool waiting = false;
            for (TypeId s : supertypes)
                if (const std::uint32_t r = universe.rank_of(s); r != kNotInDomain && !done[r]) {
                    stack.push_back(r);
                    waiting = true;
                }
            if (waiting) continue;
            for (TypeId s : supertypes)
                if (const std::uint32_t r = universe.rank_of(s); r != kNotInDomain)
                    for (std::size_t w = 0; w < words; ++w) out[std::size_t{rank} * words + w] |= out[std::size_t{r} * words + w];
            done[rank] = 1;
            stack.pop_back();
        }
    }
}

}  // namespace

Result<DispatchMatrix> DispatchMatrix::build(const DispatchTable& table, const TypeRegistry& registry, const MatrixLimits& limits) {
    if (auto ok = validate(table, registry); !ok) return tl::unexpected(ok.error());
    const auto arity = static_cast<std::uint32_t>(table.arity());
    const auto n = static_cast<std::uint32_t>(table.implementations.size());
    const std::size_t words = (n + 63) / 64;

    Parts p;
    p.arity = arity;
    p.method_count = n;
    std::vector<const TypeDomain*> domains(arity);

    // Per position: group the universe by applicable set. Method m accepts member u
    // when u is a subtype of m's parameter type there; methods sharing a parameter type
    // are tested once (their bits as one mask). One bit test per member and distinct
    // parameter type: no domain of the methods' types is needed, and no set is kept
    // but the poles'.
    std::vector<PoleSets> poles;
    poles.reserve(arity);
    p.pole_of.resize(arity);
    p.pole_count.assign(arity, 0);
    p.domain_digest.assign(arity, 0);
    std::vector<std::pair<TypeId, std::uint32_t>> by_type(n);  // (parameter type, method)
    std::vector<TypeId> accepted;                              // distinct parameter types here
    std::vector<std::uint64_t> masks;                          // their methods, `words` each
    std::vector<std::uint64_t> set(words);
    std::vector<std::uint64_t> sets_by_rank;  // many parameter types: every member's set
    for (std::uint32_t pos = 0; pos < arity; ++pos) {
        const TypeDomain& universe = registry.domain(table.signature.parameter_types[pos]);
        domains[pos] = &universe;
        p.domain_digest[pos] = universe.digest();
        for (std::uint32_t m = 0; m < n; ++m) by_type[m] = {table.implementations[m].parameter_types[pos], m};
        std::sort(by_type.begin(), by_type.end());
        accepted.clear();
        masks.clear();
        for (std::uint32_t i = 0; i < n; ++i) {
            if (i == 0 || by_type[i].first != by_type[i - 1].first) {
                accepted.push_back(by_type[i].first);
                masks.resize(masks.size() + words, 0);
            }
            set_bit(masks.data() + masks.size() - words, by_type[i].second);
        }
        // Poles in the order of their first member's rank: canonical, whatever the ids.
        PoleSets& sets = poles.emplace_back(words);
        std::vector<std::uint32_t>& pole_of = p.pole_of[pos];
        pole_of.resize(universe.size());
        const std::size_t kinds = accepted.size();
        if (kinds > kTestedKinds) {
            // Many parameter types (a long tail): a member's set is its own methods and
            // its direct supertypes' sets, computed supertypes first: O(members x
            // direct supertypes), whatever the number of methods.
            fill_sets_from_supertypes(registry, universe, accepted, masks, words, sets_by_rank);
            for (std::uint32_t rank = 0; rank < universe.size(); ++rank)
                pole_of[rank] = sets.find_or_add(sets_by_rank.data() + std::size_t{rank} * words) + 1;
        } else if (words == 1) {
            // A few parameter types: a bit test each. A supertype has a smaller id
            // than its subtypes, so a member is tested against those up to its own id
            // (`accepted` is ascending).
            for (std::uint32_t rank = 0; rank < universe.size(); ++rank) {
                const TypeId member = universe.member(rank);
                std::uint64_t accepting = 0;
                for (std::size_t a = 0; a < kinds && accepted[a] <= member; ++a)
                    if (registry.is_subtype(member, accepted[a])) accepting |= masks[a];
                pole_of[rank] = sets.find_or_add_word(accepting) + 1;
            }
        } else {
            for (std::uint32_t rank = 0; rank < universe.size(); ++rank) {
                const TypeId member = universe.member(rank);
                std::fill(set.begin(), set.end(), 0);
                for (std::size_t a = 0; a < kinds && accepted[a] <= member; ++a)
                    if (registry.is_subtype(member, accepted[a]))
                        for (std::size_t w = 0; w < words; ++w) set[w] |= masks[a * words + w];
                pole_of[rank] = sets.find_or_add(set.data()) + 1;
            }
        }
        p.pole_count[pos] = sets.count();
    }
    std::vector<std::uint64_t> applicable(words);

    std::uint64_t cells = 1;
    for (std::uint32_t c : p.pole_count) cells = saturating_mul(cells, c);
    if (cells > limits.max_cells)
        return make_error(ErrorCode::limit_exceeded, "dispatch table '" + table.signature_name + "' has " + std::to_string(cells) +
                                                         " pole tuples; the matrix limit is " + std::to_string(limits.max_cells));

    // at_least[a] holds b when a is pointwise a subtype-or-equal of b; strictly[a]
    // holds b when additionally b is not of a (a is strictly more specific).
    std::vector<std::uint64_t> at_least(std::size_t{n} * words, 0);
    for (std::uint32_t a = 0; a < n; ++a)
        for (std::uint32_t b = 0; b < n; ++b) {
            bool le = true;
            for (std::uint32_t pos = 0; pos < arity && le; ++pos)
                le = registry.is_subtype(table.implementations[a].parameter_types[pos], table.implementations[b].parameter_types[pos]);
            if (le) set_bit(&at_least[std::size_t{a} * words], b);
        }
    auto strictly = [&](std::uint32_t a, std::uint32_t b) {
        return test_bit(&at_least[std::size_t{a} * words], b) && !test_bit(&at_least[std::size_t{b} * words], a);
    };

    std::unordered_map<std::uint64_t, std::uint32_t> ambiguity_index;
    p.cells.assign(cells, kResultNoMethod);
    std::vector<std::uint32_t> tuple(arity, 0);
    for (std::uint64_t cell = 0; cell < cells; ++cell) {
        // Applicable methods of this pole tuple: the intersection of its positions'
        // sets (every method when the function takes no arguments).
        std::fill(applicable.begin(), applicable.end(), ~std::uint64_t{0});
        if (n % 64 != 0) applicable.back() = (std::uint64_t{1} << (n % 64)) - 1;
        for (std::uint32_t pos = 0; pos < arity; ++pos)
            for (std::size_t w = 0; w < words; ++w) applicable[w] &= poles[pos].set(tuple[pos])[w];
        // Tournament (as in BoundArena::lookup): a unique most specific method beats
        // every other, so it ends up as `best`; then confirm against all of them.
        std::uint32_t best = n;
        for (std::size_t w = 0; w < words; ++w)
            for (std::uint64_t bits = applicable[w]; bits != 0; bits &= bits - 1) {
                const auto m = static_cast<std::uint32_t>(w * 64 + std::countr_zero(bits));
                if (best == n || strictly(m, best)) best = m;
            }
        ResultCode code = kResultNoMethod;
        if (best != n) {
            code = best + 1;
            for (std::size_t w = 0; w < words && code == best + 1; ++w)
                for (std::uint64_t bits = applicable[w]; bits != 0; bits &= bits - 1) {
                    const auto m = static_cast<std::uint32_t>(w * 64 + std::countr_zero(bits));
                    if (m == best || strictly(best, m)) continue;
                    const AmbiguityPair pair{std::min(best, m), std::max(best, m)};
                    const std::uint64_t k = (std::uint64_t{pair.first} << 32) | pair.second;
                    auto [it, inserted] = ambiguity_index.try_emplace(k, static_cast<std::uint32_t>(p.ambiguities.size()));
                    if (inserted) p.ambiguities.push_back(pair);
                    code = kResultAmbiguousBit | it->second;
                    break;
                }
        }
        p.cells[cell] = code;
        for (std::uint32_t pos = arity; pos-- > 0;) {  // odometer, last position fastest
            if (++tuple[pos] < p.pole_count[pos]) break;
            tuple[pos] = 0;
        }
    }
    return DispatchMatrix(std::move(p), std::move(domains));
}

Result<DispatchMatrix> DispatchMatrix::from_parts(Parts parts) {
    auto bad = [](const std::string& what) { return make_error(ErrorCode::corrupt, "dispatch matrix: " + what); };
    if (parts.pole_of.size() != parts.arity || parts.pole_count.size() != parts.arity || parts.domain_digest.size() != parts.arity)
        return bad("position count differs from arity");
    std::uint64_t cells = 1;
    for (std::uint32_t pos = 0; pos < parts.arity; ++pos) {
        for (std::uint32_t pole : parts.pole_of[pos])
            if (pole == 0 || pole > parts.pole_count[pos])
                return bad("pole " + std::to_string(pole) + " at position " + std::to_string(pos) + " is over its count " +
                           std::to_string(parts.pole_count[pos]));
        cells = saturating_mul(cells, parts.pole_count[pos]);
    }
    if (cells != parts.cells.size()) return bad(std::to_string(parts.cells.size()) + " cells, expected " + std::to_string(cells));
    for (const AmbiguityPair& a : parts.ambiguities)
        if (a.first >= a.second || a.second >= parts.method_count) return bad("ambiguity witnesses out of range");
    for (ResultCode c : parts.cells) {
        if ((c & kResultAmbiguousBit) != 0 ? (c & ~kResultAmbiguousBit) >= parts.ambiguities.size() : c > parts.method_count)
            return bad("result code " + std::to_string(c) + " out of range");
    }
    return DispatchMatrix(std::move(parts), {});
}

Result<DispatchMatrix> DispatchMatrix::renumbered(std::span<const std::uint32_t> new_index) const {
    if (new_index.size() != p_.method_count)
        return make_error(ErrorCode::invalid_argument, "renumbering " + std::to_string(new_index.size()) + " methods of a matrix of " +
                                                           std::to_string(p_.method_count));
    std::vector<bool> taken(p_.method_count, false);
    for (std::uint32_t to : new_index) {
        if (to >= p_.method_count || taken[to]) return make_error(ErrorCode::invalid_argument, "the renumbering is not a permutation");
        taken[to] = true;
    }
    Parts parts = p_;
    for (ResultCode& c : parts.cells)
        if (c != kResultNoMethod && (c & kResultAmbiguousBit) == 0) c = new_index[c - 1] + 1;
    for (AmbiguityPair& a : parts.ambiguities) {
        const std::uint32_t x = new_index[a.first], y = new_index[a.second];
        a = {std::min(x, y), std::max(x, y)};
    }
    return DispatchMatrix(std::move(parts), domains_);
}

Resolution DispatchMatrix::decode(ResultCode code) const noexcept {
    if (code == kResultNoMethod) return Resolution::none();
    if ((code & kResultAmbiguousBit) != 0) {
        const AmbiguityPair& a = p_.ambiguities[code & ~kResultAmbiguousBit];
        return Resolution::ambiguous(a.first, a.second);
    }
    return Resolution::method(code - 1);
}

Resolution DispatchMatrix::resolve(std::span<const TypeId> args) const noexcept {
    if (args.size() != p_.arity || domains_.empty()) return Resolution::none();
    std::uint64_t cell = 0;
    for (std::uint32_t pos = 0; pos < p_.arity; ++pos) {
        const std::uint32_t pole = pole_of(pos, args[pos]);
        if (pole == 0) return Resolution::none();
        cell = cell * p_.pole_count[pos] + (pole - 1);
    }
    return decode(p_.cells[cell]);
}

Resolution DispatchMatrix::resolve_ranks(std::span<const std::uint32_t> ranks) const noexcept {
    if (ranks.size() != p_.arity) return Resolution::none();
    std::uint64_t cell = 0;
    for (std::uint32_t pos = 0; pos < p_.arity; ++pos) {
        if (ranks[pos] >= p_.pole_of[pos].size()) return Resolution::none();
        cell = cell * p_.pole_count[pos] + (p_.pole_of[pos][ranks[pos]] - 1);
    }
    return decode(p_.cells[cell]);
}

std::vector<bool> DispatchMatrix::reachable_methods() const {
    std::vector<bool> reachable(p_.method_count, false);
    for (ResultCode c : p_.cells) {
        if ((c & kResultAmbiguousBit) != 0) {
            const AmbiguityPair& a = p_.ambiguities[c & ~kResultAmbiguousBit];
            reachable[a.first] = reachable[a.second] = true;
        } else if (c != kResultNoMethod) {
            reachable[c - 1] = true;
        }
    }
    return reachable;
}

std::uint64_t DispatchMatrix::dense_bytes() const noexcept {
    std::uint64_t tuples = 1;
    for (std::uint32_t pos = 0; pos < p_.arity; ++pos) tuples = saturating_mul(tuples, p_.pole_of[pos].size());
    return saturating_mul(tuples, sizeof(ResultCode));
}

}  // namespace jdc
