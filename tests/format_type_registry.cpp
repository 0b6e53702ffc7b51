#include <catch2/catch.hpp>

#include <algorithm>

#include "jdc/type_registry.hpp"
#include "support/random_model.hpp"

using namespace jdc;

TEST_CASE("a new registry holds the four built-ins with fixed ids", "[registry]") {
    TypeRegistry r;
    CHECK(r.size() == 4);
    CHECK(r.find("i32") == kTypeI32);
    CHECK(r.find("f64") == kTypeF64);
    CHECK(r.find("bool") == kTypeBool);
    CHECK(r.find("string") == kTypeString);
    CHECK(r.find(kTypeString)->kind == TypeKind::primitive);
    CHECK(r.find(kInvalidType) == nullptr);
    CHECK(r.find(99) == nullptr);
}

TEST_CASE("types are added supertypes first and get dense ids", "[registry]") {
    TypeRegistry r;
    const TypeId shape = *r.add("Shape", TypeKind::struct_);
    const TypeId circle = *r.add("Circle", TypeKind::struct_, std::vector<TypeId>{shape});
    CHECK(shape == kFirstUserType);
    CHECK(circle == kFirstUserType + 1);
    CHECK(r.find("Circle") == circle);
    CHECK(r.find(circle)->supertypes == std::vector<TypeId>{shape});
    CHECK(r.find(circle)->depth == 1);
}

TEST_CASE("bad additions are refused with a reason", "[registry]") {
    TypeRegistry r;
    const TypeId a = *r.add("A", TypeKind::struct_);
    auto empty = r.add("", TypeKind::struct_);
    REQUIRE_FALSE(empty);
    CHECK(empty.error().code == ErrorCode::invalid_argument);
    auto dup = r.add("A", TypeKind::struct_);
    REQUIRE_FALSE(dup);
    CHECK(dup.error().message.find("already registered") != std::string::npos);
    auto missing = r.add("B", TypeKind::struct_, std::vector<TypeId>{a, 77});
    REQUIRE_FALSE(missing);
    CHECK(missing.error().message.find("77") != std::string::npos);
    auto twice = r.add("C", TypeKind::struct_, std::vector<TypeId>{a, a});
    REQUIRE_FALSE(twice);
    CHECK(twice.error().message.find("twice") != std::string::npos);
    auto kind = r.add("D", static_cast<TypeKind>(17));
    REQUIRE_FALSE(kind);
    CHECK(r.size() == 5);  // nothing half-added
}

TEST_CASE("subtyping follows multiple inheritance transitively", "[registry]") {
    TypeRegistry r;
    const TypeId object = *r.add("Object", TypeKind::struct_);
    const TypeId shape = *r.add("Shape", TypeKind::struct_, std::vector<TypeId>{object});
    const TypeId drawable = *r.add("Drawable", TypeKind::struct_, std::vector<TypeId>{object});
    const TypeId sprite = *r.add("Sprite", TypeKind::struct_, std::vector<TypeId>{shape, drawable});
    CHECK(r.is_subtype(sprite, sprite));
    CHECK(r.is_subtype(sprite, shape));
    CHECK(r.is_subtype(sprite, drawable));
    CHECK(r.is_subtype(sprite, object));
    CHECK_FALSE(r.is_subtype(shape, sprite));
    CHECK_FALSE(r.is_subtype(shape, drawable));
    CHECK_FALSE(r.is_subtype(sprite, kTypeI32));
    CHECK_FALSE(r.is_subtype(sprite, kInvalidType));
    CHECK_FALSE(r.is_subtype(1000, object));
    CHECK(r.find(sprite)->depth == 2);
}

TEST_CASE("bit-row subtyping equals the graph walk on random hierarchies", "[registry][property]") {
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
        testing::RandomModelOptions o;
        o.user_types = 150;  // crosses several 64-bit words per row
        o.max_supertypes = 1 + seed % 4;
        auto m = testing::make_random_model(seed, o);
        for (const Type& a : m.registry.types())
            for (const Type& b : m.registry.types())
                REQUIRE(m.registry.is_subtype(a.id, b.id) == m.registry.is_subtype_by_walk(a.id, b.id));
    }
}

