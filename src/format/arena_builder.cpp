#include "jdc/arena_builder.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>

#include <xxhash.h>

#include "jdc/arena_format.hpp"
#include "jdc/arena_verify.hpp"
#include "format/dispatch_sections.hpp"
#include "util/clock.hpp"
#include "util/hash_stream.hpp"

namespace jdc {
namespace {

using namespace arena;

// The arena-local type table: every type the table mentions, ascending by structural
// hash (canonical: independent of registry ids and of the order of mention), each
// with its reference into the first declared parameter's domain that holds it.
class LocalTypes {
public:
    LocalTypes(const TypeRegistry& registry, const DispatchTable& table) : registry_(registry), scratch_(Scratch::for_registry(registry)) {
        auto mention = [&](TypeId id) {
            if (id == kInvalidType || scratch_.stamp[id] == scratch_.generation) return;
            scratch_.stamp[id] = scratch_.generation;
            order_.push_back(id);
        };
        for (TypeId t : table.signature.parameter_types) mention(t);
        mention(table.signature.return_type);
        for (const Implementation& impl : table.implementations) {
            for (TypeId t : impl.parameter_types) mention(t);
            mention(impl.return_type);
        }
        hashes_.reserve(order_.size());
        std::vector<std::pair<std::uint64_t, TypeId>> by_hash;
        by_hash.reserve(order_.size());
        for (TypeId id : order_) by_hash.emplace_back(registry.find(id)->structural_hash, id);
        std::sort(by_hash.begin(), by_hash.end());
        for (std::uint32_t local = 0; local < by_hash.size(); ++local) {
            order_[local] = by_hash[local].second;
            hashes_.push_back(by_hash[local].first);
            scratch_.local[order_[local]] = local;
        }
        domains_.reserve(table.arity());
        for (TypeId t : table.signature.parameter_types) domains_.push_back(&registry.domain(t));
    }

    // Every id passed here was mentioned by the table (validated before).
    std::uint32_t index(TypeId id) const { return id == kInvalidType ? kNoLocalType : scratch_.local[id]; }
    const std::vector<TypeId>& order() const { return order_; }
    std::uint64_t hash(std::uint32_t local) const { return hashes_[local]; }
    const Type& type(TypeId id) const { return *registry_.find(id); }
    // (position, rank) in the first declared parameter's domain holding `id`, or (kNoDomain, 0).
    std::pair<std::uint8_t, std::uint32_t> domain_reference(TypeId id) const {
        for (std::size_t p = 0; p < domains_.size() && p < kNoDomain; ++p)
            if (const std::uint32_t rank = domains_[p]->rank_of(id); rank != kNotInDomain) return {static_cast<std::uint8_t>(p), rank};
        return {kNoDomain, 0};
    }

private:
    // Per thread, arrays indexed by type id, reused from build to build: a stamp
    // (mentioned in this build?) and the local index. Stamping instead of clearing
    // keeps a build proportional to its table, not to the registry.
    struct Scratch {
        std::vector<std::uint32_t> stamp, local;
        std::uint32_t generation = 0;
        static Scratch& for_registry(const TypeRegistry& registry) {
            thread_local Scratch s;
            const std::size_t ids = registry.size() + 1;
            if (s.stamp.size() < ids) {
                s.stamp.assign(ids, 0);
                s.local.assign(ids, 0);
                s.generation = 0;
            }
            if (++s.generation == 0) {  // wrapped: old stamps could look current
                std::fill(s.stamp.begin(), s.stamp.end(), 0);
                s.generation = 1;
            }
            return s;
        }
    };
    const TypeRegistry& registry_;
    Scratch& scratch_;
    std::vector<TypeId> order_;               // local index -> id (ascending structural hash)
    std::vector<std::uint64_t> hashes_;       // local index -> structural hash
    std::vector<const TypeDomain*> domains_;  // of the declared parameter types
};

// String pool with de-duplication; offsets are relative to the pool until placed.
// An open-addressing table of indexes into the pool itself: no per-string node or
// copy (module and file names repeat across most entries of a table).
class StringPool {
    // Names are short; an inline multiply-xorshift over 8-byte words beats a library
    // call per string. Only used for this table's probe order, never stored.
    static std::uint64_t hash(std::string_view s) noexcept {
        const char* p = s.data();
        const std::size_t n = s.size();
        std::uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
        std::size_t i = 0;
        for (; i + 8 <= n; i += 8) {
            std::uint64_t w;
            std::memcpy(&w, p + i, 8);
            h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
            h ^= h >> 31;
        }
        // The tail: the last 8 bytes again when the string has them (a fixed-size
        // load, inlined), else byte by byte; a library call per string cost more.
        std::uint64_t tail = 0;
        if (n >= 8) {
            std::memcpy(&tail, p + n - 8, 8);
        } else {
            for (std::size_t k = 0; k < n; ++k) tail |= std::uint64_t{static_cast<unsigned char>(p[k])} << (8 * k);
        }
        // Then a full avalanche (murmur3's fmix64): the table indexes by the low bits,
        // and the tail's distinguishing bytes may sit in its high ones.
        h ^= tail;
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 33;
        h *= 0xc4ceb9fe1a85ec53ull;
        return h ^ (h >> 33);
    }
    // Equal bytes, 8 at a time (identifiers are short: a library call costs more).
    static bool same(const char* a, const char* b, std::size_t n) noexcept {
        std::size_t i = 0;
        for (; i + 8 <= n; i += 8) {
            std::uint64_t x, y;
            std::memcpy(&x, a + i, 8);
            std::memcpy(&y, b + i, 8);
            if (x != y) return false;
        }
        for (; i < n; ++i)
            if (a[i] != b[i]) return false;
        return true;
    }

public:
    explicit StringPool(std::size_t expected) : slots_(std::bit_ceil(std::max<std::size_t>(16, expected * 2)), kEmpty) {
        interned_.reserve(expected);
        bytes_.reserve(expected * 12);  // typical identifier length; grows if needed
    }

