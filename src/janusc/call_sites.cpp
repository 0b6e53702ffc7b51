#include "janusc/call_sites.hpp"

#include <time.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <limits>
#include <string_view>
#include <tuple>

#include "janusc/thread_pool.hpp"

namespace janusc {

using namespace std::string_view_literals;

namespace {

// competing_methods over any form of the table: `parameter(i, p)` is entry i's
// parameter type at p, `location(i)` its (file, line, column).
template <class Parameter, class Location>
std::pair<std::uint32_t, std::uint32_t> competing(std::uint32_t entries, const jdc::TypeRegistry& registry, std::span<const jdc::TypeId> tuple,
                                                  const Parameter& parameter, const Location& location) {
    auto as_specific = [&](std::uint32_t a, std::uint32_t b) {
        for (std::uint32_t p = 0; p < tuple.size(); ++p)
            if (!registry.is_subtype(parameter(a, p), parameter(b, p))) return false;
        return true;
    };
    std::vector<std::uint32_t> applicable;
    for (std::uint32_t i = 0; i < entries; ++i) {
        bool applies = true;
        for (std::uint32_t p = 0; p < tuple.size() && applies; ++p) applies = registry.is_subtype(tuple[p], parameter(i, p));
        if (applies) applicable.push_back(i);
    }
    std::vector<std::uint32_t> most_specific;
    for (std::uint32_t c : applicable) {
        const bool beaten = std::any_of(applicable.begin(), applicable.end(),
                                        [&](std::uint32_t m) { return m != c && as_specific(m, c) && !as_specific(c, m); });
        if (!beaten) most_specific.push_back(c);
    }
    std::sort(most_specific.begin(), most_specific.end(), [&](std::uint32_t a, std::uint32_t b) { return location(a) < location(b); });
    // An ambiguous tuple has at least two: one most specific method alone would win
    // it, as Janus methods of one function differ in their parameter types.
    if (most_specific.empty()) return {0, 0};
    return {most_specific[0], most_specific[most_specific.size() > 1 ? 1 : 0]};
}

// Every entry's parameter types as live ids, entry by entry.
std::vector<jdc::TypeId> parameter_matrix(const jdc::CachedTable& table) {
    const jdc::ArenaView& view = table.view();
    std::vector<jdc::TypeId> out(std::size_t{view.entry_count()} * view.arity());
    for (std::uint32_t i = 0; i < view.entry_count(); ++i) {
        const jdc::EntryView e = view.entry(i);
        for (std::uint32_t p = 0; p < view.arity(); ++p) out[std::size_t{i} * view.arity() + p] = table.bound().live_type(e.parameter(p));
    }
    return out;
}

std::pair<std::uint32_t, std::uint32_t> competing_in(const jdc::CachedTable& table, std::span<const jdc::TypeId> parameters,
                                                     const jdc::TypeRegistry& registry, std::span<const jdc::TypeId> tuple) {
    const jdc::ArenaView& view = table.view();
    const std::uint32_t arity = view.arity();
    return competing(
        view.entry_count(), registry, tuple, [&](std::uint32_t i, std::uint32_t p) { return parameters[std::size_t{i} * arity + p]; },
        [&](std::uint32_t i) {
            const jdc::EntryView e = view.entry(i);
            return std::tuple(e.source_file(), e.line(), e.column());
        });
}

}  // namespace

std::pair<std::uint32_t, std::uint32_t> competing_methods(const jdc::DispatchTable& table, const jdc::TypeRegistry& registry,
                                                          std::span<const jdc::TypeId> tuple) {
    const auto& impls = table.implementations;
    return competing(
        static_cast<std::uint32_t>(impls.size()), registry, tuple, [&](std::uint32_t i, std::uint32_t p) { return impls[i].parameter_types[p]; },
        [&](std::uint32_t i) { return std::tie(impls[i].location.file, impls[i].location.line, impls[i].location.column); });
}

std::pair<std::uint32_t, std::uint32_t> competing_methods(const jdc::CachedTable& table, const jdc::TypeRegistry& registry,
                                                          std::span<const jdc::TypeId> tuple) {
    return competing_in(table, parameter_matrix(table), registry, tuple);
}

CallSiteAnswer CallSiteResolver::answer(std::span<const jdc::TypeId> static_types) const {
    CallSiteAnswer a;
    std::array<std::span<const jdc::TypeId>, kMaxArity> cones;
    a.tuples = 1;
    for (std::size_t p = 0; p < static_types.size(); ++p) {
        cones[p] = program_.subtypes_of(static_types[p]);
        a.tuples *= cones[p].size();
    }
    auto tuple_of = [](std::span<const jdc::TypeId> types) {
        TypeTuple t;
        t.arity = static_cast<std::uint32_t>(types.size());
        std::copy(types.begin(), types.end(), t.storage.begin());
        return t;
    };
    // The table's own ambiguity witnesses depend on its layout (--opt-level reorders
    // entries): the pair is janusc's, in source order.
    auto set_ambiguity = [&](std::span<const jdc::TypeId> tuple) {
        if (parameters_.empty()) parameters_ = parameter_matrix(table_);  // once per function, for all its ambiguous calls
        const auto [first, second] = competing_in(table_, parameters_, program_.registry, tuple);
        a.ambiguity = Ambiguity{tuple_of(tuple), first, second};
    };
    if (a.tuples == 1) {  // concrete static types: the cone is one tuple, one lookup
        const jdc::Resolution r = table_.lookup(static_types);
        switch (r.kind) {
            case jdc::ResolutionKind::method:
                a.methods_reachable = 1;
                a.method = r.index;
                break;
            case jdc::ResolutionKind::ambiguous: set_ambiguity(static_types); break;
            case jdc::ResolutionKind::no_method: a.no_method = tuple_of(static_types); break;
        }
        return a;
    }
    // One lookup per tuple of behaviours (poles) of the cone; its witnesses are the
    // first tuples of the cone in cone order (a group's representative is its smallest
    // id). The cones are the program's subtype lists: the registry computes no domain
    // for them. No limit: a cone lies within the tuples the table was checked over (at
    // most kMaxTuplesPerTable), and has no more behaviours than tuples.
    const jdc::ConeResolution cone = table_.bound().resolve_cone(std::span<const std::span<const jdc::TypeId>>(cones.data(), static_types.size()),
                                                                 std::numeric_limits<std::uint64_t>::max());
    a.methods_reachable = static_cast<std::uint32_t>(cone.methods.size());
    if (cone.methods.size() == 1) a.method = cone.methods.front();
    if (cone.ambiguous) set_ambiguity(cone.ambiguous->args);
    if (cone.no_method) a.no_method = tuple_of(*cone.no_method);
    return a;
}

namespace {

void append_number(std::string& out, std::uint64_t v) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

// `collide(a: Circle, b: Shape)` for the method with these parameter types, function id
// and location (see method_text).
void append_method(std::string& out, const Program& program, const Generic& generic, std::span<const jdc::TypeId> parameters,
                   std::uint32_t function_id, std::string_view file, std::uint32_t line, std::uint32_t column) {
    // The cache key covers every source of the table, so entry function id i is the
    // generic's method i; the location check keeps a table that disagrees (a cache
    // bug) from lending the wrong parameter names: it is quoted by types alone.
    const Method* source = function_id < generic.methods.size() ? &generic.methods[function_id] : nullptr;
    if (source != nullptr && (program.modules[source->module].path != file || source->pos.line != line || source->pos.column != column ||
                              source->parameter_names.size() != parameters.size()))
        source = nullptr;
    out += generic.name;
    out += '(';
    for (std::size_t p = 0; p < parameters.size(); ++p) {
        if (p > 0) out += ", "sv;
        if (source != nullptr) {
            out += source->parameter_names[p];
            out += ": "sv;
        }
        out += program.type_name(parameters[p]);
    }
    out += ')';
}

void append_tuple(std::string& out, const Program& program, std::span<const jdc::TypeId> types) {
    out += '(';
    for (std::size_t p = 0; p < types.size(); ++p) {
        if (p > 0) out += ", "sv;
        out += program.type_name(types[p]);
    }
    out += ')';
}

std::uint64_t thread_cpu_ns() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

// `collide(a: Circle, b: Shape)` for table entry `entry`, from the arena: no copy.
void append_entry(std::string& out, const Program& program, const Generic& g, const jdc::CachedTable& table, std::uint32_t entry) {
    const jdc::EntryView e = table.view().entry(entry);
    std::array<jdc::TypeId, kMaxArity> parameters{};
    const std::uint32_t arity = std::min<std::uint32_t>(table.view().arity(), kMaxArity);
    for (std::uint32_t p = 0; p < arity; ++p) parameters[p] = table.bound().live_type(e.parameter(p));
    append_method(out, program, g, std::span<const jdc::TypeId>(parameters).first(arity), e.function_id(), e.source_file(), e.line(), e.column());
}

// The text "static, f(x: T) at FILE:LINE:COLUMN" of each method some call of one
// generic function binds statically, rendered once: many calls bind the same method.
struct StaticTexts {
    std::string text;
    std::vector<std::pair<std::size_t, std::size_t>> span;  // [table entry] -> offset, length (0: not yet)
};

// Appends the outcome of answer `a` to a call of `g` with `static_types` (what its
// summary line says after the position) to `line`, and its warnings to `warnings`.
void append_outcome(std::string& line, const Program& program, const Generic& g, const jdc::CachedTable& table, StaticTexts& statics,
                    std::span<const jdc::TypeId> static_types, const CallSiteAnswer& a, std::vector<std::string>& warnings) {
    line += g.name;
    append_tuple(line, program, static_types);
    line += " over "sv;
    append_number(line, a.tuples);
    line += a.tuples == 1 ? " tuple: "sv : " tuples: "sv;
    if (a.resolved_statically()) {
        if (statics.span.empty()) statics.span.assign(table.view().entry_count(), {0, 0});
        auto& [offset, length] = statics.span[a.method];
        if (length == 0) {
            const jdc::EntryView e = table.view().entry(a.method);
            offset = statics.text.size();
            statics.text += "static, "sv;
            append_entry(statics.text, program, g, table, a.method);
            statics.text += " at "sv;
            statics.text += e.source_file();
            statics.text += ':';
            append_number(statics.text, e.line());
            statics.text += ':';
            append_number(statics.text, e.column());
            length = statics.text.size() - offset;
        }
        line.append(statics.text, offset, length);
    } else if (a.dynamic()) {
        line += "dynamic, "sv;
        append_number(line, a.methods_reachable);
        line += " methods"sv;
    } else {
        line += a.methods_reachable == 1 ? "1 method"sv : "no method reachable"sv;
    }
    // A warning is "call to 'f' " + what the summary line says after the outcome.
    auto warn = [&](const std::string& what) {
        line += "; "sv;
        line += what;
        warnings.push_back("call to '" + g.name + "' " + what);
    };
    if (a.ambiguity) {
        std::string what = "can be ambiguous: ";
        append_tuple(what, program, a.ambiguity->tuple.types());
        what += " matches '"sv;
        append_entry(what, program, g, table, a.ambiguity->first);
        what += "' and '"sv;
        append_entry(what, program, g, table, a.ambiguity->second);
        what += '\'';
        warn(what);
    }
    if (a.no_method) {
        std::string what = "has no method for ";
        append_tuple(what, program, a.no_method->types());
        warn(what);
    }
    line += '\n';
}

}  // namespace

std::string method_text(const Program& program, const Generic& generic, const jdc::Implementation& impl) {
    std::string s;
    append_method(s, program, generic, impl.parameter_types, impl.function.id, impl.location.file, impl.location.line, impl.location.column);
    return s;
}

void CallSiteResults::append_summary_line(std::string& out, std::size_t i) const {
    const ResolvedCallSite& site = sites[i];
    out += "  "sv;
    append_number(out, site.pos.line);
    out += ':';
    append_number(out, site.pos.column);
    out += ' ';
    out += outcome(i);
}

std::string CallSiteResults::summary_line(std::size_t i) const {
    std::string s;
    append_summary_line(s, i);
    return s;
}

CallSiteResults resolve_call_sites(const Program& program, std::span<const jdc::CachedTable* const> tables, unsigned jobs) {
    const std::uint64_t start = thread_cpu_ns();
    CallSiteResults out;
    const std::vector<CallSite>& sites = program.call_sites;
    out.sites.resize(sites.size());
    // Every call, by called function (a counting sort, one pass in program order): what
    // resolving reads of it, copied next to its function's other calls.
    using Key = std::array<jdc::TypeId, kMaxArity>;  // unused positions 0
    struct Call {
        std::uint64_t hash;  // of key
        Key key;
        SourcePos pos;
        std::size_t site;
    };
    std::vector<std::size_t> first(program.generics.size() + 1, 0);  // each function's calls: [first[g], first[g + 1])
    for (const CallSite& site : sites) ++first[site.generic + 1];
    for (std::size_t g = 0; g < program.generics.size(); ++g) first[g + 1] += first[g];
    std::vector<Call> calls(sites.size());
    {
        std::vector<std::size_t> at(first.begin(), first.end() - 1);
        for (std::size_t i = 0; i < sites.size(); ++i) {
            Call& c = calls[at[sites[i].generic]++];
            c = {0x9e3779b97f4a7c15ull, {}, sites[i].pos, i};
            std::copy(sites[i].argument_types().begin(), sites[i].argument_types().end(), c.key.begin());
            for (jdc::TypeId t : c.key) c.hash = (c.hash ^ t) * 0xbf58476d1ce4e5b9ull, c.hash ^= c.hash >> 31;
        }
    }
    std::vector<std::size_t> called;
    for (std::size_t g = 0; g < program.generics.size(); ++g)
        if (first[g + 1] > first[g]) called.push_back(g);
    // Most called first: threads take functions in this order, so the longest jobs
    // (a function of the long tail called from thousands of places) do not start last.
    auto call_count = [&](std::size_t g) { return first[g + 1] - first[g]; };
    std::stable_sort(called.begin(), called.end(), [&](std::size_t a, std::size_t b) { return call_count(a) > call_count(b); });

    // Per called function: its calls grouped by static types (a program makes the same
    // call in many places, and those share one answer and one outcome line), each
    // group's answer, then the outcome lines, warnings and counts.
    struct Function {
        std::vector<std::size_t> group_end;   // one past each group of calls with the same static types, in calls[]
        std::vector<CallSiteAnswer> answers;  // one per group
        std::string outcomes;
        Diagnostics warnings;
        std::array<std::size_t, 4> counts{};  // static, dynamic, ambiguous, no method
    };
    std::vector<Function> functions(called.size());
    auto resolve = [&](std::size_t k) {
        Function& f = functions[k];
        const auto begin = calls.begin() + static_cast<std::ptrdiff_t>(first[called[k]]);
        const auto end = calls.begin() + static_cast<std::ptrdiff_t>(first[called[k] + 1]);
        // By a hash of the types, then the types: mostly one integer comparison.
        std::sort(begin, end, [](const Call& a, const Call& b) { return a.hash != b.hash ? a.hash < b.hash : a.key < b.key; });
        const CallSiteResolver resolver(program, *tables[called[k]]);
        const std::uint32_t arity = static_cast<std::uint32_t>(program.generics[called[k]].signature.parameter_types.size());
        for (auto group = begin; group != end;) {
            auto next = group + 1;
            while (next != end && next->key == group->key) ++next;
            f.answers.push_back(resolver.answer(std::span<const jdc::TypeId>(group->key).first(arity)));
            f.group_end.push_back(static_cast<std::size_t>(next - calls.begin()));
            group = next;
        }
    };
    auto render = [&](std::size_t k) {
        Function& f = functions[k];
        const Generic& g = program.generics[called[k]];
        const std::uint32_t arity = static_cast<std::uint32_t>(g.signature.parameter_types.size());
        StaticTexts statics;
        std::vector<std::string> said;  // the warnings of one answer
        for (std::size_t group = 0, run = first[called[k]]; group < f.answers.size(); ++group) {
            const CallSiteAnswer& a = f.answers[group];
            const std::size_t offset = f.outcomes.size();
            said.clear();
            append_outcome(f.outcomes, program, g, *tables[called[k]], statics, std::span<const jdc::TypeId>(calls[run].key).first(arity), a,
                           said);
            const auto length = static_cast<std::uint32_t>(f.outcomes.size() - offset);
            for (; run < f.group_end[group]; ++run) {
                const Call& call = calls[run];
                ResolvedCallSite& resolved = out.sites[call.site];
                resolved.pos = call.pos;
                resolved.outcome_offset = offset;  // in this function's outcomes: made global below
                resolved.outcome_length = length;
                resolved.resolved_statically = a.resolved_statically();
                resolved.dynamic = a.dynamic();
                resolved.warned = a.ambiguity || a.no_method;
                for (const std::string& w : said)
                    f.warnings.push_back({program.modules[sites[call.site].module].display, call.pos, w, Severity::warning});
            }
            const std::size_t n = f.group_end[group] - (group == 0 ? first[called[k]] : f.group_end[group - 1]);
            f.counts[0] += a.resolved_statically() ? n : 0;
            f.counts[1] += a.dynamic() ? n : 0;
            f.counts[2] += a.ambiguity ? n : 0;
            f.counts[3] += a.no_method ? n : 0;
        }
    };
    // Each thread resolves the next function until none is left, then renders the
    // outcomes of those it resolved. It reads its CPU clock (a system call) at each
    // phase's ends only, not per function: resolving (the tables' lookups) and
    // rendering (the summary lines' text) are reported apart.
    const unsigned threads = static_cast<unsigned>(std::min<std::size_t>(std::max(1u, jobs), called.size()));
    std::atomic<std::size_t> next{0};
    std::atomic<std::uint64_t> resolving{0}, all{0};
    const std::uint64_t grouped = thread_cpu_ns();
    parallel_for(threads, threads, [&](std::size_t) {
        const std::uint64_t begin = thread_cpu_ns();
        std::vector<std::size_t> mine;
        for (std::size_t k = next++; k < called.size(); k = next++) {
            resolve(k);
            mine.push_back(k);
        }
        const std::uint64_t resolved = thread_cpu_ns();
        for (std::size_t k : mine) render(k);
        resolving += resolved - begin;
        all += thread_cpu_ns() - begin;
    });
    const std::uint64_t joined = thread_cpu_ns();
    std::size_t bytes = 0;
    for (const Function& f : functions) bytes += f.outcomes.size();
    out.outcomes.reserve(bytes);
    for (std::size_t k = 0; k < called.size(); ++k) {
        Function& f = functions[k];
        const std::size_t offset = out.outcomes.size();
        for (std::size_t c = first[called[k]]; c < first[called[k] + 1]; ++c) out.sites[calls[c].site].outcome_offset += offset;
        out.outcomes += f.outcomes;
        out.resolved_statically += f.counts[0];
        out.dynamic += f.counts[1];
        out.ambiguous += f.counts[2];
        out.no_method += f.counts[3];
        for (Diagnostic& d : f.warnings) out.warnings.push_back(std::move(d));
    }
    // Like errors: by file and position; a call with both warnings gives the ambiguity first.
    std::stable_sort(out.warnings.begin(), out.warnings.end(),
                     [](const Diagnostic& a, const Diagnostic& b) { return std::tie(a.file, a.pos) < std::tie(b.file, b.pos); });
    // And this thread's own work besides its share of the functions: grouping the calls
    // (resolving's) and merging the functions' results (rendering's).
    out.resolve_cpu_ns = resolving.load() + (grouped - start);
    out.cpu_ns = all.load() + (grouped - start) + (thread_cpu_ns() - joined);
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