TEST_CASE("structural hashes are independent of ids and change with any definition up the chain", "[registry]") {
    TypeRegistry a;
    const TypeId a_base = *a.add("Base", TypeKind::struct_);
    const TypeId a_leaf = *a.add("Leaf", TypeKind::struct_, std::vector<TypeId>{a_base});

    TypeRegistry b;  // same definitions, different ids
    (void)*b.add("Unrelated", TypeKind::enum_);
    const TypeId b_base = *b.add("Base", TypeKind::struct_);
    const TypeId b_leaf = *b.add("Leaf", TypeKind::struct_, std::vector<TypeId>{b_base});
    CHECK(a_leaf != b_leaf);
    CHECK(a.find(a_leaf)->structural_hash == b.find(b_leaf)->structural_hash);

    TypeRegistry c;  // Base changed kind: Leaf's hash changes too
    const TypeId c_base = *c.add("Base", TypeKind::enum_);
    const TypeId c_leaf = *c.add("Leaf", TypeKind::struct_, std::vector<TypeId>{c_base});
    CHECK(c.find(c_leaf)->structural_hash != a.find(a_leaf)->structural_hash);

    TypeRegistry d;  // Leaf gained a supertype
    const TypeId d_base = *d.add("Base", TypeKind::struct_);
    const TypeId d_other = *d.add("Other", TypeKind::struct_);
    const TypeId d_leaf = *d.add("Leaf", TypeKind::struct_, std::vector<TypeId>{d_base, d_other});
    CHECK(d.find(d_leaf)->structural_hash != a.find(a_leaf)->structural_hash);
    CHECK(d.find_by_structural_hash(d.find(d_leaf)->structural_hash) == d_leaf);
    CHECK(a.fingerprint() != b.fingerprint());
}

TEST_CASE("a domain is every subtype, ranked by structural hash, with a digest of exactly that", "[registry][domain]") {
    for (std::uint64_t seed = 1; seed <= 6; ++seed) {
        const auto m = testing::make_random_model(seed, {60, 1 + static_cast<std::uint32_t>(seed % 3), 1, 0, false});
        CAPTURE(seed);
        for (const Type& root : m.registry.types()) {
            const TypeDomain& d = m.registry.domain(root.id);
            CHECK(&m.registry.domain(root.id) == &d);  // computed once, kept
            std::vector<std::pair<std::uint64_t, TypeId>> want;
            for (const Type& t : m.registry.types())
                if (m.registry.is_subtype_by_walk(t.id, root.id)) want.emplace_back(t.structural_hash, t.id);
            std::sort(want.begin(), want.end());
            REQUIRE(d.size() == want.size());
            std::vector<std::uint64_t> hashes;
            for (std::uint32_t r = 0; r < d.size(); ++r) {
                CHECK(d.member(r) == want[r].second);
                CHECK(d.rank_of(want[r].second) == r);
                hashes.push_back(want[r].first);
            }
            CHECK(d.digest() == domain_digest(hashes));
            for (const Type& t : m.registry.types())
                if (!m.registry.is_subtype_by_walk(t.id, root.id)) CHECK(d.rank_of(t.id) == kNotInDomain);
            CHECK(d.rank_of(kInvalidType) == kNotInDomain);
            CHECK(d.rank_of(static_cast<TypeId>(m.registry.size() + 1)) == kNotInDomain);
        }
        CHECK(m.registry.domain(static_cast<TypeId>(m.registry.size() + 9)).size() == 0);
    }
}

TEST_CASE("adding a type drops the computed domains; copies compute their own", "[registry][domain]") {
    TypeRegistry r;
    const TypeId shape = *r.add("Shape", TypeKind::struct_);
    (void)*r.add("Circle", TypeKind::struct_, std::vector<TypeId>{shape});
    const std::uint64_t before = r.domain(shape).digest();
    CHECK(r.domain(shape).size() == 2);
    TypeRegistry copy = r;
    (void)*r.add("Square", TypeKind::struct_, std::vector<TypeId>{shape});
    CHECK(r.domain(shape).size() == 3);
    CHECK(r.domain(shape).digest() != before);
    CHECK(copy.domain(shape).digest() == before);
}