    // For a field whose consecutive values usually repeat (an entry's name, module
    // and file: the methods of a generic function share them): compares with the
    // field's previous value before hashing.
    struct Field {
        std::string_view last;
        std::uint32_t offset = 0;
        bool set = false;
    };
    std::uint32_t add(std::string_view s, Field& field) {
        if (field.set && field.last.size() == s.size() && same(field.last.data(), s.data(), s.size())) return field.offset;
        field = {s, add(s), true};
        return field.offset;
    }

    std::uint32_t add(std::string_view s) {
        const std::size_t mask = slots_.size() - 1;
        std::size_t i = hash(s) & mask;
        for (; slots_[i] != kEmpty; i = (i + 1) & mask) {
            const Interned& e = interned_[slots_[i]];
            if (e.length == s.size() && same(bytes_.data() + e.offset, s.data(), s.size())) return e.offset;
        }
        const auto offset = static_cast<std::uint32_t>(bytes_.size());
        slots_[i] = static_cast<std::uint32_t>(interned_.size());
        interned_.push_back({offset, static_cast<std::uint32_t>(s.size())});
        bytes_ += s;
        if (interned_.size() * 2 > slots_.size()) grow();
        return offset;
    }
    const std::string& bytes() const { return bytes_; }

private:
    static constexpr std::uint32_t kEmpty = 0xFFFFFFFFu;
    struct Interned {
        std::uint32_t offset, length;
    };
    void grow() {
        slots_.assign(slots_.size() * 2, kEmpty);
        const std::size_t mask = slots_.size() - 1;
        for (std::uint32_t k = 0; k < interned_.size(); ++k) {
            std::size_t i = hash({bytes_.data() + interned_[k].offset, interned_[k].length}) & mask;
            while (slots_[i] != kEmpty) i = (i + 1) & mask;
            slots_[i] = k;
        }
    }
    std::vector<std::uint32_t> slots_;
    std::vector<Interned> interned_;
    std::string bytes_;
};

template <class T>
void put(std::vector<std::byte>& out, std::uint64_t offset, const T& value) {
    std::memcpy(out.data() + offset, &value, sizeof(T));
}

// The canonical content encoding (format-spec/arena-v1.md, "table_hash").
template <class Stream>
void encode_table_content(Stream& h, const DispatchTable& table, const TypeRegistry& registry) {
    auto type_hash = [&](TypeId id) -> std::uint64_t {
        const Type* t = registry.find(id);
        return t != nullptr ? t->structural_hash : 0;
    };
    h.str(table.signature_name);
    h.u32(static_cast<std::uint32_t>(table.arity()));
    for (TypeId t : table.signature.parameter_types) h.u64(type_hash(t));
    h.u64(type_hash(table.signature.return_type));
    h.u32(static_cast<std::uint32_t>(table.implementations.size()));
    for (const Implementation& impl : table.implementations) {
        h.u32(impl.function.id);
        h.str(impl.function.name);
        h.str(impl.function.module);
        for (TypeId t : impl.parameter_types) h.u64(type_hash(t));
        h.u64(type_hash(impl.return_type));
        h.u32(impl.effects);
        h.u32(impl.specificity_rank);
        h.str(impl.location.file);
        h.u32(impl.location.line);
        h.u32(impl.location.column);
    }
}

}  // namespace

std::uint64_t table_content_hash(const DispatchTable& table, const TypeRegistry& registry) {
    detail::HashStream h;
    encode_table_content(h, table, registry);
    return h.digest();
}

CacheKey table_content_key(const DispatchTable& table, const TypeRegistry& registry) {
    detail::HashStream128 h;
    h.str("jdc table content key");
    h.u32(arena::kVersionWord);
    encode_table_content(h, table, registry);
    const XXH128_hash_t d = h.digest();
    return {d.high64, d.low64};
}

Result<std::vector<std::byte>> build_arena(const DispatchTable& table, const TypeRegistry& registry,
                                           const OptimizationResult& optimization, const ArenaBuildOptions& options) {
    if (auto ok = validate(table, registry); !ok) return tl::unexpected(ok.error());
    if (!(optimization.compression_ratio >= 0.0) || optimization.compression_ratio > 4000.0)
        return make_error(ErrorCode::invalid_argument,
                          "optimization compression ratio " + std::to_string(optimization.compression_ratio) +
                              " is outside [0, 4000]");
    if (static_cast<std::uint8_t>(optimization.type) >= kOptimizationTypeCount)
        return make_error(ErrorCode::invalid_argument, "unknown optimization type");

    const auto arity = static_cast<std::uint32_t>(table.arity());
    const auto entry_count = static_cast<std::uint64_t>(table.implementations.size());

    const LocalTypes types(registry, table);
    std::vector<std::uint32_t> declared;
    for (TypeId t : table.signature.parameter_types) declared.push_back(types.index(t));
    const std::uint32_t declared_return = types.index(table.signature.return_type);
    std::vector<std::uint32_t> params;
    params.reserve(entry_count * arity);
    std::vector<std::uint32_t> returns;
    returns.reserve(entry_count);
    for (const Implementation& impl : table.implementations) {
        for (TypeId t : impl.parameter_types) params.push_back(types.index(t));
        returns.push_back(types.index(impl.return_type));
    }

    StringPool pool(3 * table.implementations.size() + types.order().size() + 1);
    const std::uint32_t signature_name = pool.add(table.signature_name);
    std::vector<std::uint32_t> type_names;
    type_names.reserve(types.order().size());
    for (TypeId id : types.order()) type_names.push_back(pool.add(types.type(id).name));
    struct EntryStrings {
        std::uint32_t name, module, file;
    };
    std::vector<EntryStrings> entry_strings;
    entry_strings.reserve(entry_count);
    StringPool::Field name_field, module_field, file_field;
    for (const Implementation& impl : table.implementations)
        entry_strings.push_back({pool.add(impl.function.name, name_field), pool.add(impl.function.module, module_field),
                                 pool.add(impl.location.file, file_field)});

    // Layout: the hot sections (signature, parameters, types) first, so a lookup
    // touches the fewest pages; strings, then the optional dispatch index, last.
    // The directory always has room for every section this version knows, so the
    // optimizer can add or replace the optional section without moving any other.
    const std::uint64_t dir_offset = kHeaderSize;
    const std::uint64_t signature_offset = align_up(dir_offset + kDirectoryCapacity * sizeof(SectionEntry));
    const std::uint64_t signature_size = sizeof(SignatureRecord) + 4ull * arity;
    const std::uint64_t params_offset = align_up(signature_offset + signature_size);
    const std::uint64_t params_size = 4ull * params.size();
    const std::uint64_t types_offset = align_up(params_offset + params_size);
    const std::uint64_t types_size = sizeof(TypeRecord) * types.order().size();
    const std::uint64_t entries_offset = align_up(types_offset + types_size);
    const std::uint64_t entries_size = sizeof(EntryRecord) * entry_count;
    const std::uint64_t strings_offset = align_up(entries_offset + entries_size);
    const std::uint64_t strings_size = pool.bytes().size();
    const std::uint64_t index_offset = align_up(strings_offset + strings_size);

    // The optimized form goes last: the sections before it do not depend on it. Too
    // big a matrix leaves it out; the scan remains. So does an index that would be
    // over max_index_share times the rest of the arena even at its smallest: known
    // from the matrix's shape, before encoding it.
    detail::OptimizedSections forms;
    if (options.forms.compressed_table) {
        Result<DispatchMatrix> built = make_error(ErrorCode::not_found, "");
        const DispatchMatrix* given = options.matrix;
        if (given != nullptr) {
            bool same = given->arity() == arity && given->method_count() == entry_count;
            for (std::uint32_t p = 0; same && p < arity; ++p)
                same = given->domain_digest(p) == registry.domain(table.signature.parameter_types[p]).digest();
            if (!same)
                return make_error(ErrorCode::invalid_argument,
                                  "the dispatch matrix given for '" + table.signature_name + "' is of another table or registry");
        } else {
            built = DispatchMatrix::build(table, registry, options.forms.limits);
            if (built) given = &*built;
        }
        const bool surely_too_big =
            given != nullptr && options.forms.max_index_share > 0 &&
            static_cast<double>(detail::dispatch_index_size_floor(*given)) > options.forms.max_index_share * static_cast<double>(index_offset);
        if (given != nullptr) {
            if (!surely_too_big) forms = detail::build_sections(*given, options.forms);
        } else if (built.error().code != ErrorCode::limit_exceeded) {
            return tl::unexpected(built.error());
        }
    }

    // An index far larger than the table it indexes costs every load more to verify
    // than its lookups save (tables whose types nearly all behave differently).
    if (forms.index && options.forms.max_index_share > 0 &&
        static_cast<double>(forms.index->bytes.size()) > options.forms.max_index_share * static_cast<double>(index_offset))
        forms = {};
    const std::uint64_t index_size = forms.index ? forms.index->bytes.size() : 0;
    const OptimizationResult& recorded = forms.index ? forms.result : optimization;
    const std::uint32_t section_count = 5 + (forms.index ? 1 : 0);
    const std::uint64_t total_size = align_up(index_offset + index_size);
    // Never write what a reader with default limits would refuse.
    const VerifyLimits defaults;
    const auto what = [&] { return "dispatch table '" + table.signature_name + "'"; };
    if (arity > defaults.max_arity)
        return make_error(ErrorCode::invalid_argument, what() + " has arity " + std::to_string(arity) + "; readers accept up to " +
                                                           std::to_string(defaults.max_arity));
    if (entry_count > defaults.max_entries || types.order().size() > defaults.max_types)
        return make_error(ErrorCode::invalid_argument, what() + " has " + std::to_string(entry_count) + " implementations and " +
                                                           std::to_string(types.order().size()) + " types; readers accept up to " +
                                                           std::to_string(defaults.max_entries) + " of each");
    if (total_size > defaults.max_total_size || total_size > std::numeric_limits<std::uint32_t>::max())
        return make_error(ErrorCode::invalid_argument, what() + " needs " + std::to_string(total_size) +
                                                           " bytes; readers accept arenas up to " +
                                                           std::to_string(defaults.max_total_size) + " bytes");
    const auto str = [&](std::uint32_t pool_offset) { return static_cast<std::uint32_t>(strings_offset + pool_offset); };

    std::vector<std::byte> out(total_size, std::byte{0});

    const SectionEntry dir[] = {
        {static_cast<std::uint32_t>(SectionKind::signature), kSectionRequired, signature_offset, signature_size},
        {static_cast<std::uint32_t>(SectionKind::parameters), kSectionRequired, params_offset, params_size},
        {static_cast<std::uint32_t>(SectionKind::types), kSectionRequired, types_offset, types_size},
        {static_cast<std::uint32_t>(SectionKind::entries), kSectionRequired, entries_offset, entries_size},
        {static_cast<std::uint32_t>(SectionKind::strings), kSectionRequired, strings_offset, strings_size},
        {static_cast<std::uint32_t>(SectionKind::dispatch_index), 0, index_offset, index_size},
    };
    for (std::uint32_t i = 0; i < section_count; ++i) put(out, dir_offset + sizeof(SectionEntry) * i, dir[i]);
    if (forms.index) std::copy_n(forms.index->bytes.data(), index_size, out.data() + index_offset);

    put(out, signature_offset,
        SignatureRecord{str(signature_name), static_cast<std::uint32_t>(table.signature_name.size()), arity, declared_return});
    for (std::uint32_t p = 0; p < arity; ++p) put(out, signature_offset + sizeof(SignatureRecord) + 4ull * p, declared[p]);

    if (!params.empty()) std::memcpy(out.data() + params_offset, params.data(), params_size);

    for (std::size_t i = 0; i < types.order().size(); ++i) {
        const Type& t = types.type(types.order()[i]);
        TypeRecord r{};
        r.structural_hash = t.structural_hash;
        r.name_offset = str(type_names[i]);
        r.name_length = static_cast<std::uint32_t>(t.name.size());
        r.kind = static_cast<std::uint8_t>(t.kind);
        const auto [position, rank] = types.domain_reference(t.id);
        r.domain_position = position;
        r.domain_rank = rank;
        put(out, types_offset + sizeof(TypeRecord) * i, r);
    }

    for (std::size_t i = 0; i < entry_count; ++i) {
        const Implementation& impl = table.implementations[i];
        EntryRecord r{};
        r.function_id = impl.function.id;
        r.return_type = returns[i];
        r.name_offset = str(entry_strings[i].name);
        r.name_length = static_cast<std::uint32_t>(impl.function.name.size());
        r.module_offset = str(entry_strings[i].module);
        r.module_length = static_cast<std::uint32_t>(impl.function.module.size());
        r.file_offset = str(entry_strings[i].file);
        r.file_length = static_cast<std::uint32_t>(impl.location.file.size());
        r.line = impl.location.line;
        r.column = impl.location.column;
        r.effects = impl.effects;
        r.specificity = impl.specificity_rank;
        r.call_frequency = impl.call_frequency;
        put(out, entries_offset + sizeof(EntryRecord) * i, r);
    }

    std::memcpy(out.data() + strings_offset, pool.bytes().data(), strings_size);

    Header h{};
    h.magic = kMagic;
    h.version_major = kVersionMajor;
    h.version_minor = kVersionMinor;
    h.table_hash = table_content_hash(table, registry);
    h.created_at_ns = options.created_at_ns != 0 ? options.created_at_ns : detail::wall_clock_ns();
    h.signature_name_length = static_cast<std::uint32_t>(table.signature_name.size());
    h.type_signature_length = arity;
    h.entry_count = static_cast<std::uint32_t>(entry_count);
    h.optimization_type = static_cast<std::uint8_t>(recorded.type);
    h.payload_codec = 0;
    h.flags = 0;
    h.compression_ratio_ppm = static_cast<std::uint32_t>(std::llround(recorded.compression_ratio * kRatioOne));
    h.type_count = static_cast<std::uint32_t>(types.order().size());
    h.memory_saved = recorded.memory_saved;
    h.total_size = total_size;
    h.header_size = kHeaderSize;
    h.section_count = section_count;
    h.section_dir_offset = dir_offset;
    h.key_hi = options.key.hi;
    h.key_lo = options.key.lo;
    h.data_checksum = XXH3_64bits(out.data() + kHeaderSize, total_size - kHeaderSize);
    put(out, 0, h);
    h.metadata_checksum = XXH3_64bits(out.data(), kMetadataChecksumCoverage);
    put(out, 0, h);
    return out;
}

}  // namespace jdc
