#include "janusc/dispatch.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <iterator>
#include <limits>
#include <optional>
#include <tuple>

#include "jdc/dispatch_matrix.hpp"
#include "jdc/resolver.hpp"

namespace janusc {

std::vector<const std::vector<jdc::TypeId>*> dispatch_domains(const Program& program, const Generic& generic) {
    std::vector<const std::vector<jdc::TypeId>*> out;
    for (jdc::TypeId t : generic.signature.parameter_types) out.push_back(&program.subtypes_of(t));
    return out;
}

std::uint64_t tuple_count(const Program& program, const Generic& generic) {
    std::uint64_t n = 1;
    for (const auto* domain : dispatch_domains(program, generic)) {
        if (domain->empty()) return 0;
        if (n > std::numeric_limits<std::uint64_t>::max() / domain->size()) return std::numeric_limits<std::uint64_t>::max();
        n *= domain->size();
    }
    return n;
}

TupleCounts resolve_all_tuples(const jdc::DispatchTable& table, const jdc::TypeRegistry& registry,
                               std::span<const std::vector<jdc::TypeId>* const> domains) {
    TupleCounts counts;
    counts.wins.assign(table.implementations.size(), 0);
    const std::size_t arity = domains.size();
    if (arity == 0) return counts;
    for (const auto* domain : domains)
        if (domain->empty()) return counts;
    std::vector<std::size_t> at(arity, 0);  // an odometer over the domains
    std::vector<jdc::TypeId> args(arity);
    while (true) {
        for (std::size_t p = 0; p < arity; ++p) args[p] = (*domains[p])[at[p]];
        const jdc::Resolution r = jdc::resolve_reference(table, registry, args);
        ++counts.tuples;
        switch (r.kind) {
            case jdc::ResolutionKind::method: ++counts.wins[r.index]; break;
            case jdc::ResolutionKind::ambiguous: ++counts.ambiguous; break;
            case jdc::ResolutionKind::no_method: ++counts.no_method; break;
        }
        std::size_t p = 0;
        while (p < arity && ++at[p] == domains[p]->size()) at[p++] = 0;
        if (p == arity) return counts;
    }
}

namespace {

// The same counts from the dispatch matrix: every type of a pole gets the same answer,
// so a cell counts the product of its poles' sizes, and the work is one pass over the
// domains plus one over the cells instead of a resolution per tuple of types. nullopt
// when a domain type lies outside the matrix's universe (never, for janusc's domains:
// both are the subtypes of the declared parameter types).
std::optional<TupleCounts> count_by_poles(const jdc::DispatchMatrix& matrix, std::span<const std::vector<jdc::TypeId>* const> domains) {
    const std::uint32_t arity = matrix.arity();
    if (arity == 0 || domains.size() != arity) return std::nullopt;
    std::vector<std::vector<std::uint64_t>> in_pole(arity);
    for (std::uint32_t p = 0; p < arity; ++p) {
        in_pole[p].assign(matrix.pole_count(p), 0);
        for (jdc::TypeId t : *domains[p]) {
            const std::uint32_t pole = matrix.pole_of(p, t);
            if (pole == 0) return std::nullopt;
            ++in_pole[p][pole - 1];
        }
    }
    TupleCounts counts;
    counts.wins.assign(matrix.method_count(), 0);
    std::vector<std::uint32_t> at(arity, 0);  // an odometer over the poles, the last position fastest
    for (const jdc::ResultCode code : matrix.cells()) {
        std::uint64_t n = 1;
        for (std::uint32_t p = 0; p < arity; ++p) n *= in_pole[p][at[p]];
        counts.tuples += n;
        if (code == jdc::kResultNoMethod) counts.no_method += n;
        else if (code & jdc::kResultAmbiguousBit) counts.ambiguous += n;
        else counts.wins[code - 1] += n;
        for (std::uint32_t p = arity; p-- > 0;) {
            if (++at[p] < in_pole[p].size()) break;
            at[p] = 0;
        }
    }
    return counts;
}

}  // namespace

jdc::TableInputs table_inputs(const Program& program, const Generic& generic) {
    jdc::TableInputs in;
    in.name = generic.name;
    in.signature = generic.signature;
    // Exactly what build_dispatch_table reads of each method, as views into the
    // program: its id (position), module, types and place. Bodies and comments are
    // not inputs, so editing them keeps every key.
    in.methods.reserve(generic.methods.size());
    for (std::size_t i = 0; i < generic.methods.size(); ++i) {
        const Method& m = generic.methods[i];
        const ModuleInfo& module = program.modules[m.module];
        in.methods.push_back({generic.name, module.name, static_cast<std::uint32_t>(i), m.parameters, m.result, 0, module.path,
                              m.pos.line, m.pos.column});
    }
    return in;
}

jdc::Result<jdc::BuiltTable> build_dispatch_table(const Program& program, const Generic& generic, OptLevel level) {
    jdc::BuiltTable built;
    jdc::DispatchTable& table = built.table;
    table.signature_name = generic.name;
    table.signature = generic.signature;
    for (std::size_t i = 0; i < generic.methods.size(); ++i) {
        const Method& m = generic.methods[i];
        jdc::Implementation impl;
        impl.function = {generic.name, program.modules[m.module].name, static_cast<std::uint32_t>(i)};
        impl.parameter_types = m.parameters;
        impl.return_type = m.result;
        impl.location = {program.modules[m.module].path, m.pos.line, m.pos.column};
        impl.specificity_rank = jdc::specificity_rank(impl, program.registry);
        table.implementations.push_back(std::move(impl));
    }
    if (auto ok = jdc::validate(table, program.registry); !ok) return tl::unexpected(ok.error());
    // Full resolution over the hierarchy, the expensive part of a miss: the matrix
    // resolves each tuple of poles once; the cache stores it as the arena's compressed
    // table without building it again (BuiltTable::matrix).
    const auto domains = dispatch_domains(program, generic);
    auto matrix = jdc::DispatchMatrix::build(table, program.registry);
    std::optional<TupleCounts> by_poles;
    if (matrix) by_poles = count_by_poles(*matrix, domains);
    const TupleCounts counts = by_poles ? std::move(*by_poles) : resolve_all_tuples(table, program.registry, domains);
    for (std::size_t i = 0; i < table.implementations.size(); ++i) table.implementations[i].call_frequency = counts.wins[i];
    if (level == OptLevel::hot_path) {
        std::vector<std::uint32_t> order(table.implementations.size());
        for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
        std::stable_sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
            return table.implementations[a].call_frequency > table.implementations[b].call_frequency;
        });
        std::vector<jdc::Implementation> sorted;
        sorted.reserve(order.size());
        std::vector<std::uint32_t> new_index(order.size());
        for (std::uint32_t at = 0; at < order.size(); ++at) {
            new_index[order[at]] = at;
            sorted.push_back(std::move(table.implementations[order[at]]));
        }
        table.implementations = std::move(sorted);
        built.optimization.type = jdc::OptimizationType::hot_path_optimization;
        if (matrix) matrix = matrix->renumbered(new_index);  // the matrix names methods by index
    }
    if (matrix) built.matrix = std::move(*matrix);
    return built;
}

