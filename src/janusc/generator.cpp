#include "janusc/generator.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>

#include "janusc/module_set.hpp"

namespace janusc {
namespace fs = std::filesystem;

std::optional<std::size_t> parse_project_size(std::string_view text) {
    if (text == "small") return 100;
    if (text == "medium") return 1'000;
    if (text == "large") return 10'000;
    std::size_t n = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end != text.data() + text.size() || n == 0 || n > kMaxGeneratedFunctions) return std::nullopt;
    return n;
}

namespace {

constexpr std::size_t kNone = SIZE_MAX;
constexpr int kMaxDepth = 16;  // type hierarchies deeper than this are rare in real code
// Numeric types (Number and below): the arithmetic functions of the long tail take two,
// so their domain is at most this squared.
constexpr std::size_t kMaxNumericTypes = 400;
// The most tuples a generated call's cone holds: call sites are resolved by enumerating
// their cones with the reference resolver (call_sites.hpp), which a call of a function
// with hundreds of methods on a broad type would make the bulk of a build.
constexpr std::size_t kMaxCallCone = 64;

// splitmix64: tiny, and its output is fixed by its definition on every platform.
class Rng {
public:
    explicit Rng(std::uint64_t seed) : state_(seed) {}
    std::uint64_t next() {
        std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    std::size_t below(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(next() % n); }
    bool percent(unsigned p) { return below(100) < p; }
    template <class T>
    const T& pick(const std::vector<T>& v) { return v[below(v.size())]; }
    template <class T, std::size_t N>
    const T& pick(const std::array<T, N>& a) { return a[below(N)]; }

private:
    std::uint64_t state_;
};

constexpr std::array<std::string_view, 10> kCoreWords = {"math", "text", "collections", "io", "time",
                                                        "events", "memory", "reflect", "format", "concurrency"};
constexpr std::array<std::string_view, 24> kPackageWords = {
    "geometry", "render", "physics", "audio", "net", "storage", "ui", "sim", "codec", "db", "ml", "crypto",
    "sched", "game", "compiler", "search", "finance", "maps", "chat", "media", "robot", "health", "shop", "build"};
constexpr std::array<std::string_view, 24> kModuleWords = {
    "model", "shapes", "mesh", "layout", "events", "parser", "view", "cache", "tree", "graph", "stream", "pool",
    "units", "color", "anim", "rules", "agents", "world", "index", "query", "codec", "driver", "state", "api"};
constexpr std::array<std::string_view, 72> kTypeWords = {
    "Circle", "Shape",  "Mesh",    "Node",   "Token",   "Packet",  "Frame",   "Buffer",  "Vector",  "Matrix", "Sprite", "Entity",
    "Agent",  "Record", "Table",   "Column", "Query",   "Stream",  "Socket",  "Handle",  "Texture", "Sound",  "Track",  "Signal",
    "Widget", "Button", "Window",  "Font",   "Glyph",   "Image",   "Pixel",   "Shader",  "Camera",  "Light",  "Body",   "Joint",
    "Force",  "Rule",   "State",   "Action", "Policy",  "Layer",   "Tensor",  "Cipher",  "Key",     "Block",  "Chain",  "Job",
    "Task",   "Queue",  "Timer",   "Clock",  "Measure", "Path",    "File",    "Page",    "Cell",    "Polygon", "Square", "Edge",
    "Vertex", "Route",  "Account", "Order",  "Invoice", "Message", "Channel", "Session", "Sensor",  "Motor",  "Patient", "Cart"};
constexpr std::array<std::string_view, 40> kVerbWords = {
    "area",    "render",  "collide", "encode",  "decode",  "merge",   "hash",    "show",    "compare", "transform",
    "visit",   "measure", "update",  "draw",    "combine", "convert", "score",   "route",   "apply",   "resolve",
    "emit",    "store",   "load",    "mix",     "blend",   "intersect", "scale", "rotate",  "validate", "serialize",
    "schedule", "price",  "match",   "rank",    "filter",  "project", "attach",  "notify",  "step",    "simulate"};
// Tuple budgets of generic functions: log-uniform from 4 to 3,072 tuples (median ~100).
constexpr std::array<std::size_t, 20> kTupleBudgets = {4,   6,   8,   12,  16,  24,  32,   48,   64,   96,
                                                       128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072};
constexpr std::size_t kMaxGeneratedTuples = 4 * 3072;
constexpr std::array<std::string_view, 16> kNumericWords = {"Vector", "Matrix",   "Tensor", "Complex",    "Ratio",    "Money",
                                                           "Duration", "Angle",   "Quaternion", "Interval", "Decimal", "Fraction",
                                                           "Polynomial", "Rate",  "Score",  "Length"};
constexpr std::array<std::string_view, 3> kParamNames = {"x", "y", "z"};
constexpr std::size_t kMaxArityGenerated = kParamNames.size();

// Built-in types among type indexes: past every user type.
constexpr std::size_t kBuiltinBase = SIZE_MAX - 8;
constexpr std::array<std::string_view, 4> kBuiltinNames = {"f64", "i32", "bool", "string"};
constexpr std::size_t kBuiltinF64 = kBuiltinBase, kBuiltinI32 = kBuiltinBase + 1, kBuiltinBool = kBuiltinBase + 2,
                      kBuiltinString = kBuiltinBase + 3;
constexpr bool is_builtin(std::size_t t) { return t >= kBuiltinBase && t < kBuiltinBase + kBuiltinNames.size(); }

// core.base's first types, by index.
constexpr std::size_t kAny = 0, kValue = 1, kObject = 2, kNumber = 3;

// The long tail (generator.hpp): core.base's functions with many methods.
struct LongTail {
    std::string_view name;
    std::size_t domain;  // every parameter's declared type
    std::size_t arity;
    std::size_t result;
    std::size_t max_methods;
    unsigned percent;  // arity 1: the share of the domain's types that get a method
    bool default_method;
};
constexpr std::array<LongTail, 6> kLongTail = {{
    {"show", kAny, 1, kBuiltinString, 500, 40, true},
    {"plus", kNumber, 2, kNumber, 400, 0, true},
    {"hash", kAny, 1, kBuiltinI32, 300, 25, true},
    {"times", kNumber, 2, kNumber, 250, 0, true},
    {"describe", kObject, 1, kBuiltinString, 150, 15, false},
    {"minus", kNumber, 2, kNumber, 100, 0, true},
}};

struct GType {
    std::string name;
    std::vector<std::size_t> supers;
    std::size_t module;
    int depth;
    bool numeric;                        // Number or below it
    std::vector<std::size_t> ancestors;  // itself and every supertype, transitively; sorted
};

struct GModule {
    std::string name, path;
    bool core = false;
    std::vector<std::size_t> imports;
    ModuleSet closure;  // itself and everything it imports, transitively
    std::vector<std::size_t> closure_list;
    std::vector<std::size_t> types;
    std::vector<std::size_t> generics;
    std::vector<std::size_t> methods;
};

struct GGeneric {
    std::string name;
    std::size_t module;
    std::vector<std::size_t> params;  // type indexes
    std::size_t result;               // a type index or a built-in
    std::size_t long_tail = 0;        // 1 + its index in kLongTail; 0 for the others
};

struct GMethod {
    std::size_t generic;
    std::size_t module;
    std::vector<std::size_t> params;
};

class Generator {
public:
    explicit Generator(const GeneratorOptions& o) : options_(o), rng_(o.seed ^ 0x4a414e5553ull) {}

