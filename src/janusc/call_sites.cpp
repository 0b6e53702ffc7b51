#include "janusc/call_sites.hpp"

#include <time.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <tuple>

#include "janusc/thread_pool.hpp"
#include "jdc/resolver.hpp"

namespace janusc {

CallSiteAnswer resolve_cone_reference(const jdc::DispatchTable& table, const Program& program, std::span<const jdc::TypeId> static_types) {
    return resolve_cone_by_tuples(table, program, static_types,
                                  [&](std::span<const jdc::TypeId> tuple) { return jdc::resolve_reference(table, program.registry, tuple); });
}

CallSiteAnswer resolve_cone_by_tuples(const jdc::DispatchTable& table, const Program& program, std::span<const jdc::TypeId> static_types,
                                      const std::function<jdc::Resolution(std::span<const jdc::TypeId>)>& resolve) {
    CallSiteAnswer answer;
    const std::size_t arity = static_types.size();
    std::array<const std::vector<jdc::TypeId>*, kMaxArity> cone{};
    for (std::size_t p = 0; p < arity; ++p) cone[p] = &program.subtypes_of(static_types[p]);  // holds the type itself: never empty
    std::vector<bool> reached(table.implementations.size(), false);
    std::array<std::size_t, kMaxArity> at{};  // an odometer over the cone, the last position fastest
    TypeTuple tuple;
    tuple.arity = static_cast<std::uint32_t>(arity);
    for (bool done = false; !done;) {
        for (std::size_t p = 0; p < arity; ++p) tuple.storage[p] = (*cone[p])[at[p]];
        const jdc::Resolution r = resolve(tuple.types());
        ++answer.tuples;
        switch (r.kind) {
            case jdc::ResolutionKind::method:
                if (!reached[r.index]) {
                    reached[r.index] = true;
                    ++answer.methods_reachable;
                    answer.method = r.index;
                }
                break;
            case jdc::ResolutionKind::ambiguous:
                if (!answer.ambiguity) {
                    const auto [first, second] = competing_methods(table, program.registry, tuple.types());
                    answer.ambiguity = Ambiguity{tuple, first, second};
                }
                break;
            case jdc::ResolutionKind::no_method:
                if (!answer.no_method) answer.no_method = tuple;
                break;
        }
        done = true;
        for (std::size_t p = arity; p-- > 0;) {
            if (++at[p] < cone[p]->size()) {
                done = false;
                break;
            }
            at[p] = 0;
        }
    }
    if (answer.methods_reachable != 1) answer.method = 0;
    return answer;
}

std::pair<std::uint32_t, std::uint32_t> competing_methods(const jdc::DispatchTable& table, const jdc::TypeRegistry& registry,
                                                          std::span<const jdc::TypeId> tuple) {
    const auto& impls = table.implementations;
    auto as_specific = [&](std::uint32_t a, std::uint32_t b) {
        for (std::size_t p = 0; p < tuple.size(); ++p)
            if (!registry.is_subtype(impls[a].parameter_types[p], impls[b].parameter_types[p])) return false;
        return true;
    };
    std::vector<std::uint32_t> applicable;
    for (std::uint32_t i = 0; i < impls.size(); ++i) {
        bool applies = true;
        for (std::size_t p = 0; p < tuple.size() && applies; ++p) applies = registry.is_subtype(tuple[p], impls[i].parameter_types[p]);
        if (applies) applicable.push_back(i);
    }
    std::vector<std::uint32_t> most_specific;
    for (std::uint32_t c : applicable) {
        const bool beaten = std::any_of(applicable.begin(), applicable.end(),
                                        [&](std::uint32_t m) { return m != c && as_specific(m, c) && !as_specific(c, m); });
        if (!beaten) most_specific.push_back(c);
    }
    std::sort(most_specific.begin(), most_specific.end(), [&](std::uint32_t a, std::uint32_t b) {
        return std::tie(impls[a].location.file, impls[a].location.line, impls[a].location.column) <
               std::tie(impls[b].location.file, impls[b].location.line, impls[b].location.column);
    });
    // An ambiguous tuple has at least two: one most specific method alone would win
    // it, as Janus methods of one function differ in their parameter types.
    if (most_specific.empty()) return {0, 0};
    return {most_specific[0], most_specific[most_specific.size() > 1 ? 1 : 0]};
}

const jdc::DispatchTable& CallSiteResolver::table() {
    if (!copy_) copy_ = table_.to_table();
    return *copy_;
}

namespace {

// Whether some type is a subtype of both `a` and `b`.
bool share_a_subtype(const Program& program, jdc::TypeId a, jdc::TypeId b) {
    if (program.registry.is_subtype(a, b) || program.registry.is_subtype(b, a)) return true;
    const auto& sa = program.subtypes_of(a);
    const auto& sb = program.subtypes_of(b);
    const auto& fewer = sa.size() <= sb.size() ? sa : sb;
    const jdc::TypeId other = sa.size() <= sb.size() ? b : a;
    return std::any_of(fewer.begin(), fewer.end(), [&](jdc::TypeId t) { return program.registry.is_subtype(t, other); });
}

}  // namespace

const CallSiteAnswer& CallSiteResolver::answer(std::span<const jdc::TypeId> static_types) {
    std::array<jdc::TypeId, kMaxArity> key{};
    std::copy(static_types.begin(), static_types.end(), key.begin());
    const auto it = answers_.find(key);
    if (it != answers_.end()) return it->second;
    const jdc::DispatchTable& full = table();
    // The reference resolver scans every method for every tuple. A method that applies
    // to no tuple of the cone (at some position its type shares no subtype with the
    // static type) changes no tuple's resolution: the cone's tuples are resolved on the
    // table without those, with the answers' indexes mapped back. A call of a function
    // with hundreds of methods on a concrete type then scans a handful.
    std::vector<std::uint32_t> kept;  // sub-table index -> full-table index
    jdc::DispatchTable sub;
    sub.signature_name = full.signature_name;
    sub.signature = full.signature;
    for (std::uint32_t i = 0; i < full.implementations.size(); ++i) {
        bool relevant = true;
        for (std::size_t p = 0; p < static_types.size() && relevant; ++p)
            relevant = share_a_subtype(program_, static_types[p], full.implementations[i].parameter_types[p]);
        if (!relevant) continue;
        kept.push_back(i);
        jdc::Implementation impl;
        impl.parameter_types = full.implementations[i].parameter_types;  // all the resolver reads
        sub.implementations.push_back(std::move(impl));
    }
    auto resolve = [&](std::span<const jdc::TypeId> tuple) {
        std::array<jdc::TypeId, kMaxArity> at{};
        std::copy(tuple.begin(), tuple.end(), at.begin());
        const auto [slot, fresh] = resolutions_.try_emplace(at);
        if (fresh) {
            jdc::Resolution r = jdc::resolve_reference(sub, program_.registry, tuple);
            if (r.kind != jdc::ResolutionKind::no_method) {
                r.index = kept[r.index];
                r.other = kept[r.other];
            }
            slot->second = r;
        }
        return slot->second;
    };
    return answers_.emplace(key, resolve_cone_by_tuples(full, program_, static_types, resolve)).first->second;
}

std::string method_text(const Program& program, const Generic& generic, const jdc::Implementation& impl) {
    // The cache key covers every source of the table, so entry function id i is the
    // generic's method i; the location check keeps a table that disagrees (a cache
    // bug) from lending the wrong parameter names: it is quoted by types alone.
    const Method* source = impl.function.id < generic.methods.size() ? &generic.methods[impl.function.id] : nullptr;
    if (source != nullptr && (program.modules[source->module].path != impl.location.file || source->pos.line != impl.location.line ||
                              source->pos.column != impl.location.column || source->parameter_names.size() != impl.parameter_types.size()))
        source = nullptr;
    std::string s = generic.name + "(";
    for (std::size_t p = 0; p < impl.parameter_types.size(); ++p) {
        if (p > 0) s += ", ";
        if (source != nullptr) s += source->parameter_names[p] + ": ";
        s += program.type_name(impl.parameter_types[p]);
    }
    return s + ")";
}

namespace {

std::string tuple_text(const Program& program, std::span<const jdc::TypeId> types) {
    std::string s = "(";
    for (std::size_t p = 0; p < types.size(); ++p) s += (p ? ", " : "") + program.type_name(types[p]);
    return s + ")";
}

std::uint64_t thread_cpu_ns() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

}  // namespace

CallSiteResults resolve_call_sites(const Program& program, std::span<const jdc::CachedTable* const> tables, unsigned jobs) {
    CallSiteResults out;
    const std::vector<CallSite>& sites = program.call_sites;
    out.sites.resize(sites.size());
    std::vector<std::vector<std::size_t>> sites_of(program.generics.size());
    for (std::size_t i = 0; i < sites.size(); ++i) sites_of[sites[i].generic].push_back(i);
    std::vector<std::size_t> called;
    for (std::size_t g = 0; g < sites_of.size(); ++g)
        if (!sites_of[g].empty()) called.push_back(g);
    // Most called first: threads take functions in this order, so the longest jobs
    // (a function of the long tail called from thousands of places) do not start last.
    std::stable_sort(called.begin(), called.end(), [&](std::size_t a, std::size_t b) { return sites_of[a].size() > sites_of[b].size(); });

    std::vector<Diagnostics> warnings(called.size());
    std::vector<std::array<std::size_t, 4>> counts(called.size());  // static, dynamic, ambiguous, no method
    std::atomic<std::uint64_t> cpu{0};
    parallel_for(called.size(), jobs, [&](std::size_t k) {
        const std::uint64_t start = thread_cpu_ns();
        const Generic& g = program.generics[called[k]];
        CallSiteResolver resolver(program, *tables[called[k]]);
        // What a call site's line and warnings say after its position depends only on
        // its static types: rendered once per answer, as many calls share one.
        struct Rendered {
            std::string line;                   // "f(T) over N tuples: outcome; warning...\n"
            std::vector<std::string> warnings;  // "call to 'f' ..."
        };
        std::map<const CallSiteAnswer*, Rendered> rendered;
        for (std::size_t i : sites_of[called[k]]) {
            const CallSite& site = sites[i];
            const CallSiteAnswer& a = resolver.answer(site.argument_types());
            const auto [slot, fresh] = rendered.try_emplace(&a);
            Rendered& r = slot->second;
            if (fresh) {
                const jdc::DispatchTable& table = resolver.table();
                r.line = g.name + tuple_text(program, site.argument_types()) + " over " + std::to_string(a.tuples) +
                         (a.tuples == 1 ? " tuple: " : " tuples: ");
                if (a.resolved_statically()) {
                    const jdc::Implementation& impl = table.implementations[a.method];
                    r.line += "static, " + method_text(program, g, impl) + " at " + impl.location.file + ":" +
                              std::to_string(impl.location.line) + ":" + std::to_string(impl.location.column);
                } else if (a.dynamic()) {
                    r.line += "dynamic, " + std::to_string(a.methods_reachable) + " methods";
                } else {
                    r.line += a.methods_reachable == 1 ? "1 method" : "no method reachable";
                }
                // A warning is "call to 'f' " + what the summary line says after the outcome.
                auto warn = [&](const std::string& what) {
                    r.line += "; " + what;
                    r.warnings.push_back("call to '" + g.name + "' " + what);
                };
                if (a.ambiguity)
                    warn("can be ambiguous: " + tuple_text(program, a.ambiguity->tuple.types()) + " matches '" +
                         method_text(program, g, table.implementations[a.ambiguity->first]) + "' and '" +
                         method_text(program, g, table.implementations[a.ambiguity->second]) + "'");
                if (a.no_method) warn("has no method for " + tuple_text(program, a.no_method->types()));
                r.line += "\n";
            }
            ResolvedCallSite& resolved = out.sites[i];
            resolved.summary_line = "  " + std::to_string(site.pos.line) + ":" + std::to_string(site.pos.column) + " " + r.line;
            resolved.resolved_statically = a.resolved_statically();
            resolved.dynamic = a.dynamic();
            resolved.warned = a.ambiguity || a.no_method;
            counts[k][0] += resolved.resolved_statically;
            counts[k][1] += resolved.dynamic;
            counts[k][2] += bool(a.ambiguity);
            counts[k][3] += bool(a.no_method);
            for (const std::string& w : r.warnings) warnings[k].push_back({program.modules[site.module].display, site.pos, w, Severity::warning});
        }
        cpu += thread_cpu_ns() - start;
    });
    for (std::size_t k = 0; k < called.size(); ++k) {
        out.resolved_statically += counts[k][0];
        out.dynamic += counts[k][1];
        out.ambiguous += counts[k][2];
        out.no_method += counts[k][3];
        for (Diagnostic& d : warnings[k]) out.warnings.push_back(std::move(d));
    }
    // Like errors: by file and position; a call with both warnings gives the ambiguity first.
    std::stable_sort(out.warnings.begin(), out.warnings.end(),
                     [](const Diagnostic& a, const Diagnostic& b) { return std::tie(a.file, a.pos) < std::tie(b.file, b.pos); });
    out.cpu_ns = cpu.load();
    return out;
}

Diagnostics first_per_file(const Diagnostics& sorted, std::size_t max_per_file) {
    Diagnostics out;
    std::size_t in_file = 0;
    for (std::size_t i = 0; i < sorted.size(); ++i) {
        in_file = i > 0 && sorted[i].file == sorted[i - 1].file ? in_file + 1 : 0;
        if (in_file < max_per_file) out.push_back(sorted[i]);
    }
    return out;
}

}  // namespace janusc