namespace {

struct MethodRow {
    std::array<jdc::TypeId, kMaxArity> params{};
    std::uint32_t arity = 0;
    jdc::TypeId result = jdc::kInvalidType;
    std::string_view file;
    std::uint32_t line = 0, column = 0;
    std::uint64_t wins = 0;
};

// Most specific first: a method comes after every method strictly more specific than
// it; among the methods that are ready, the earliest in the source comes first.
std::vector<std::size_t> specificity_order(const std::vector<MethodRow>& rows, const jdc::TypeRegistry& registry) {
    const std::size_t n = rows.size();
    auto as_specific = [&](std::size_t a, std::size_t b) {
        for (std::uint32_t p = 0; p < rows[a].arity; ++p)
            if (!registry.is_subtype(rows[a].params[p], rows[b].params[p])) return false;
        return true;
    };
    std::vector<std::size_t> above(n, 0);  // methods strictly more specific than this one, not yet placed
    std::vector<std::vector<std::size_t>> below(n);
    for (std::size_t a = 0; a < n; ++a)
        for (std::size_t b = 0; b < n; ++b)
            if (a != b && as_specific(a, b) && !as_specific(b, a)) {
                ++above[b];
                below[a].push_back(b);
            }
    auto source_order = [&](std::size_t a, std::size_t b) {
        return std::tie(rows[a].file, rows[a].line, rows[a].column) < std::tie(rows[b].file, rows[b].line, rows[b].column);
    };
    std::vector<std::size_t> ready, order;
    for (std::size_t i = 0; i < n; ++i)
        if (above[i] == 0) ready.push_back(i);
    while (!ready.empty()) {
        const auto next = std::min_element(ready.begin(), ready.end(), source_order);
        const std::size_t i = *next;
        ready.erase(next);
        order.push_back(i);
        for (std::size_t b : below[i])
            if (--above[b] == 0) ready.push_back(b);
    }
    return order;
}

// Appends without temporaries: a large build writes tens of thousands of these lines.
class Text {
public:
    explicit Text(std::size_t reserve) { s_.reserve(reserve); }
    Text& operator<<(std::string_view v) {
        s_.append(v);
        return *this;
    }
    Text& operator<<(std::uint64_t v) {
        char buf[24];
        const auto r = std::to_chars(buf, buf + sizeof buf, v);
        s_.append(buf, r.ptr);
        return *this;
    }
    std::string take() { return std::move(s_); }

private:
    std::string s_;
};

}  // namespace