    GeneratedProject run() {
        make_modules();
        make_imports();
        make_types();
        make_generics();
        make_methods();
        return emit();
    }

private:
    // ---- Modules and imports ---------------------------------------------------------

    void make_modules() {
        const std::size_t total = std::max<std::size_t>(4, options_.functions / 10);
        const std::size_t cores = std::clamp<std::size_t>(total / 25, 2, kCoreWords.size() + 1);
        add_module("core", "base", true);
        for (std::size_t c = 1; c < cores; ++c) add_module("core", std::string(kCoreWords[c - 1]), true);
        std::size_t package = 0;
        while (modules_.size() < total) {
            std::string pkg(kPackageWords[package % kPackageWords.size()]);
            if (package >= kPackageWords.size()) pkg += std::to_string(package / kPackageWords.size() + 1);
            const std::size_t size = std::min(total - modules_.size(), 4 + rng_.below(9));
            package_start_.push_back(modules_.size());
            std::map<std::string, int> used;
            for (std::size_t j = 0; j < size; ++j) {
                std::string word(kModuleWords[(j + package * 5) % kModuleWords.size()]);
                const int n = used[word]++;
                add_module(pkg, n == 0 ? word : word + std::to_string(n + 1), false);
            }
            ++package;
        }
        package_start_.push_back(modules_.size());
        cores_ = cores;
    }

    void add_module(const std::string& package, const std::string& name, bool core) {
        GModule m;
        m.name = package + "." + name;
        m.path = package + "/" + name + ".jn";
        m.core = core;
        modules_.push_back(std::move(m));
    }

    std::size_t package_of(std::size_t m) const {
        return static_cast<std::size_t>(std::upper_bound(package_start_.begin(), package_start_.end(), m) - package_start_.begin()) - 1;
    }

    // Core modules by Zipf-like weight: core 1 twice as often as core 2, and so on.
    std::size_t pick_core() {
        std::size_t total = 0;
        for (std::size_t c = 1; c < cores_; ++c) total += 840 / c;
        std::size_t r = rng_.below(total);
        for (std::size_t c = 1; c < cores_; ++c) {
            if (r < 840 / c) return c;
            r -= 840 / c;
        }
        return 1;
    }

    void make_imports() {
        const std::size_t n = modules_.size();
        for (std::size_t m = 0; m < n; ++m) {
            std::vector<std::size_t> imports;
            if (m > 0 && modules_[m].core) {
                imports.push_back(0);
                if (m > 1 && rng_.percent(50)) imports.push_back(1 + rng_.below(m - 1));
            } else if (m > 0) {
                if (rng_.percent(70)) imports.push_back(0);
                if (cores_ > 1 && rng_.percent(75)) imports.push_back(pick_core());
                if (cores_ > 2 && rng_.percent(20)) imports.push_back(pick_core());
                const std::size_t pkg = package_of(m), first = package_start_[pkg];
                if (m > first && rng_.percent(85)) {
                    imports.push_back(m - 1);
                    if (m - 1 > first && rng_.percent(40)) imports.push_back(first + rng_.below(m - 1 - first));
                }
                if (pkg > 0 && rng_.percent(25)) {
                    const std::size_t other = rng_.below(pkg);  // an earlier package, usually its first (API) module
                    const std::size_t size = package_start_[other + 1] - package_start_[other];
                    imports.push_back(package_start_[other] + (rng_.percent(60) ? 0 : rng_.below(size)));
                }
            }
            std::sort(imports.begin(), imports.end());
            imports.erase(std::unique(imports.begin(), imports.end()), imports.end());
            GModule& mod = modules_[m];
            mod.closure = ModuleSet(n);
            mod.closure.insert(m);
            for (std::size_t i : imports) mod.closure.merge(modules_[i].closure);
            if (m > 0 && !mod.closure.contains(0)) {  // every module sees the root type Any
                imports.insert(imports.begin(), 0);
                mod.closure.merge(modules_[0].closure);
            }
            mod.imports = std::move(imports);
            for (std::size_t k = 0; k <= m; ++k)
                if (mod.closure.contains(k)) mod.closure_list.push_back(k);
        }
    }

