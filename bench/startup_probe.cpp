// startup_probe — the smallest "compiler" that uses the cache: it registers its types,
// maps a cache prepared beforehand, looks one dispatch table up, binds it and resolves
// one call, then exits. bench_startup times it as a whole process (fork + exec + exit)
// beside the same process with no cache and an empty process.
//
//   startup_probe --mode=exit                          return at once: the process floor
//   startup_probe --mode=none --key=N                  no cache: build the types and the
//                                                      table, resolve with the reference resolver
//   startup_probe --mode=pack --cache=FILE --key=N     MappedPack::open + find + verify + bind + lookup
//   startup_probe --mode=store --cache=DIR --key=N     LocalStore::open + get + bind + lookup
//   ... --check                                        also resolve with the reference
//                                                      resolver and fail on a disagreement
//
// Key N names testing::key_for(N), the tiny arena of bench_caches.hpp's tiny_seed(N);
// every mode builds the same model (types and table), so the modes differ only in
// where the answer comes from. Prints the resolution. Exit status: 0 resolved, 1 the
// lookup failed or disagreed with the reference (--check), 2 usage or cache error.
// Links jdc and the test model only, as a compiler would link jdc.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "jdc/arena_view.hpp"
#include "jdc/local_store.hpp"
#include "jdc/detail/mapped_pack.hpp"
#include "jdc/resolver.hpp"
#include "bench_caches.hpp"
#include "support/arena_samples.hpp"

namespace {

using namespace jdc;

struct Options {
    std::string mode;
    std::string cache;
    std::optional<std::uint64_t> key;
    bool check = false;
};

int usage(const char* why) {
    std::fprintf(stderr,
                 "startup_probe: %s\nusage: startup_probe --mode=exit|none|pack|store [--cache=PATH] [--key=N] [--check]\n",
                 why);
    return 2;
}

int report(const Resolution& r) {
    std::printf("%s %u\n", r.kind == ResolutionKind::method ? "method" : r.kind == ResolutionKind::ambiguous ? "ambiguous" : "none",
                r.index);
    return 0;
}

int cache_error(const char* what, const Error& e) {
    std::fprintf(stderr, "startup_probe: %s: %s\n", what, e.message.c_str());
    return 2;
}

// The bound table's answer, checked against the reference when asked.
int answer(const ArenaView& view, const testing::RandomModel& model, std::span<const TypeId> args, bool check) {
    auto bound = BoundArena::bind(view, model.registry);
    if (!bound) return cache_error("bind", bound.error());
    const Resolution r = bound->lookup(args);
    if (check && !r.same_outcome(resolve_reference(model.table, model.registry, args))) {
        std::fprintf(stderr, "startup_probe: the cached table disagrees with the reference resolver\n");
        return 1;
    }
    return report(r);
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg.starts_with("--mode=")) {
            o.mode = arg.substr(7);
        } else if (arg.starts_with("--cache=")) {
            o.cache = arg.substr(8);
        } else if (arg.starts_with("--key=")) {
            char* end = nullptr;
            const std::string digits(arg.substr(6));
            o.key = std::strtoull(digits.c_str(), &end, 10);
            if (digits.empty() || *end != '\0') return usage("--key takes a number");
        } else if (arg == "--check") {
            o.check = true;
        } else {
            return usage(("unknown argument '" + std::string(arg) + "'").c_str());
        }
    }
    if (o.mode == "exit") return 0;
    if (o.mode != "none" && o.mode != "pack" && o.mode != "store") return usage("--mode must be exit, none, pack or store");
    if (!o.key) return usage("--key is required");
    if (o.mode != "none" && o.cache.empty()) return usage("--cache is required");

    // The compiler's types (and, in every mode, the table: see the top of the file).
    const testing::RandomModel model = testing::make_random_model(bench::tiny_seed(*o.key), bench::tiny_model_options());
    const TypeId args[] = {model.user_types.back(), model.user_types[model.user_types.size() / 2]};
    const CacheKey key = testing::key_for(*o.key);

    if (o.mode == "none") return report(resolve_reference(model.table, model.registry, args));
    if (o.mode == "pack") {
        auto pack = MappedPack::open(o.cache);
        if (!pack) return cache_error("open the pack", pack.error());
        auto found = pack->find(key);
        if (!found) return cache_error("find", found.error());
        if (!*found) {
            std::fprintf(stderr, "startup_probe: key %llu is not in the pack\n", static_cast<unsigned long long>(*o.key));
            return 1;
        }
        auto view = ArenaView::open(**found);
        if (!view) return cache_error("verify", view.error());
        return answer(*view, model, args, o.check);
    }
    StoreOptions options;
    options.automatic_maintenance = false;  // a probe that only reads
    auto store = LocalStore::open(o.cache, options);
    if (!store) return cache_error("open the store", store.error());
    auto got = store->get(key);
    if (!got) return cache_error("get", got.error());
    return answer(got->view(), model, args, o.check);
}