std::string dispatch_summary(const jdc::CachedTable& table, const Program& program, const Generic& generic) {
    const jdc::ArenaView& view = table.view();
    const jdc::BoundArena& bound = table.bound();
    Text out(128 + 96 * std::size_t{view.entry_count()});

    out << "generic " << view.signature_name() << "(";
    for (std::uint32_t p = 0; p < view.arity(); ++p) out << (p ? ", " : "") << program.type_name(bound.live_type(view.declared_parameter(p)));
    out << ") -> " << program.type_name(bound.live_type(view.declared_return_type())) << " at " << program.modules[generic.module].path
        << ":" << generic.pos.line << ":" << generic.pos.column << "\n";

    std::vector<MethodRow> rows(view.entry_count());
    std::uint64_t resolved = 0;
    for (std::uint32_t i = 0; i < view.entry_count(); ++i) {
        const jdc::EntryView e = view.entry(i);
        MethodRow& row = rows[i];
        row.arity = std::min<std::uint32_t>(view.arity(), kMaxArity);  // verified arenas of janusc tables: <= 3
        for (std::uint32_t p = 0; p < row.arity; ++p) row.params[p] = bound.live_type(e.parameter(p));
        row.result = bound.live_type(e.return_type());
        row.file = e.source_file();
        row.line = e.line();
        row.column = e.column();
        row.wins = e.call_frequency();
        resolved += row.wins;
    }
    const std::uint64_t tuples = tuple_count(program, generic);
    out << "  tuples " << tuples << ": " << resolved << " resolved, " << (tuples - std::min(tuples, resolved))
        << " ambiguous or without a method\n";
    std::uint64_t rank = 0;
    for (std::size_t i : specificity_order(rows, program.registry)) {
        const MethodRow& r = rows[i];
        out << "  " << ++rank << ". " << generic.name << "(";
        for (std::uint32_t p = 0; p < r.arity; ++p) out << (p ? ", " : "") << program.type_name(r.params[p]);
        out << ") -> " << program.type_name(r.result) << " at " << r.file << ":" << std::uint64_t{r.line} << ":"
            << std::uint64_t{r.column} << ", wins " << r.wins << "\n";
    }
    return out.take();
}

}  // namespace janusc