    // ---- Types -------------------------------------------------------------------------

    bool visible(std::size_t m, std::size_t t) const { return modules_[m].closure.contains(types_[t].module); }

    // `a` <= `b`: built-in types only of themselves, user types by their ancestor lists.
    bool is_subtype(std::size_t a, std::size_t b) const {
        if (is_builtin(a) || is_builtin(b)) return a == b;
        return std::binary_search(types_[a].ancestors.begin(), types_[a].ancestors.end(), b);
    }

    std::size_t add_type(std::string name, std::vector<std::size_t> supers, std::size_t module, bool numeric) {
        const std::size_t t = types_.size();
        int depth = 0;
        std::vector<std::size_t> ancestors{t};
        for (std::size_t s : supers) {
            depth = std::max(depth, types_[s].depth + 1);
            ancestors.insert(ancestors.end(), types_[s].ancestors.begin(), types_[s].ancestors.end());
        }
        std::sort(ancestors.begin(), ancestors.end());
        ancestors.erase(std::unique(ancestors.begin(), ancestors.end()), ancestors.end());
        types_.push_back({std::move(name), std::move(supers), module, depth, numeric, std::move(ancestors)});
        descendants_.emplace_back();
        for (std::size_t a : types_[t].ancestors) descendants_[a].push_back(t);
        modules_[module].types.push_back(t);
        if (numeric) numeric_.push_back(t);
        return t;
    }

    std::string fresh_name(std::string_view word, std::map<std::string, int>& used) {
        std::string base(word);
        const int n = used[base]++;
        return n == 0 ? base : base + std::to_string(n + 1);
    }

    std::vector<std::size_t> visible_types(std::size_t m) const {
        std::vector<std::size_t> out;
        for (std::size_t k : modules_[m].closure_list) out.insert(out.end(), modules_[k].types.begin(), modules_[k].types.end());
        return out;
    }

    // One draw of a supertype for a new type in `m`: one of the module's own types
    // (40%), an imported module's (35%), or any visible one.
    std::size_t draw_super(std::size_t m, const std::vector<std::size_t>& visible_list) {
        const std::size_t roll = rng_.below(100);
        if (roll < 40 && !modules_[m].types.empty()) return rng_.pick(modules_[m].types);
        if (roll < 75 && !modules_[m].imports.empty()) {
            const GModule& from = modules_[rng_.pick(modules_[m].imports)];
            if (!from.types.empty()) return rng_.pick(from.types);
        }
        return rng_.pick(visible_list);
    }

    // A supertype for a new type: the deeper of two draws, so hierarchies grow deep along
    // imports; never numeric (the numeric subtree grows only by numeric types, which
    // keeps the arithmetic functions' domains bounded), never at kMaxDepth.
    std::size_t pick_super(std::size_t m, const std::vector<std::size_t>& visible_list) {
        auto usable = [&](std::size_t t) { return !types_[t].numeric && types_[t].depth < kMaxDepth; };
        for (int attempt = 0; attempt < 8; ++attempt) {
            const std::size_t a = draw_super(m, visible_list), b = draw_super(m, visible_list);
            if (usable(a) && usable(b)) return types_[a].depth >= types_[b].depth ? a : b;
            if (usable(a)) return a;
            if (usable(b)) return b;
        }
        return kAny;
    }

    // A supertype for a new numeric type: the deeper of two visible numeric types.
    std::size_t pick_numeric_super(std::size_t m) {
        std::size_t best = kNumber;
        for (int attempt = 0; attempt < 4; ++attempt) {
            const std::size_t t = rng_.pick(numeric_);
            if (visible(m, t) && types_[t].depth < kMaxDepth && types_[t].depth > types_[best].depth) best = t;
        }
        return best;
    }

    // A second supertype for a type whose first is `first`: a visible type of the same
    // kind (numeric or not), neither above nor below `first`, that shares one of its
    // ancestors other than Any, which the new type then inherits along two paths.
    std::size_t diamond_partner(std::size_t m, std::size_t first) {
        const std::vector<std::size_t>& ancestors = types_[first].ancestors;
        for (int attempt = 0; attempt < 8; ++attempt) {
            const std::size_t a = rng_.pick(ancestors);
            if (a == kAny) continue;  // every two types share Any
            const std::size_t d = rng_.pick(descendants_[a]);
            if (!visible(m, d) || types_[d].numeric != types_[first].numeric || types_[d].depth >= kMaxDepth || is_subtype(d, first) ||
                is_subtype(first, d))
                continue;
            return d;
        }
        return kNone;
    }

