#include "jdc/dispatch_matrix.hpp"

#include <algorithm>
#include <bit>
#include <limits>
#include <string>
#include <unordered_map>

namespace jdc {
namespace {

// A set of methods as bit words; all sets of one table have the same word count.
using Words = std::vector<std::uint64_t>;

struct WordsHash {
    std::size_t operator()(const Words& w) const noexcept {
        std::uint64_t h = 0x9E3779B97F4A7C15ull;
        for (std::uint64_t x : w) h = (h ^ x) * 0xBF58476D1CE4E5B9ull, h ^= h >> 29;
        return static_cast<std::size_t>(h);
    }
};

bool test_bit(const std::uint64_t* w, std::uint32_t i) noexcept { return ((w[i / 64] >> (i % 64)) & 1u) != 0; }
void set_bit(std::uint64_t* w, std::uint32_t i) noexcept { w[i / 64] |= std::uint64_t{1} << (i % 64); }

std::uint64_t saturating_mul(std::uint64_t a, std::uint64_t b) noexcept {
    if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) return std::numeric_limits<std::uint64_t>::max();
    return a * b;
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

    // Per position: group the universe by applicable set. Method m accepts exactly
    // the members of its parameter type's domain (a subset of the universe, since
    // the parameter is a subtype of the declared type), so the sets are filled from
    // those domains: work proportional to what the methods accept, not to
    // universe size x methods.
    std::vector<std::vector<Words>> pole_sets(arity);
    p.pole_of.resize(arity);
    p.pole_count.assign(arity, 0);
    p.domain_digest.assign(arity, 0);
    std::vector<Words> sets;
    for (std::uint32_t pos = 0; pos < arity; ++pos) {
        const TypeDomain& universe = registry.domain(table.signature.parameter_types[pos]);
        domains[pos] = &universe;
        p.domain_digest[pos] = universe.digest();
        sets.assign(universe.size(), Words(words, 0));
        for (std::uint32_t m = 0; m < n; ++m)
            for (TypeId member : registry.domain(table.implementations[m].parameter_types[pos]).members())
                set_bit(sets[universe.rank_of(member)].data(), m);
        // Poles in the order of their first member's rank: canonical, whatever the ids.
        std::unordered_map<Words, std::uint32_t, WordsHash> pole_by_set;
        p.pole_of[pos].assign(universe.size(), 0);
        for (std::uint32_t rank = 0; rank < universe.size(); ++rank) {
            auto [it, inserted] = pole_by_set.try_emplace(sets[rank], static_cast<std::uint32_t>(pole_sets[pos].size()) + 1);
            if (inserted) pole_sets[pos].push_back(sets[rank]);
            p.pole_of[pos][rank] = it->second;
        }
        p.pole_count[pos] = static_cast<std::uint32_t>(pole_sets[pos].size());
    }
    Words applicable(words);

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
            for (std::size_t w = 0; w < words; ++w) applicable[w] &= pole_sets[pos][tuple[pos]][w];
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
