// Test support: the models behind the golden arenas of tests/data/v<major>.<minor>/.
//
// tests/format_golden.cpp writes and checks the goldens from these models; the
// fixtures of the independent decoder (tests/spec_decoder_fixtures.cpp) give the
// decoder their registries. The current writer must reproduce tests/data/v2.0/ from
// them byte for byte, and the 1.x goldens were written from the same models (those
// that existed then), so changing a model means new goldens (format-spec/README.md).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "jdc/arena_builder.hpp"
#include "jdc/cache_key.hpp"
#include "jdc/dispatch_table.hpp"
#include "jdc/optimization.hpp"
#include "support/random_model.hpp"

namespace jdc::testing {

inline constexpr std::uint64_t kGoldenTime = 1'764'000'000'123'456'789ull;  // 2025-11-24T16:00:00.123456789Z

struct Golden {
    std::string name;
    TypeRegistry registry;
    DispatchTable table;
    OptimizationResult optimization;
    DispatchForms forms;  // the optional dispatch index (since 1.1; over domain ranks since 2.0)
    CacheKey key;         // since 2.0: the key written to the header (zero: none)
};

inline Golden shapes_golden() {
    Golden g;
    g.name = "shapes";
    auto& r = g.registry;
    const TypeId object = *r.add("Object", TypeKind::struct_);
    const TypeId shape = *r.add("Shape", TypeKind::struct_, std::vector<TypeId>{object});
    const TypeId drawable = *r.add("Drawable", TypeKind::struct_, std::vector<TypeId>{object});
    const TypeId circle = *r.add("Circle", TypeKind::struct_, std::vector<TypeId>{shape});
    (void)*r.add("Sprite", TypeKind::struct_, std::vector<TypeId>{shape, drawable});
    g.table.signature_name = "collide";
    g.table.signature = {{object, object}, kTypeBool};
    const TypeId params[][2] = {{object, object}, {shape, shape}, {circle, circle}, {drawable, shape}};
    std::uint32_t id = 1;
    for (auto& p : params) {
        Implementation impl;
        impl.function = {"collide", "geometry", id};
        impl.parameter_types = {p[0], p[1]};
        impl.return_type = kTypeBool;
        impl.effects = id == 1 ? 0u : 1u;
        impl.location = {"geometry.jn", 10 * id, 5};
        impl.specificity_rank = specificity_rank(impl, r);
        impl.call_frequency = 100 * id;
        g.table.implementations.push_back(impl);
        ++id;
    }
    g.forms = DispatchForms::all();
    return g;
}

// Format 2.0's worked example (format-spec/arena-v2.md §15): a declared parameter type
// inside the hierarchy (Shape), so the type table holds domain references to both
// positions and a type in no domain (bool); a non-zero key; a sparse matrix, so the
// index is displaced (owners), with an ambiguity, no-method cells and two types of one
// pole. The registry is that of `jdc sample` (Square included), in its order.
inline Golden draw_golden() {
    Golden g;
    g.name = "draw";
    auto& r = g.registry;
    const TypeId object = *r.add("Object", TypeKind::struct_);
    const TypeId shape = *r.add("Shape", TypeKind::struct_, std::vector<TypeId>{object});
    const TypeId drawable = *r.add("Drawable", TypeKind::struct_, std::vector<TypeId>{object});
    const TypeId circle = *r.add("Circle", TypeKind::struct_, std::vector<TypeId>{shape});
    const TypeId square = *r.add("Square", TypeKind::struct_, std::vector<TypeId>{shape});
    (void)*r.add("Sprite", TypeKind::struct_, std::vector<TypeId>{shape, drawable});
    g.table.signature_name = "draw";
    g.table.signature = {{shape, object}, kTypeBool};
    const TypeId params[][2] = {{circle, drawable}, {circle, shape}, {square, square}};
    std::uint32_t id = 1;
    for (auto& p : params) {
        Implementation impl;
        impl.function = {"draw", "canvas", id};
        impl.parameter_types = {p[0], p[1]};
        impl.return_type = kTypeBool;
        impl.effects = 2;  // io
        impl.location = {"canvas.jn", 10 * id, 1};
        impl.specificity_rank = specificity_rank(impl, r);
        g.table.implementations.push_back(impl);
        ++id;
    }
    g.forms = DispatchForms::all();
    g.key = {0x0123456789abcdefull, 0xfedcba9876543210ull};
    return g;
}

inline Golden random_arity3_golden() {
    auto m = make_random_model(42, {12, 3, 3, 24, true});
    Golden g{"random-arity3", std::move(m.registry), std::move(m.table), {}, {}, {}};
    g.optimization.type = OptimizationType::combined;
    g.optimization.memory_saved = 1234;
    g.optimization.compression_ratio = 0.5;
    return g;
}

inline Golden empty_golden() {
    Golden g;
    g.name = "empty";
    g.table.signature_name = "nothing_yet";
    g.table.signature = {{kTypeString}, kInvalidType};
    return g;
}

inline std::vector<Golden> goldens() {
    std::vector<Golden> all;
    all.push_back(shapes_golden());
    all.push_back(random_arity3_golden());
    all.push_back(empty_golden());
    all.push_back(draw_golden());  // since 2.0
    return all;
}

}  // namespace jdc::testing
