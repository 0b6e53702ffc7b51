#include "janusc/generator.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <fstream>
#include <map>
#include <string>

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
constexpr int kMaxDepth = 10;  // type hierarchies deeper than this are rare in real code

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
constexpr std::array<std::string_view, 4> kBuiltinResults = {"f64", "i32", "bool", "string"};
constexpr std::array<std::string_view, 3> kParamNames = {"x", "y", "z"};

struct GType {
    std::string name;
    std::vector<std::size_t> supers;
    std::size_t module;
    int depth;
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
    std::string result;
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
        compute_subtrees();
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

    std::size_t add_type(std::string name, std::vector<std::size_t> supers, std::size_t module) {
        int depth = 0;
        for (std::size_t s : supers) depth = std::max(depth, types_[s].depth + 1);
        types_.push_back({std::move(name), std::move(supers), module, depth});
        modules_[module].types.push_back(types_.size() - 1);
        return types_.size() - 1;
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

    // A supertype for a new type in `m`: usually one of the module's own types or an
    // imported module's (so hierarchies grow deep along imports), sometimes any visible one.
    std::size_t pick_super(std::size_t m, const std::vector<std::size_t>& visible) {
        for (int attempt = 0; attempt < 8; ++attempt) {
            std::size_t t;
            const std::size_t roll = rng_.below(100);
            if (roll < 40 && !modules_[m].types.empty()) t = rng_.pick(modules_[m].types);
            else if (roll < 75 && !modules_[m].imports.empty()) {
                const GModule& from = modules_[rng_.pick(modules_[m].imports)];
                if (from.types.empty()) continue;
                t = rng_.pick(from.types);
            } else t = rng_.pick(visible);
            if (types_[t].depth < kMaxDepth) return t;
        }
        return 0;  // Any
    }

    void make_types() {
        std::map<std::string, int> used;
        for (std::string_view w : {"Any", "Value", "Object", "Number", "Text", "Collection", "Resource", "Event", "Error"}) used[std::string(w)] = 1;
        const std::size_t any = add_type("Any", {}, 0);
        const std::size_t value = add_type("Value", {any}, 0), object = add_type("Object", {any}, 0);
        for (std::string_view name : {"Number", "Text"}) add_type(std::string(name), {value}, 0);
        for (std::string_view name : {"Collection", "Resource", "Event", "Error"}) add_type(std::string(name), {object}, 0);
        for (std::size_t m = 1; m < modules_.size(); ++m) {
            std::vector<std::size_t> visible = visible_types(m);
            const std::size_t count = modules_[m].core ? 6 + rng_.below(5) : 3 + rng_.below(5);
            for (std::size_t i = 0; i < count; ++i) {
                std::vector<std::size_t> supers{pick_super(m, visible)};
                if (rng_.percent(12)) {  // multiple inheritance
                    const std::size_t second = pick_super(m, visible);
                    if (second != supers[0]) supers.push_back(second);
                }
                visible.push_back(add_type(fresh_name(rng_.pick(kTypeWords), used), std::move(supers), m));
            }
        }
    }

    // descendants_[t]: t and every type below it, in creation (= registry) order.
    void compute_subtrees() {
        std::vector<std::vector<std::size_t>> ancestors(types_.size());
        descendants_.assign(types_.size(), {});
        for (std::size_t t = 0; t < types_.size(); ++t) {
            auto& mine = ancestors[t];
            mine.push_back(t);
            for (std::size_t s : types_[t].supers) mine.insert(mine.end(), ancestors[s].begin(), ancestors[s].end());
            std::sort(mine.begin(), mine.end());
            mine.erase(std::unique(mine.begin(), mine.end()), mine.end());
            for (std::size_t a : mine) descendants_[a].push_back(t);
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
    std::size_t pick_declared(const std::vector<std::size_t>& visible, std::size_t cap) {
        std::size_t best = kNone, smallest = kNone;
        for (int attempt = 0; attempt < 24; ++attempt) {
            const std::size_t t = rng_.pick(visible);
            const std::size_t size = descendants_[t].size();
            if (smallest == kNone || size < descendants_[smallest].size()) smallest = t;
            if (size <= cap && (best == kNone || size > descendants_[best].size())) best = t;
        }
        return best != kNone ? best : smallest;
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
        for (std::size_t m = 0; m < n; ++m) {
            const std::vector<std::size_t> visible = visible_types(m);
            for (std::size_t i = 0; i < count[m]; ++i) {
                GGeneric g;
                g.name = fresh_name(rng_.pick(kVerbWords), used);
                g.module = m;
                const std::size_t roll = rng_.below(100), arity = roll < 50 ? 1 : roll < 85 ? 2 : 3;
                std::size_t remaining = rng_.pick(kTupleBudgets);
                for (std::size_t p = 0; p < arity; ++p) {
                    const std::size_t cap = 2 * root_at_most(remaining, arity - p);
                    const std::size_t t = pick_declared(visible, cap);
                    g.params.push_back(t);
                    remaining = std::max<std::size_t>(1, remaining / descendants_[t].size());
                }
                // Where only broad types are visible (core.base sees nine, each with most
                // of the program below it) fewer parameters keep the check affordable.
                while (g.params.size() > 1 && tuples(g.params) > kMaxGeneratedTuples) g.params.pop_back();
                g.result = rng_.percent(15) ? types_[rng_.pick(visible)].name : std::string(rng_.pick(kBuiltinResults));
                modules_[m].generics.push_back(generics_.size());
                generics_.push_back(std::move(g));
            }
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
            if (modules_[m].closure.contains(types_[t].module)) candidates.push_back(t);
        return rng_.pick(candidates);  // never empty: `declared` itself is visible
    }

    void add_method(std::size_t g, std::size_t m, std::vector<std::vector<std::size_t>>& taken, bool exact) {
        const GGeneric& gen = generics_[g];
        for (int attempt = 0; attempt < 4; ++attempt) {
            std::vector<std::size_t> params;
            for (std::size_t declared : gen.params) params.push_back(exact ? declared : pick_param(m, declared));
            if (std::find(taken.begin(), taken.end(), params) != taken.end()) {
                if (exact) return;
                continue;
            }
            taken.push_back(params);
            modules_[m].methods.push_back(methods_.size());
            methods_.push_back({g, m, std::move(params)});
            return;
        }
    }

    void make_methods() {
        const std::size_t n = modules_.size();
        for (std::size_t g = 0; g < generics_.size(); ++g) {
            const std::size_t home = generics_[g].module;
            std::vector<std::vector<std::size_t>> taken;
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
    }

    // ---- Text ------------------------------------------------------------------------------

    std::string literal() {
        switch (rng_.below(3)) {
            case 0: return std::to_string(1 + rng_.below(100));
            case 1: return std::to_string(rng_.below(10)) + "." + std::to_string(rng_.below(100));
            default: return std::to_string(rng_.below(1000)) + ".5";
        }
    }

    std::string call_in(std::size_t m, const std::vector<std::string>& names) {
        std::size_t g = kNone;
        for (int attempt = 0; attempt < 4 && g == kNone; ++attempt) {
            const GModule& from = modules_[rng_.pick(modules_[m].closure_list)];
            if (!from.generics.empty()) g = rng_.pick(from.generics);
        }
        if (g == kNone) return names.front() + " * " + literal();
        std::string s = generics_[g].name + "(";
        for (std::size_t a = 0; a < generics_[g].params.size(); ++a)
            s += (a ? ", " : "") + (rng_.percent(70) ? rng_.pick(names) : literal());
        return s + ")";
    }

    std::string method_text(const GMethod& method) {
        const GGeneric& g = generics_[method.generic];
        std::string s = "func " + g.name + "(";
        std::vector<std::string> names;
        for (std::size_t p = 0; p < method.params.size(); ++p) {
            names.emplace_back(kParamNames[p]);
            s += (p ? ", " : "") + names.back() + ": " + types_[method.params[p]].name;
        }
        s += ") -> " + g.result + " {\n";
        const std::size_t lets = rng_.below(3);
        for (std::size_t i = 0; i < lets; ++i) {
            const std::string v = i == 0 ? "v" : "w";
            s += "    let " + v + " = " + (rng_.percent(60) ? call_in(method.module, names) : rng_.pick(names) + " * " + literal()) + "\n";
            names.push_back(v);
        }
        s += "    return " + rng_.pick(names) + (rng_.percent(50) ? " + " + literal() : " * " + literal()) + "\n}\n";
        return s;
    }

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
        for (std::size_t g : m.generics) {
            s += "generic " + generics_[g].name + "(";
            for (std::size_t p = 0; p < generics_[g].params.size(); ++p)
                s += (p ? ", " : "") + std::string(kParamNames[p]) + ": " + types_[generics_[g].params[p]].name;
            s += ") -> " + generics_[g].result + "\n";
        }
        for (std::size_t k : m.methods) s += "\n" + method_text(methods_[k]);
        return s;
    }

    GeneratedProject emit() {
        GeneratedProject out;
        for (const GModule& m : modules_) out.files.push_back({m.path, module_text(m)});
        std::sort(out.files.begin(), out.files.end(), [](const GeneratedFile& a, const GeneratedFile& b) { return a.path < b.path; });
        out.modules = modules_.size();
        out.types = types_.size();
        out.generics = generics_.size();
        out.methods = methods_.size();
        return out;
    }

    GeneratorOptions options_;
    Rng rng_;
    std::vector<GModule> modules_;
    std::vector<std::size_t> package_start_;  // first module of each package, then the module count
    std::size_t cores_ = 0;
    std::vector<GType> types_;
    std::vector<std::vector<std::size_t>> descendants_;
    std::vector<GGeneric> generics_;
    std::vector<GMethod> methods_;
};

}  // namespace

GeneratedProject generate_project(const GeneratorOptions& options) { return Generator(options).run(); }

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