    void make_types() {
        std::map<std::string, int> used;
        for (std::string_view w : {"Any", "Value", "Object", "Number", "Text", "Collection", "Resource", "Event", "Error"}) used[std::string(w)] = 1;
        add_type("Any", {}, 0, false);
        add_type("Value", {kAny}, 0, false);
        add_type("Object", {kAny}, 0, false);
        add_type("Number", {kValue}, 0, true);
        add_type("Text", {kValue}, 0, false);
        for (std::string_view name : {"Collection", "Resource", "Event", "Error"}) add_type(std::string(name), {kObject}, 0, false);
        for (std::size_t m = 1; m < modules_.size(); ++m) {
            std::vector<std::size_t> visible_list = visible_types(m);
            const std::size_t count = modules_[m].core ? 6 + rng_.below(5) : 3 + rng_.below(5);
            const unsigned numeric_percent = modules_[m].name == "core.math" ? 50 : 12;
            for (std::size_t i = 0; i < count; ++i) {
                const bool numeric = numeric_.size() < kMaxNumericTypes && rng_.percent(numeric_percent);
                std::vector<std::size_t> supers{numeric ? pick_numeric_super(m) : pick_super(m, visible_list)};
                if (rng_.percent(numeric ? 20 : 15)) {  // multiple inheritance, mostly diamonds
                    std::size_t second = numeric || rng_.percent(67) ? diamond_partner(m, supers[0]) : kNone;
                    if (second == kNone && !numeric) second = pick_super(m, visible_list);
                    if (second != kNone && second != supers[0]) supers.push_back(second);
                }
                const std::string name = fresh_name(numeric ? rng_.pick(kNumericWords) : rng_.pick(kTypeWords), used);
                visible_list.push_back(add_type(name, std::move(supers), m, numeric));
            }
        }
    }

    // ---- Generic functions and methods -------------------------------------------------

    static std::size_t root_at_most(std::size_t n, std::size_t k) {
        std::size_t r = 1;
        auto pow_le = [&](std::size_t x) {
            std::size_t p = 1;
            for (std::size_t i = 0; i < k; ++i) {
                if (p > n / x) return false;
                p *= x;
            }
            return p <= n;
        };
        while (pow_le(r + 1)) ++r;
        return r;
    }

    // A declared parameter type for a generic in `m` whose subtree is close to `cap`
    // types without exceeding it (the smallest one seen if none fits).
    std::size_t pick_declared(const std::vector<std::size_t>& visible_list, std::size_t cap) {
        std::size_t best = kNone, smallest = kNone;
        for (int attempt = 0; attempt < 24; ++attempt) {
            const std::size_t t = rng_.pick(visible_list);
            const std::size_t size = descendants_[t].size();
            if (smallest == kNone || size < descendants_[smallest].size()) smallest = t;
            if (size <= cap && (best == kNone || size > descendants_[best].size())) best = t;
        }
        return best != kNone ? best : smallest;
    }

    // How many of kLongTail core.base declares: none in tiny projects, where a function
    // with hundreds of methods would be most of the program.
    std::size_t long_tail_count() const {
        if (options_.functions < 100) return 0;
        return options_.functions < 500 ? 2 : kLongTail.size();
    }

    void make_generics() {
        const std::size_t n = modules_.size();
        std::vector<std::size_t> weight(n);
        std::size_t total_weight = 0;
        for (std::size_t m = 0; m < n; ++m) total_weight += weight[m] = modules_[m].core ? 3 : 1;
        std::vector<std::size_t> count(n);
        std::size_t assigned = 0;
        for (std::size_t m = 0; m < n; ++m) assigned += count[m] = options_.functions * weight[m] / total_weight;
        for (std::size_t m = 0; assigned < options_.functions; m = (m + 1) % n, ++assigned) ++count[m];

        std::map<std::string, int> used;
        const std::size_t long_tail = std::min(long_tail_count(), count[0]);
        for (std::size_t k = 0; k < long_tail; ++k) {
            const LongTail& spec = kLongTail[k];
            used[std::string(spec.name)] = 1;
            GGeneric g;
            g.name = spec.name;
            g.module = 0;
            g.params.assign(spec.arity, spec.domain);
            g.result = spec.result;
            g.long_tail = k + 1;
            long_tail_.push_back(generics_.size());
            modules_[0].generics.push_back(generics_.size());
            generics_.push_back(std::move(g));
        }
        for (std::size_t m = 0; m < n; ++m) {
            const std::vector<std::size_t> visible_list = visible_types(m);
            for (std::size_t i = m == 0 ? long_tail : 0; i < count[m]; ++i) {
                GGeneric g;
                g.name = fresh_name(rng_.pick(kVerbWords), used);
                g.module = m;
                const std::size_t roll = rng_.below(100), arity = roll < 50 ? 1 : roll < 85 ? 2 : 3;
                std::size_t remaining = rng_.pick(kTupleBudgets);
                for (std::size_t p = 0; p < arity; ++p) {
                    const std::size_t cap = 2 * root_at_most(remaining, arity - p);
                    const std::size_t t = pick_declared(visible_list, cap);
                    g.params.push_back(t);
                    remaining = std::max<std::size_t>(1, remaining / descendants_[t].size());
                }
                // Where only broad types are visible (core.base sees nine, each with most
                // of the program below it) fewer parameters keep the check affordable.
                while (g.params.size() > 1 && tuples(g.params) > kMaxGeneratedTuples) g.params.pop_back();
                g.result = rng_.percent(15) ? rng_.pick(visible_list) : kBuiltinBase + rng_.below(kBuiltinNames.size());
                modules_[m].generics.push_back(generics_.size());
                generics_.push_back(std::move(g));
            }
        }
    }

