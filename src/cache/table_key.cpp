#include "cache/table_key.hpp"

#include <algorithm>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

#include "jdc/arena_format.hpp"
#include "util/hash_stream.hpp"

namespace jdc {

std::vector<MethodInput> method_inputs(const DispatchTable& table) {
    std::vector<MethodInput> out;
    out.reserve(table.implementations.size());
    for (const Implementation& impl : table.implementations)
        out.push_back({impl.function.name, impl.function.module, impl.function.id, impl.parameter_types, impl.return_type, impl.effects,
                       impl.location.file, impl.location.line, impl.location.column});
    return out;
}

namespace detail {
namespace {

std::uint64_t type_hash(const TypeRegistry& registry, TypeId id) {
    const Type* t = registry.find(id);
    return t != nullptr ? t->structural_hash : 0;
}

template <class Stream>
void encode_signature(Stream& h, const TypeSignature& sig, const TypeRegistry& registry) {
    h.u32(static_cast<std::uint32_t>(sig.arity()));
    for (TypeId t : sig.parameter_types) h.u64(type_hash(registry, t));
    h.u64(type_hash(registry, sig.return_type));
}

template <class Stream>
void encode_methods(Stream& h, const TableInputs& in, const TypeRegistry& registry) {
    h.u8(in.methods_known ? 1 : 0);
    h.u32(static_cast<std::uint32_t>(in.methods.size()));
    for (const MethodInput& m : in.methods) {
        h.str(m.name);
        h.str(m.module);
        h.u32(m.id);
        h.u32(static_cast<std::uint32_t>(m.parameter_types.size()));
        for (TypeId t : m.parameter_types) h.u64(type_hash(registry, t));
        h.u64(type_hash(registry, m.return_type));
        h.u32(m.effects);
        h.str(m.file);
        h.u32(m.line);
        h.u32(m.column);
    }
}

}  // namespace

std::uint64_t signature_hash(const TypeSignature& sig, const TypeRegistry& registry) {
    HashStream h;
    encode_signature(h, sig, registry);
    return h.digest();
}

std::uint64_t methods_hash(const TableInputs& in, const TypeRegistry& registry) {
    if (!in.methods_known) return 0;
    HashStream h;
    encode_methods(h, in, registry);
    return h.digest();
}

namespace {

// The key's encoding written straight into a buffer that the caller sized from
// encoded_size_bound(): no bounds check per field (a key is a few hundred small
// fields, and the checks and calls of a general stream were most of its cost).
class RawStream {
public:
    explicit RawStream(unsigned char* at) noexcept : at_(at) {}
    void u8(std::uint8_t v) noexcept { *at_++ = v; }
    void u32(std::uint32_t v) noexcept { put(&v, 4); }  // host is little-endian (arena_format.hpp)
    void u64(std::uint64_t v) noexcept { put(&v, 8); }
    void str(std::string_view s) noexcept {
        u32(static_cast<std::uint32_t>(s.size()));
        put(s.data(), s.size());
    }
    unsigned char* end() const noexcept { return at_; }

private:
    void put(const void* p, std::size_t n) noexcept {
        std::memcpy(at_, p, n);
        at_ += n;
    }
    unsigned char* at_;
};

constexpr std::string_view kKeyDomain = "jdc table key";

// At least the bytes encode_key writes for these inputs.
std::size_t encoded_size_bound(const BuildIdentity& identity, const TableInputs& in) noexcept {
    std::size_t n = 4 + kKeyDomain.size() + 4 + 4 + identity.compiler_version.size() + 8 + 4 + in.name.size();
    n += 4 + 16 * in.signature.parameter_types.size() + 8;  // signature, then a domain digest per parameter
    n += 1 + 4;
    for (const MethodInput& m : in.methods) n += 3 * 4 + m.name.size() + m.module.size() + m.file.size() + 5 * 4 + 8 * (m.parameter_types.size() + 1);
    n += 4;
    for (const SourceInput& src : in.sources) n += 4 + src.path.size() + 16;
    return n;
}

template <class Stream>
void encode_key(Stream& h, const BuildIdentity& identity, const TableInputs& in, const TypeRegistry& reg) {
    h.str(kKeyDomain);
    h.u32(arena::kVersionWord);  // a new arena format is a new key: old entries are misses, never misread
    h.str(identity.compiler_version);
    h.u64(identity.config_hash);
    h.str(in.name);
    encode_signature(h, in.signature, reg);
    for (TypeId t : in.signature.parameter_types) h.u64(reg.domain(t).digest());
    encode_methods(h, in, reg);
    h.u32(static_cast<std::uint32_t>(in.sources.size()));
    if (in.sources.empty()) return;
    std::vector<std::pair<std::string_view, CacheKey>> sources;
    sources.reserve(in.sources.size());
    for (const auto& src : in.sources) sources.emplace_back(src.path, src.content_hash);
    std::sort(sources.begin(), sources.end());
    for (const auto& [path, hash] : sources) {
        h.str(path);
        h.u64(hash.hi);
        h.u64(hash.lo);
    }
}

}  // namespace

CacheKey table_key(const BuildIdentity& identity, const TableInputs& in, const TypeRegistry& reg) {
    // Most keys fit on the stack and are hashed in one call; a table with thousands
    // of methods streams. The same bytes either way, hence the same key.
    constexpr std::size_t kOnStack = 8192;
    XXH128_hash_t d;
    if (encoded_size_bound(identity, in) <= kOnStack) {
        alignas(8) unsigned char buffer[kOnStack];
        RawStream raw(buffer);
        encode_key(raw, identity, in, reg);
        d = XXH3_128bits(buffer, static_cast<std::size_t>(raw.end() - buffer));
    } else {
        HashStream128 h;
        encode_key(h, identity, in, reg);
        d = h.digest();
    }
    return {d.high64, d.low64};
}

std::string type_name(const TypeRegistry& registry, TypeId id) {
    if (id == kInvalidType) return "none";
    const Type* t = registry.find(id);
    return t != nullptr ? t->name : "?";
}

std::string describe_signature(std::string_view name, const TypeSignature& sig, const TypeRegistry& registry) {
    std::string out(name);
    out += '(';
    for (std::size_t p = 0; p < sig.parameter_types.size(); ++p) {
        if (p) out += ", ";
        out += type_name(registry, sig.parameter_types[p]);
    }
    return out + ") -> " + type_name(registry, sig.return_type);
}

std::string describe_method(const MethodInput& m, const TypeRegistry& registry) {
    std::string out(m.name);
    out += '(';
    for (std::size_t p = 0; p < m.parameter_types.size(); ++p) {
        if (p) out += ", ";
        out += type_name(registry, m.parameter_types[p]);
    }
    return out + ") -> " + type_name(registry, m.return_type);
}

}  // namespace detail
}  // namespace jdc
