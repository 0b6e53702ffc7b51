#include <catch2/catch.hpp>

#include "jdc/resolver.hpp"

using namespace jdc;

namespace {

struct Shapes {
    TypeRegistry reg;
    TypeId object, shape, drawable, circle, square, sprite;
    DispatchTable table;

    Shapes() {
        object = *reg.add("Object", TypeKind::struct_);
        shape = *reg.add("Shape", TypeKind::struct_, std::vector<TypeId>{object});
        drawable = *reg.add("Drawable", TypeKind::struct_, std::vector<TypeId>{object});
        circle = *reg.add("Circle", TypeKind::struct_, std::vector<TypeId>{shape});
        square = *reg.add("Square", TypeKind::struct_, std::vector<TypeId>{shape});
        sprite = *reg.add("Sprite", TypeKind::struct_, std::vector<TypeId>{shape, drawable});
        table.signature_name = "collide";
        table.signature = {{object, object}, kTypeBool};
    }
    std::uint32_t method(TypeId a, TypeId b) {
        Implementation impl;
        impl.function = {"collide", "geo", static_cast<std::uint32_t>(table.implementations.size())};
        impl.parameter_types = {a, b};
        table.implementations.push_back(impl);
        return static_cast<std::uint32_t>(table.implementations.size() - 1);
    }
    Resolution call(TypeId a, TypeId b) const {
        const TypeId args[] = {a, b};
        return resolve_reference(table, reg, args);
    }
};

}  // namespace

TEST_CASE("the most specific applicable method wins", "[resolver]") {
    Shapes s;
    const auto oo = s.method(s.object, s.object);
    const auto ss = s.method(s.shape, s.shape);
    const auto cc = s.method(s.circle, s.circle);
    const auto cs = s.method(s.circle, s.shape);
    CHECK(s.call(s.circle, s.circle).same_outcome(Resolution::method(cc)));
    CHECK(s.call(s.circle, s.square).same_outcome(Resolution::method(cs)));
    CHECK(s.call(s.square, s.circle).same_outcome(Resolution::method(ss)));
    CHECK(s.call(s.drawable, s.circle).same_outcome(Resolution::method(oo)));
}

TEST_CASE("incomparable candidates are ambiguous, not an error", "[resolver]") {
    Shapes s;
    const auto ss = s.method(s.shape, s.shape);
    const auto ds = s.method(s.drawable, s.shape);
    const Resolution r = s.call(s.sprite, s.circle);
    CHECK(r.kind == ResolutionKind::ambiguous);
    CHECK(r.index == ss);
    CHECK(r.other == ds);
    // A more specific method for the diamond resolves it.
    const auto sp = s.method(s.sprite, s.shape);
    CHECK(s.call(s.sprite, s.circle).same_outcome(Resolution::method(sp)));
}

TEST_CASE("two methods with identical parameter types are ambiguous", "[resolver]") {
    Shapes s;
    s.method(s.object, s.object);
    const auto a = s.method(s.shape, s.shape);
    const auto b = s.method(s.shape, s.shape);
    const Resolution r = s.call(s.circle, s.circle);
    CHECK(r.kind == ResolutionKind::ambiguous);
    CHECK(r.index == a);
    CHECK(r.other == b);
}

TEST_CASE("no applicable method, empty tables and wrong arity are no_method", "[resolver]") {
    Shapes s;
    CHECK(s.call(s.circle, s.circle).kind == ResolutionKind::no_method);
    s.method(s.shape, s.shape);
    CHECK(s.call(s.drawable, s.circle).kind == ResolutionKind::no_method);
    CHECK(s.call(kTypeI32, s.circle).kind == ResolutionKind::no_method);
    const TypeId one[] = {s.circle};
    CHECK(resolve_reference(s.table, s.reg, one).kind == ResolutionKind::no_method);
}

TEST_CASE("tables are validated against the registry", "[resolver][validate]") {
    Shapes s;
    s.method(s.shape, s.shape);
    CHECK(validate(s.table, s.reg));
    s.table.implementations[0].parameter_types = {s.shape};
    CHECK_FALSE(validate(s.table, s.reg));
    s.table.implementations[0].parameter_types = {s.shape, kTypeI32};  // not a subtype of Object
    auto r = validate(s.table, s.reg);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("not a subtype") != std::string::npos);
    s.table.implementations[0].parameter_types = {s.shape, 999};
    CHECK_FALSE(validate(s.table, s.reg));
    s.table.implementations[0].parameter_types = {s.shape, s.shape};
    s.table.implementations[0].effects = 0x100;
    CHECK_FALSE(validate(s.table, s.reg));
}