    // callable_ for the bodies of module m: the generic functions m sees, by declared
    // parameter type. Built per module (and cleared after) rather than kept for all.
    void index_callable(std::size_t m) {
        for (std::size_t t : callable_types_) callable_[t].clear();
        callable_types_.clear();
        callable_.resize(types_.size());
        for (std::size_t k : modules_[m].closure_list)
            for (std::size_t g : modules_[k].generics)
                for (std::size_t p = 0; p < generics_[g].params.size(); ++p) {
                    const std::size_t t = generics_[g].params[p];
                    if (callable_[t].empty()) callable_types_.push_back(t);
                    callable_[t].push_back({g, p});
                }
    }

    std::size_t tuples(const std::vector<std::size_t>& params) const {
        std::size_t n = 1;
        for (std::size_t t : params) n = std::min(n * descendants_[t].size(), kMaxGeneratedTuples + 1);
        return n;
    }

    // A parameter type for a method in `m` at a position declared as `declared`: the
    // declared type itself sometimes (partial specialization, where ambiguities come
    // from), otherwise a visible subtype.
    std::size_t pick_param(std::size_t m, std::size_t declared) {
        if (rng_.percent(25)) return declared;
        std::vector<std::size_t> candidates;
        for (std::size_t t : descendants_[declared])
            if (visible(m, t)) candidates.push_back(t);
        return rng_.pick(candidates);  // never empty: `declared` itself is visible
    }

    // Adds method `params` of `g` in `m` unless `g` has one with those parameter types.
    bool add_method_with(std::size_t g, std::size_t m, std::vector<std::size_t> params, std::set<std::vector<std::size_t>>& taken) {
        if (!taken.insert(params).second) return false;
        modules_[m].methods.push_back(methods_.size());
        methods_.push_back({g, m, std::move(params)});
        return true;
    }

    void add_method(std::size_t g, std::size_t m, std::set<std::vector<std::size_t>>& taken, bool exact) {
        const GGeneric& gen = generics_[g];
        for (int attempt = 0; attempt < 4; ++attempt) {
            std::vector<std::size_t> params;
            for (std::size_t declared : gen.params) params.push_back(exact ? declared : pick_param(m, declared));
            if (add_method_with(g, m, std::move(params), taken) || exact) return;
        }
    }

    void make_methods() {
        const std::size_t n = modules_.size();
        for (std::size_t g = 0; g < generics_.size(); ++g) {
            std::set<std::vector<std::size_t>> taken;
            if (generics_[g].long_tail != 0) {
                make_long_tail_methods(g, kLongTail[generics_[g].long_tail - 1], taken);
                continue;
            }
            const std::size_t home = generics_[g].module;
            if (rng_.percent(65)) add_method(g, home, taken, true);  // a default method
            const std::size_t roll = rng_.below(100);
            const std::size_t specific = roll < 30 ? 1 : roll < 55 ? 2 : roll < 75 ? 3 : roll < 90 ? 5 : 8;
            std::vector<std::size_t> places(specific, home);
            if (rng_.percent(modules_[home].core ? 70 : 35)) {  // methods in modules that import `home`
                std::vector<std::size_t> importers;
                for (std::size_t k = home + 1; k < n; ++k)
                    if (modules_[k].closure.contains(home)) importers.push_back(k);
                if (!importers.empty()) {
                    const std::size_t extensions = 1 + rng_.below(3);
                    for (std::size_t e = 0; e < extensions; ++e) places.push_back(rng_.pick(importers));
                }
            }
            for (std::size_t m : places) add_method(g, m, taken, false);
        }
        methods_of_.assign(generics_.size(), {});
        for (std::size_t k = 0; k < methods_.size(); ++k) methods_of_[methods_[k].generic].push_back(k);
    }

    // The long tail: each type (arity 1) or numeric type (arity 2) may add methods in
    // its own module, with a probability (per mille) that keeps the expected count
    // within the function's cap; the cap itself is a hard limit.
    void make_long_tail_methods(std::size_t g, const LongTail& spec, std::set<std::vector<std::size_t>>& taken) {
        const std::size_t domain = spec.domain;
        if (spec.default_method) add_method_with(g, 0, std::vector<std::size_t>(spec.arity, domain), taken);
        auto room = [&] { return taken.size() < spec.max_methods; };
        if (spec.arity == 1) {
            const std::size_t candidates = descendants_[domain].size() - 1;
            const std::size_t per_mille = std::min<std::size_t>(spec.percent * 10, 1000 * spec.max_methods / std::max<std::size_t>(1, candidates));
            // A type with several supertypes defines the method itself three times in four,
            // as code does to settle the ambiguity between its supertypes' methods.
            for (std::size_t t : descendants_[domain])
                if (t != domain && room() && rng_.below(1000) < (types_[t].supers.size() > 1 ? 750 : per_mille))
                    add_method_with(g, types_[t].module, {t}, taken);
            return;
        }
        // Numeric: (A, A); (A, B) with another numeric type B visible where A is
        // declared, or A's supertype (70%); the half-specialized (A, Number) and
        // (Number, A) (15% each).
        const std::size_t candidates = numeric_.size() - 1;
        const std::size_t per_mille = std::min<std::size_t>(1000, 1000 * spec.max_methods * 10 / (20 * std::max<std::size_t>(1, candidates)));
        for (std::size_t a : numeric_) {
            if (a == domain || rng_.below(1000) >= per_mille) continue;
            const std::size_t m = types_[a].module;
            if (room()) add_method_with(g, m, {a, a}, taken);
            if (room() && rng_.percent(70)) {
                // Another numeric type visible where A is declared; failing a few draws, the
                // supertype A extends (a promotion rule, as plus(Int32, Integer)).
                std::size_t b = types_[a].supers[0];
                for (int attempt = 0; attempt < 4; ++attempt) {
                    const std::size_t t = rng_.pick(numeric_);
                    if (t != a && visible(m, t)) {
                        b = t;
                        break;
                    }
                }
                if (b != domain) add_method_with(g, m, {a, b}, taken);
            }
            if (room() && rng_.percent(15)) add_method_with(g, m, {a, domain}, taken);
            if (room() && rng_.percent(15)) add_method_with(g, m, {domain, a}, taken);
        }
    }

    // ---- Bodies ------------------------------------------------------------------------

    std::string literal() {
        switch (rng_.below(3)) {
            case 0: return std::to_string(1 + rng_.below(100));
            case 1: return std::to_string(rng_.below(10)) + "." + std::to_string(rng_.below(100));
            default: return std::to_string(rng_.below(1000)) + ".5";
        }
    }

    struct Local {
        std::string name;
        std::size_t type;  // a type index or a built-in (kBuiltinBase + k)
    };
    struct Call {
        std::string text;
        std::size_t generic;
    };

    // A call of a generic function visible in the module callable_ is indexed for: one
    // argument is a value in scope of a user type (the subject: the callee is declared
    // over one of its ancestors there), the others values in scope whose static types fit.
    std::optional<Call> make_call(const std::vector<Local>& scope) {
        std::vector<std::size_t> subjects;
        for (std::size_t i = 0; i < scope.size(); ++i)
            if (!is_builtin(scope[i].type)) subjects.push_back(i);
        if (subjects.empty()) return std::nullopt;
        for (int attempt = 0; attempt < 8; ++attempt) {
            const std::size_t subject = rng_.pick(subjects);
            const std::size_t t = scope[subject].type;
            std::size_t g = kNone, position = 0;
            if (!long_tail_.empty() && rng_.percent(20)) {
                g = rng_.pick(long_tail_);
                if (!is_subtype(t, generics_[g].params[0])) continue;
            } else {
                // Uniform over the (generic, position) pairs visible in m declared over an ancestor of t.
                std::size_t total = 0;
                for (std::size_t a : types_[t].ancestors) total += callable_[a].size();
                if (total == 0) continue;
                std::size_t r = rng_.below(total);
                for (std::size_t a : types_[t].ancestors) {
                    if (r < callable_[a].size()) {
                        std::tie(g, position) = callable_[a][r];
                        break;
                    }
                    r -= callable_[a].size();
                }
            }
            const GGeneric& gen = generics_[g];
            std::vector<std::size_t> args(gen.params.size(), kNone);
            args[position] = subject;
            bool ok = true;
            std::size_t cone = 1;
            for (std::size_t p = 0; p < args.size() && ok; ++p) {
                if (p != position) {
                    std::vector<std::size_t> fits;
                    for (std::size_t i = 0; i < scope.size(); ++i)
                        if (is_subtype(scope[i].type, gen.params[p])) fits.push_back(i);
                    if (fits.empty()) ok = false;
                    else args[p] = rng_.pick(fits);
                }
                if (ok) cone *= descendants_[scope[args[p]].type].size();
            }
            if (!ok || cone > kMaxCallCone) continue;
            // Code calls a function where every tuple of the cone has one most specific
            // method: on a concrete type, one that has a method; on abstract types, an
            // interface they implement. One abstract call in ten is made regardless: the
            // kind a compiler warns about.
            if (cone == 1 || !rng_.percent(10)) {
                std::array<std::size_t, kMaxArityGenerated> key{};
                for (std::size_t p = 0; p < args.size(); ++p) key[p] = scope[args[p]].type;
                if (!cone_resolves(g, key)) continue;
            }
            Call call{gen.name + "(", g};
            for (std::size_t p = 0; p < args.size(); ++p) call.text += (p ? ", " : "") + scope[args[p]].name;
            call.text += ")";
            ++stats_.call_sites;
            if (cone > 1) ++stats_.abstract_calls;
            return call;
        }
        return std::nullopt;
    }

    // Every tuple of the cone of `types` (the first arity of them) has exactly one most
    // specific applicable method of g. Memoized: bodies make the same calls often.
    bool cone_resolves(std::size_t g, const std::array<std::size_t, kMaxArityGenerated>& types) {
        const auto [slot, fresh] = cone_checks_.try_emplace({g, types}, true);
        if (!fresh) return slot->second;
        const std::size_t arity = generics_[g].params.size();
        std::array<std::size_t, kMaxArityGenerated> at{}, tuple{};
        for (bool done = false; !done && slot->second;) {
            for (std::size_t p = 0; p < arity; ++p) tuple[p] = descendants_[types[p]][at[p]];
            slot->second = resolves(g, tuple);
            done = true;
            for (std::size_t p = arity; p-- > 0;) {
                if (++at[p] < descendants_[types[p]].size()) {
                    done = false;
                    break;
                }
                at[p] = 0;
            }
        }
        return slot->second;
    }

    // `tuple` has exactly one most specific applicable method of g.
    bool resolves(std::size_t g, const std::array<std::size_t, kMaxArityGenerated>& tuple) const {
        const std::size_t arity = generics_[g].params.size();
        std::vector<std::size_t> applicable;
        for (std::size_t k : methods_of_[g]) {
            bool applies = true;
            for (std::size_t p = 0; p < arity && applies; ++p) applies = is_subtype(tuple[p], methods_[k].params[p]);
            if (applies) applicable.push_back(k);
        }
        auto below = [&](std::size_t a, std::size_t b) {  // a at least as specific as b
            for (std::size_t p = 0; p < arity; ++p)
                if (!is_subtype(methods_[a].params[p], methods_[b].params[p])) return false;
            return true;
        };
        std::size_t most_specific = 0;
        for (std::size_t c : applicable)
            most_specific += std::none_of(applicable.begin(), applicable.end(), [&](std::size_t m) { return m != c && below(m, c); });
        return most_specific == 1;
    }

    std::size_t call_count() {
        static constexpr std::array<unsigned, 7> kPercent = {5, 15, 25, 25, 15, 10, 5};  // 0..6 calls
        std::size_t roll = rng_.below(100), k = 0;
        while (roll >= kPercent[k]) roll -= kPercent[k++];
        return k;
    }

    std::string method_text(const GMethod& method) {
        const GGeneric& g = generics_[method.generic];
        std::string s = "func " + g.name + "(";
        std::vector<Local> scope;
        for (std::size_t p = 0; p < method.params.size(); ++p) {
            scope.push_back({std::string(kParamNames[p]), method.params[p]});
            s += (p ? ", " : "") + scope.back().name + ": " + types_[method.params[p]].name;
        }
        s += ") -> " + type_text(g.result) + " {\n";
        std::vector<std::string> numbers;  // names of numeric values, for the return
        const std::size_t calls = call_count();
        for (std::size_t c = 0; c < calls; ++c) {
            const auto call = make_call(scope);
            if (!call) continue;
            const std::size_t result = generics_[call->generic].result;
            if (result == kBuiltinBool || result == kBuiltinString) {
                s += "    " + call->text + "\n";  // a call for its effect: nothing to compute with
                continue;
            }
            const std::string name = "v" + std::to_string(scope.size() - method.params.size() + 1);
            s += "    let " + name + " = " + call->text + "\n";
            scope.push_back({name, result});
            if (is_builtin(result)) numbers.push_back(name);
        }
        // Numeric, so that `return 1 + ...` (a benchmark's edit) stays well typed.
        const std::string first = !numbers.empty() && rng_.percent(80) ? rng_.pick(numbers) : literal();
        s += "    return " + first + (rng_.percent(50) ? " + " : " * ") + literal() + "\n}\n";
        return s;
    }

    std::string type_text(std::size_t t) const { return is_builtin(t) ? std::string(kBuiltinNames[t - kBuiltinBase]) : types_[t].name; }

    std::string module_text(const GModule& m) {
        std::string s = "// Generated by `janusc gen --size " + std::to_string(options_.functions) + " --seed " +
                        std::to_string(options_.seed) + "`.\nmodule " + m.name + "\n";
        if (!m.imports.empty()) s += "\n";
        for (std::size_t i : m.imports) s += "import " + modules_[i].name + "\n";
        if (!m.types.empty()) s += "\n";
        for (std::size_t t : m.types) {
            s += "type " + types_[t].name;
            for (std::size_t k = 0; k < types_[t].supers.size(); ++k) s += (k ? ", " : " : ") + types_[types_[t].supers[k]].name;
            s += "\n";
        }
        if (!m.generics.empty()) s += "\n";
        index_callable(static_cast<std::size_t>(&m - modules_.data()));
        for (std::size_t g : m.generics) {
            s += "generic " + generics_[g].name + "(";
            for (std::size_t p = 0; p < generics_[g].params.size(); ++p)
                s += (p ? ", " : "") + std::string(kParamNames[p]) + ": " + types_[generics_[g].params[p]].name;
            s += ") -> " + type_text(generics_[g].result) + "\n";
        }
        for (std::size_t k : m.methods) s += "\n" + method_text(methods_[k]);
        return s;
    }

    void compute_stats() {
        GeneratorStats& st = stats_;
        std::vector<std::size_t> per_generic(generics_.size(), 0);
        for (const GMethod& method : methods_) ++per_generic[method.generic];
        for (std::size_t n : per_generic) ++st.methods_histogram[n == 0 ? 0 : n < 5 ? 1 : n < 10 ? 2 : n < 100 ? 3 : 4];
        std::sort(per_generic.begin(), per_generic.end());
        auto at = [&](std::size_t per_mille) { return per_generic.empty() ? 0 : per_generic[std::min(per_generic.size() - 1, per_generic.size() * per_mille / 1000)]; };
        st.methods_median = at(500);
        st.methods_p90 = at(900);
        st.methods_p99 = at(990);
        st.methods_max = per_generic.empty() ? 0 : per_generic.back();
        std::uint64_t depth_sum = 0;
        for (const GType& t : types_) {
            st.max_depth = std::max(st.max_depth, t.depth);
            depth_sum += static_cast<std::uint64_t>(t.depth);
            if (t.supers.size() < 2) continue;
            ++st.multiple_inheritance;
            bool diamond = false;
            for (std::size_t i = 0; i < t.supers.size() && !diamond; ++i)
                for (std::size_t j = i + 1; j < t.supers.size() && !diamond; ++j) {
                    const auto& a = types_[t.supers[i]].ancestors;
                    const auto& b = types_[t.supers[j]].ancestors;
                    std::vector<std::size_t> shared;
                    std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(shared));
                    diamond = std::any_of(shared.begin(), shared.end(), [](std::size_t s) { return s != kAny; });
                }
            st.diamonds += diamond;
        }
        st.mean_depth = types_.empty() ? 0 : static_cast<double>(depth_sum) / static_cast<double>(types_.size());
        st.numeric_types = numeric_.size();
    }

    GeneratedProject emit() {
        GeneratedProject out;
        for (const GModule& m : modules_) out.files.push_back({m.path, module_text(m)});
        std::sort(out.files.begin(), out.files.end(), [](const GeneratedFile& a, const GeneratedFile& b) { return a.path < b.path; });
        out.modules = modules_.size();
        out.types = types_.size();
        out.generics = generics_.size();
        out.methods = methods_.size();
        compute_stats();
        out.stats = stats_;
        return out;
    }

    GeneratorOptions options_;
    Rng rng_;
    std::vector<GModule> modules_;
    std::vector<std::size_t> package_start_;  // first module of each package, then the module count
    std::size_t cores_ = 0;
    std::vector<GType> types_;
    std::vector<std::vector<std::size_t>> descendants_;  // t and every type below it, in creation (= registry) order
    std::vector<std::size_t> numeric_;                   // Number and every type below it, in creation order
    std::vector<GGeneric> generics_;
    std::vector<std::size_t> long_tail_;  // generic functions of kLongTail
    // For the module whose bodies are being written: type -> (generic, position) of the
    // visible generic functions declared over it; and the types with entries.
    std::vector<std::vector<std::pair<std::size_t, std::size_t>>> callable_;
    std::vector<std::size_t> callable_types_;
    std::vector<GMethod> methods_;
    std::vector<std::vector<std::size_t>> methods_of_;  // generic -> its methods
    std::map<std::pair<std::size_t, std::array<std::size_t, kMaxArityGenerated>>, bool> cone_checks_;  // cone_resolves
    GeneratorStats stats_;
};

}  // namespace

GeneratedProject generate_project(const GeneratorOptions& options) { return Generator(options).run(); }

std::string describe_stats(const GeneratedProject& project) {
    const GeneratorStats& s = project.stats;
    const auto& h = s.methods_histogram;
    char mean_calls[32], mean_depth[32];
    std::snprintf(mean_calls, sizeof mean_calls, "%.2f", project.methods == 0 ? 0.0 : double(s.call_sites) / double(project.methods));
    std::snprintf(mean_depth, sizeof mean_depth, "%.2f", s.mean_depth);
    return "  methods per generic function: median " + std::to_string(s.methods_median) + ", p90 " + std::to_string(s.methods_p90) +
           ", p99 " + std::to_string(s.methods_p99) + ", max " + std::to_string(s.methods_max) + "; functions with 0 methods: " +
           std::to_string(h[0]) + ", 1-4: " + std::to_string(h[1]) + ", 5-9: " + std::to_string(h[2]) + ", 10-99: " + std::to_string(h[3]) +
           ", 100+: " + std::to_string(h[4]) + "\n" + "  calls in method bodies: " + std::to_string(s.call_sites) + ", " + mean_calls +
           " per method, " + std::to_string(s.abstract_calls) + " with an abstract argument type (a type with subtypes)\n" +
           "  type hierarchy: depth up to " + std::to_string(s.max_depth) + " (mean " + mean_depth + "), " +
           std::to_string(s.multiple_inheritance) + " types with several supertypes, " + std::to_string(s.diamonds) + " of them diamonds, " +
           std::to_string(s.numeric_types) + " numeric types\n";
}

jdc::Result<void> write_project(const GeneratedProject& project, const fs::path& out) {
    std::error_code ec;
    if (fs::exists(out, ec) && !(fs::is_directory(out, ec) && fs::is_empty(out, ec)))
        return jdc::make_error(jdc::ErrorCode::invalid_argument,
                               "'" + out.string() + "' exists and is not an empty directory: janusc gen never overwrites a project");
    for (const GeneratedFile& f : project.files) {
        const fs::path target = out / f.path;
        fs::create_directories(target.parent_path(), ec);
        if (ec) return jdc::make_error(jdc::ErrorCode::io, "cannot create directory '" + target.parent_path().string() + "': " + ec.message());
        std::ofstream file(target, std::ios::binary);
        file.write(f.text.data(), static_cast<std::streamsize>(f.text.size()));
        file.close();
        if (!file) return jdc::make_error(jdc::ErrorCode::io, "cannot write '" + target.string() + "'");
    }
    return {};
}

}  // namespace janusc
