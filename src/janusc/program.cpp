#include "janusc/program.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <functional>
#include <optional>
#include <queue>
#include <unordered_map>

#include "janusc/module_set.hpp"

namespace janusc {

std::size_t Program::method_count() const noexcept {
    std::size_t n = 0;
    for (const Generic& g : generics) n += g.methods.size();
    return n;
}

const std::string& Program::type_name(jdc::TypeId t) const {
    static const std::string unknown = "?";
    const jdc::Type* type = registry.find(t);
    return type != nullptr ? type->name : unknown;
}

namespace {

constexpr std::size_t kNoModule = SIZE_MAX;

bool is_identifier(std::string_view s) {
    if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
    return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

// "geometry/shapes.jn" -> "geometry.shapes"; nullopt when a component is not an identifier.
std::optional<std::string> module_name_for(std::string_view path) {
    constexpr std::string_view ext = ".jn";
    if (path.size() <= ext.size() || path.substr(path.size() - ext.size()) != ext) return std::nullopt;
    path.remove_suffix(ext.size());
    std::string name;
    while (true) {
        const std::size_t slash = path.find('/');
        const std::string_view part = path.substr(0, slash);
        if (!is_identifier(part)) return std::nullopt;
        name += part;
        if (slash == std::string_view::npos) return name;
        name += '.';
        path.remove_prefix(slash + 1);
    }
}

std::optional<jdc::TypeId> builtin_type(std::string_view name) {
    if (name == "i32") return jdc::kTypeI32;
    if (name == "f64") return jdc::kTypeF64;
    if (name == "bool") return jdc::kTypeBool;
    if (name == "string") return jdc::kTypeString;
    return std::nullopt;
}

std::string where(const std::string& file, SourcePos pos) {
    return file + ":" + std::to_string(pos.line) + ":" + std::to_string(pos.column);
}

}  // namespace

class Analyzer {
public:
    explicit Analyzer(std::vector<SourceModule> in) : src_(std::move(in)) {}

    tl::expected<Program, Diagnostics> run() {
        if (!check_module_names() || !resolve_imports() || !order_modules()) return fail();
        declare_types();
        for (std::size_t m : p_.import_order) register_module_types(m);
        declare_generics();
        for (std::size_t m : p_.import_order) check_methods(m);
        if (!errors_.empty()) return fail();
        finish();
        if (!errors_.empty()) return fail();
        return std::move(p_);
    }

private:
    struct TypeDeclRef {
        std::size_t module;
        std::size_t index;                    // in the module's ast types
        jdc::TypeId id = jdc::kInvalidType;  // once registered; stays invalid when its declaration had errors
    };
    struct GenericRef {
        std::size_t module;
        std::size_t index;  // in the module's ast generics
        std::optional<std::size_t> generic;  // index into p_.generics; nullopt when its declaration had errors
    };

    tl::unexpected<Diagnostics> fail() {
        std::stable_sort(errors_.begin(), errors_.end(),
                         [](const Diagnostic& a, const Diagnostic& b) { return std::tie(a.file, a.pos) < std::tie(b.file, b.pos); });
        return tl::unexpected(std::move(errors_));
    }

    void error(std::size_t module, SourcePos pos, std::string message) {
        errors_.push_back({src_[module].module.file, pos, std::move(message)});
    }
    const std::string& file_of(std::size_t module) const { return src_[module].module.file; }

    // ---- Modules and imports ---------------------------------------------------------

    bool check_module_names() {
        std::sort(src_.begin(), src_.end(), [](const SourceModule& a, const SourceModule& b) { return a.path < b.path; });
        for (std::size_t m = 0; m < src_.size(); ++m) {
            ModuleInfo info;
            info.path = src_[m].path;
            info.display = src_[m].module.file;
            const auto expected = module_name_for(src_[m].path);
            if (!expected) {
                error(m, {1, 1},
                      "file '" + src_[m].path + "' cannot hold a module: its directory and file names (without .jn) must be identifiers");
            } else if (src_[m].module.name.text != *expected) {
                error(m, src_[m].module.name.pos,
                      "module '" + src_[m].module.name.text + "' must be in file '" + module_path(src_[m].module.name.text) +
                          "'; this file holds module '" + *expected + "'");
            } else {
                info.name = *expected;
            }
            p_.modules.push_back(std::move(info));
        }
        if (!errors_.empty()) return false;
        // Paths sorted, names derived from them: sort by name (a/b.jn and a_b.jn order differently).
        std::vector<std::size_t> order(src_.size());
        for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
        std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return p_.modules[a].name < p_.modules[b].name; });
        std::vector<SourceModule> src;
        std::vector<ModuleInfo> infos;
        for (std::size_t i : order) {
            src.push_back(std::move(src_[i]));
            infos.push_back(std::move(p_.modules[i]));
        }
        src_ = std::move(src);
        p_.modules = std::move(infos);
        for (std::size_t m = 0; m < p_.modules.size(); ++m) module_index_.emplace(p_.modules[m].name, m);
        return true;
    }

    static std::string module_path(const std::string& name) {
        std::string path = name;
        std::replace(path.begin(), path.end(), '.', '/');
        return path + ".jn";
    }

    bool resolve_imports() {
        for (std::size_t m = 0; m < src_.size(); ++m) {
            auto& imports = p_.modules[m].imports;
            for (const ast::Import& imp : src_[m].module.imports) {
                const auto it = module_index_.find(imp.module.text);
                if (it == module_index_.end()) {
                    error(m, imp.module.pos,
                          "module '" + imp.module.text + "' not found: the project has no file '" + module_path(imp.module.text) + "'");
                } else if (it->second == m) {
                    error(m, imp.module.pos, "module '" + imp.module.text + "' imports itself");
                } else {
                    imports.push_back(it->second);
                }
            }
            std::sort(imports.begin(), imports.end());
            imports.erase(std::unique(imports.begin(), imports.end()), imports.end());
        }
        return errors_.empty();
    }

    SourcePos import_pos(std::size_t from, std::size_t to) const {
        for (const ast::Import& imp : src_[from].module.imports)
            if (imp.module.text == p_.modules[to].name) return imp.module.pos;
        return {1, 1};
    }

    // Kahn's algorithm, smallest name first among the ready modules, so the order (and
    // with it every TypeId) depends only on the program. Modules left over lie on or
    // behind an import cycle; each cycle is reported once, at the import that closes it.
    bool order_modules() {
        const std::size_t n = p_.modules.size();
        std::vector<std::size_t> waiting(n, 0);
        std::vector<std::vector<std::size_t>> importers(n);
        for (std::size_t m = 0; m < n; ++m) {
            waiting[m] = p_.modules[m].imports.size();
            for (std::size_t i : p_.modules[m].imports) importers[i].push_back(m);
        }
        std::priority_queue<std::size_t, std::vector<std::size_t>, std::greater<>> ready;
        for (std::size_t m = 0; m < n; ++m)
            if (waiting[m] == 0) ready.push(m);
        while (!ready.empty()) {
            const std::size_t m = ready.top();
            ready.pop();
            p_.import_order.push_back(m);
            for (std::size_t user : importers[m])
                if (--waiting[user] == 0) ready.push(user);
        }
        if (p_.import_order.size() == n) return true;
        std::vector<bool> reported(n, false);
        for (std::size_t start = 0; start < n; ++start) {
            if (waiting[start] == 0 || reported[start]) continue;
            // Follow unfinished imports until a module repeats: that loop is a cycle.
            std::vector<std::size_t> path;
            std::vector<std::size_t> seen_at(n, SIZE_MAX);
            std::size_t m = start;
            while (seen_at[m] == SIZE_MAX && !reported[m]) {
                seen_at[m] = path.size();
                path.push_back(m);
                for (std::size_t i : p_.modules[m].imports)
                    if (waiting[i] != 0) {
                        m = i;
                        break;
                    }
            }
            if (reported[m]) continue;  // led into a cycle already reported
            std::string cycle;
            for (std::size_t k = seen_at[m]; k < path.size(); ++k) {
                cycle += p_.modules[path[k]].name + " -> ";
                reported[path[k]] = true;
            }
            cycle += p_.modules[m].name;
            error(path.back(), import_pos(path.back(), m), "import cycle: " + cycle);
        }
        return false;
    }

    void compute_visibility() {
        visible_.assign(p_.modules.size(), ModuleSet(p_.modules.size()));
        for (std::size_t m : p_.import_order) {
            visible_[m].insert(m);
            for (std::size_t i : p_.modules[m].imports) visible_[m].merge(visible_[i]);
        }
    }

    // ---- Types -----------------------------------------------------------------------

    void declare_types() {
        compute_visibility();
        for (std::size_t m : p_.import_order) {
            const auto& types = src_[m].module.types;
            for (std::size_t i = 0; i < types.size(); ++i) {
                const ast::Name& name = types[i].name;
                if (builtin_type(name.text)) {
                    error(m, name.pos, "type '" + name.text + "' is a built-in type and cannot be declared");
                    continue;
                }
                const auto [it, fresh] = type_decls_.emplace(name.text, TypeDeclRef{m, i, jdc::kInvalidType});
                if (!fresh)
                    error(m, name.pos,
                          "type '" + name.text + "' is already declared at " +
                              where(file_of(it->second.module), src_[it->second.module].module.types[it->second.index].name.pos));
            }
        }
        p_.type_module.assign(jdc::kFirstUserType, kNoModule);
    }

    // The id of a type named where `module` uses it, or nullopt after reporting why not.
    // A type whose own declaration had errors resolves to nullopt silently: its
    // declaration already said what is wrong.
    std::optional<jdc::TypeId> resolve_type(std::size_t module, const ast::Name& name) {
        if (auto b = builtin_type(name.text)) return b;
        const auto it = type_decls_.find(name.text);
        if (it == type_decls_.end()) {
            error(module, name.pos, "undefined type '" + name.text + "'");
            return std::nullopt;
        }
        const std::size_t owner = it->second.module;
        if (!visible_[module].contains(owner)) {
            error(module, name.pos,
                  "type '" + name.text + "' is declared in module '" + p_.modules[owner].name + "', which module '" +
                      p_.modules[module].name + "' does not import");
            return std::nullopt;
        }
        if (it->second.id == jdc::kInvalidType) return std::nullopt;
        return it->second.id;
    }

    // Registers the module's types, supertypes first and otherwise in declaration
    // order (so ids are stable as long as the source is). Types on a supertype cycle
    // are reported; types that depend on a broken type are skipped silently.
    void register_module_types(std::size_t m) {
        const auto& decls = src_[m].module.types;
        const std::size_t n = decls.size();
        std::vector<std::vector<std::size_t>> local_supers(n), local_subs(n);
        std::vector<bool> usable(n, true);
        for (std::size_t i = 0; i < n; ++i) {
            const auto owner = type_decls_.find(decls[i].name.text);
            if (owner == type_decls_.end() || owner->second.module != m || owner->second.index != i) usable[i] = false;  // duplicate
            const auto& supers = decls[i].supertypes;
            for (const ast::Name& super : supers) {
                const auto first = std::find_if(supers.begin(), supers.end(), [&](const ast::Name& n) { return n.text == super.text; });
                if (&*first != &super) {
                    error(m, super.pos, "type '" + decls[i].name.text + "' lists supertype '" + super.text + "' twice");
                    usable[i] = false;
                    continue;
                }
                if (builtin_type(super.text)) {
                    error(m, super.pos, "type '" + decls[i].name.text + "' cannot have built-in type '" + super.text + "' as a supertype");
                    usable[i] = false;
                    continue;
                }
                const auto it = type_decls_.find(super.text);
                if (it != type_decls_.end() && it->second.module == m) {
                    local_supers[i].push_back(it->second.index);
                    local_subs[it->second.index].push_back(i);
                }
            }
        }
        std::vector<std::size_t> waiting(n);
        std::priority_queue<std::size_t, std::vector<std::size_t>, std::greater<>> ready;
        for (std::size_t i = 0; i < n; ++i) {
            waiting[i] = local_supers[i].size();
            if (waiting[i] == 0) ready.push(i);
        }
        std::vector<bool> done(n, false);
        while (!ready.empty()) {
            const std::size_t i = ready.top();
            ready.pop();
            done[i] = true;
            if (usable[i]) register_type(m, decls[i]);
            for (std::size_t sub : local_subs[i])
                if (--waiting[sub] == 0) ready.push(sub);
        }
        report_type_cycles(m, local_supers, done);
    }

    void register_type(std::size_t m, const ast::TypeDecl& decl) {
        std::vector<jdc::TypeId> supers;
        bool ok = true;
        for (const ast::Name& super : decl.supertypes) {
            const auto id = resolve_type(m, super);
            if (!id) ok = false;
            else supers.push_back(*id);
        }
        if (!ok) return;
        auto id = p_.registry.add(decl.name.text, jdc::TypeKind::struct_, supers);
        if (!id) {
            error(m, decl.name.pos, id.error().message);
            return;
        }
        type_decls_.find(decl.name.text)->second.id = *id;
        p_.type_module.resize(*id + 1, kNoModule);
        p_.type_module[*id] = m;
        p_.modules[m].types.push_back(*id);
    }

    void report_type_cycles(std::size_t m, const std::vector<std::vector<std::size_t>>& local_supers, const std::vector<bool>& done) {
        const auto& decls = src_[m].module.types;
        std::vector<bool> reported(decls.size(), false);
        for (std::size_t start = 0; start < decls.size(); ++start) {
            if (done[start] || reported[start]) continue;
            std::vector<std::size_t> path;
            std::vector<std::size_t> seen_at(decls.size(), SIZE_MAX);
            std::size_t t = start;
            while (seen_at[t] == SIZE_MAX && !reported[t]) {
                seen_at[t] = path.size();
                path.push_back(t);
                for (std::size_t s : local_supers[t])
                    if (!done[s]) {
                        t = s;
                        break;
                    }
            }
            if (reported[t]) continue;
            std::string cycle;
            for (std::size_t k = seen_at[t]; k < path.size(); ++k) {
                cycle += decls[path[k]].name.text + " -> ";
                reported[path[k]] = true;
            }
            cycle += decls[t].name.text;
            const std::size_t closing = path.back();
            SourcePos at = decls[closing].name.pos;
            for (const ast::Name& super : decls[closing].supertypes)
                if (super.text == decls[t].name.text) at = super.pos;
            error(m, at, "supertype cycle: " + cycle);
        }
    }

    // ---- Generic functions and methods --------------------------------------------------

    bool check_param_names(std::size_t m, const ast::Function& fn) {
        bool ok = true;
        for (std::size_t i = 0; i < fn.params.size(); ++i)
            for (std::size_t j = 0; j < i; ++j)
                if (fn.params[i].name.text == fn.params[j].name.text) {
                    error(m, fn.params[i].name.pos, "parameter '" + fn.params[i].name.text + "' is declared twice");
                    ok = false;
                }
        return ok;
    }

    void declare_generics() {
        for (std::size_t m : p_.import_order) {
            const auto& generics = src_[m].module.generics;
            for (std::size_t i = 0; i < generics.size(); ++i) {
                const ast::Function& fn = generics[i];
                const auto [it, fresh] = generic_decls_.emplace(fn.name.text, GenericRef{m, i, std::nullopt});
                if (!fresh) {
                    error(m, fn.name.pos,
                          "generic function '" + fn.name.text + "' is already declared at " +
                              where(file_of(it->second.module), src_[it->second.module].module.generics[it->second.index].name.pos));
                    continue;
                }
                bool ok = check_param_names(m, fn);
                if (fn.params.empty() || fn.params.size() > kMaxArity) {
                    error(m, fn.name.pos,
                          "generic function '" + fn.name.text + "' takes " + std::to_string(fn.params.size()) +
                              " parameters; Janus dispatches on 1 to " + std::to_string(kMaxArity));
                    ok = false;
                }
                Generic g;
                g.name = fn.name.text;
                g.module = m;
                g.pos = fn.name.pos;
                for (const ast::Param& param : fn.params) {
                    const auto t = resolve_type(m, param.type);
                    if (!t) ok = false;
                    else g.signature.parameter_types.push_back(*t);
                }
                const auto result = resolve_type(m, fn.result);
                if (!result) ok = false;
                else g.signature.return_type = *result;
                if (!ok) continue;
                it->second.generic = p_.generics.size();
                p_.modules[m].generics.push_back(p_.generics.size());
                p_.generics.push_back(std::move(g));
            }
        }
    }

    enum class GenericUse : std::uint8_t { method, call };

    // The generic function a method or call names, or nullptr after reporting why not
    // (silently when the generic's own declaration had errors).
    const GenericRef* find_generic(std::size_t m, std::string_view name, SourcePos pos, GenericUse use) {
        const auto it = generic_decls_.find(name);
        if (it == generic_decls_.end()) {
            const std::string n(name);
            if (use == GenericUse::method)
                error(m, pos, "no generic function '" + n + "' is declared: declare it with 'generic " + n + "(...) -> T'");
            else
                error(m, pos, "undefined function '" + n + "'");
            return nullptr;
        }
        if (!visible_[m].contains(it->second.module)) {
            error(m, pos,
                  "generic function '" + std::string(name) + "' is declared in module '" + p_.modules[it->second.module].name +
                      "', which module '" + p_.modules[m].name + "' does not import");
            return nullptr;
        }
        return it->second.generic ? &it->second : nullptr;
    }

    std::string generic_where(const GenericRef& ref) const {
        return where(file_of(ref.module), src_[ref.module].module.generics[ref.index].name.pos);
    }

    std::string signature_text(const std::string& name, const std::vector<jdc::TypeId>& params) const {
        std::string s = name + "(";
        for (std::size_t i = 0; i < params.size(); ++i) s += (i ? ", " : "") + p_.type_name(params[i]);
        return s + ")";
    }

    void check_methods(std::size_t m) {
        for (const ast::Function& fn : src_[m].module.methods) {
            const GenericRef* ref = find_generic(m, fn.name.text, fn.name.pos, GenericUse::method);
            bool ok = check_param_names(m, fn) && ref != nullptr;
            Method method;
            method.module = m;
            method.pos = fn.name.pos;
            std::vector<jdc::TypeId> param_types;  // kInvalidType where the type is wrong: the body is still checked
            for (const ast::Param& param : fn.params) {
                const auto t = resolve_type(m, param.type);
                param_types.push_back(t.value_or(jdc::kInvalidType));
                method.parameter_names.push_back(param.name.text);
                if (!t) ok = false;
                else method.parameters.push_back(*t);
            }
            check_body(m, fn, param_types);
            const auto result = resolve_type(m, fn.result);
            if (!result) ok = false;
            else method.result = *result;
            if (!ok) continue;
            Generic& g = p_.generics[*ref->generic];
            if (fn.params.size() != g.signature.arity()) {
                error(m, fn.name.pos,
                      "method '" + fn.name.text + "' has " + std::to_string(fn.params.size()) + " parameters, but generic function '" +
                          g.name + "' (" + generic_where(*ref) + ") takes " + std::to_string(g.signature.arity()));
                continue;
            }
            for (std::size_t i = 0; i < fn.params.size(); ++i) {
                const jdc::TypeId declared = g.signature.parameter_types[i];
                if (!p_.registry.is_subtype(method.parameters[i], declared)) {
                    error(m, fn.params[i].type.pos,
                          "parameter '" + fn.params[i].name.text + "' of method '" + fn.name.text + "' has type '" +
                              fn.params[i].type.text + "', which is not a subtype of '" + p_.type_name(declared) +
                              "' declared by generic function '" + g.name + "' (" + generic_where(*ref) + ")");
                    ok = false;
                }
            }
            if (!p_.registry.is_subtype(method.result, g.signature.return_type)) {
                error(m, fn.result.pos,
                      "method '" + fn.name.text + "' returns '" + fn.result.text + "', which is not a subtype of '" +
                          p_.type_name(g.signature.return_type) + "' returned by generic function '" + g.name + "' (" +
                          generic_where(*ref) + ")");
                ok = false;
            }
            if (ok) g.methods.push_back(std::move(method));
        }
    }

    static bool is_number(jdc::TypeId t) { return t == jdc::kTypeI32 || t == jdc::kTypeF64; }

    static const char* operator_text(ast::ExprKind kind) {
        switch (kind) {
            case ast::ExprKind::add: return "+";
            case ast::ExprKind::subtract:
            case ast::ExprKind::negate: return "-";
            case ast::ExprKind::multiply: return "*";
            default: return "/";
        }
    }

    // Where an expression starts in the source: a binary operator's node sits at the
    // operator, but a diagnostic about an operand as a whole points at its first token.
    static SourcePos start_of(const ast::Function& fn, std::uint32_t e) {
        while (fn.exprs[e].operand_count == 2 && fn.exprs[e].kind != ast::ExprKind::call) e = fn.operands_of(fn.exprs[e])[0];
        return fn.exprs[e].pos;
    }

    // Names, calls and static types in a method body (docs/janus-language.md, "Static
    // types"). Operands precede the expression using them (ast.hpp), so one forward
    // pass over each statement's expressions types them without recursion: a long
    // `a + b + c ...` chain costs no stack. kInvalidType marks an expression whose type
    // is unknown because of an error already reported; it raises no further error.
    void check_body(std::size_t m, const ast::Function& fn, const std::vector<jdc::TypeId>& param_types) {
        // Parameters and lets: a handful, so a linear search beats a hash set.
        struct Local {
            std::string_view name;
            jdc::TypeId type;
        };
        std::vector<Local> scope;
        auto find_local = [&](std::string_view name) {
            return std::find_if(scope.begin(), scope.end(), [&](const Local& l) { return l.name == name; });
        };
        for (std::size_t i = 0; i < fn.params.size(); ++i) scope.push_back({fn.params[i].name.text, param_types[i]});
        std::vector<jdc::TypeId>& types = expr_types_;
        types.assign(fn.exprs.size(), jdc::kInvalidType);
        std::uint32_t next = 0;  // the first expression of the next statement
        for (const ast::Stmt& s : fn.body) {
            for (std::uint32_t i = next; i <= s.expr; ++i) types[i] = expr_type(m, fn, i, types, [&](std::string_view name) {
                const auto it = find_local(name);
                return it == scope.end() ? std::optional<jdc::TypeId>() : std::optional<jdc::TypeId>(it->type);
            });
            next = s.expr + 1;
            if (s.kind != ast::StmtKind::let) continue;
            if (find_local(s.name.text) == scope.end()) scope.push_back({s.name.text, types[s.expr]});
            else error(m, s.name.pos, "'" + s.name.text + "' is already defined in method '" + fn.name.text + "'");
        }
    }

    // The static type of fn.exprs[i], whose operands are typed already; reports what is
    // wrong with it and records it as a call site when it is a well-typed call.
    template <class Lookup>
    jdc::TypeId expr_type(std::size_t m, const ast::Function& fn, std::uint32_t i, const std::vector<jdc::TypeId>& types,
                          const Lookup& lookup) {
        const ast::Expr& e = fn.exprs[i];
        const auto operands = fn.operands_of(e);
        switch (e.kind) {
            case ast::ExprKind::integer: return jdc::kTypeI32;
            case ast::ExprKind::floating: return jdc::kTypeF64;
            case ast::ExprKind::string: return jdc::kTypeString;
            case ast::ExprKind::boolean: return jdc::kTypeBool;
            case ast::ExprKind::name: {
                const auto t = lookup(e.text);
                if (!t) error(m, e.pos, "undefined name '" + e.text + "' in method '" + fn.name.text + "'");
                return t.value_or(jdc::kInvalidType);
            }
            case ast::ExprKind::negate: {
                const jdc::TypeId t = types[operands[0]];
                if (t == jdc::kInvalidType || is_number(t)) return t;
                error(m, e.pos, "operator '-' needs a number (i32 or f64), but its operand has type '" + p_.type_name(t) + "'");
                return jdc::kInvalidType;
            }
            case ast::ExprKind::add:
            case ast::ExprKind::subtract:
            case ast::ExprKind::multiply:
            case ast::ExprKind::divide: {
                const jdc::TypeId left = types[operands[0]], right = types[operands[1]];
                if (left == jdc::kInvalidType || right == jdc::kInvalidType) return jdc::kInvalidType;
                if (is_number(left) && is_number(right)) return left == jdc::kTypeI32 && right == jdc::kTypeI32 ? jdc::kTypeI32 : jdc::kTypeF64;
                const bool left_bad = !is_number(left);
                error(m, e.pos,
                      std::string("operator '") + operator_text(e.kind) + "' needs numbers (i32 or f64), but its " +
                          (left_bad ? "left" : "right") + " operand has type '" + p_.type_name(left_bad ? left : right) + "'");
                return jdc::kInvalidType;
            }
            case ast::ExprKind::call: break;
        }
        const GenericRef* ref = find_generic(m, e.text, e.pos, GenericUse::call);
        if (ref == nullptr) return jdc::kInvalidType;
        const std::size_t gi = *ref->generic;
        const Generic& g = p_.generics[gi];
        if (e.operand_count != g.signature.arity()) {
            error(m, e.pos,
                  "call to '" + e.text + "' passes " + std::to_string(e.operand_count) + " arguments, but generic function '" + g.name +
                      "' (" + generic_where(*ref) + ") takes " + std::to_string(g.signature.arity()));
            return g.signature.return_type;
        }
        CallSite site;
        site.module = m;
        site.pos = e.pos;
        site.generic = gi;
        site.arity = e.operand_count;
        bool typed = true;
        for (std::uint32_t a = 0; a < e.operand_count; ++a) {
            const jdc::TypeId t = types[operands[a]], declared = g.signature.parameter_types[a];
            if (t == jdc::kInvalidType) {
                typed = false;
            } else if (!p_.registry.is_subtype(t, declared)) {
                error(m, start_of(fn, operands[a]),
                      "argument " + std::to_string(a + 1) + " of call to '" + g.name + "' has type '" + p_.type_name(t) +
                          "', which is not a subtype of '" + p_.type_name(declared) + "' declared by generic function '" + g.name + "' (" +
                          generic_where(*ref) + ")");
                typed = false;
            }
            site.argument_storage[a] = t;
        }
        if (typed) p_.call_sites.push_back(site);
        return g.signature.return_type;
    }

    // ---- The finished program ----------------------------------------------------------

    void finish() {
        for (Generic& g : p_.generics) {
            // Duplicates: identical parameter types. Reported at the later definition.
            std::sort(g.methods.begin(), g.methods.end(), [](const Method& a, const Method& b) {
                return std::tie(a.module, a.pos) < std::tie(b.module, b.pos);
            });
            // Methods by parameter types, then source order: a duplicate follows its original.
            std::vector<const Method*> by_params;
            for (const Method& method : g.methods) by_params.push_back(&method);
            std::stable_sort(by_params.begin(), by_params.end(), [](const Method* a, const Method* b) { return a->parameters < b->parameters; });
            for (std::size_t i = 1; i < by_params.size(); ++i) {
                const Method* first = by_params[i - 1];
                while (i < by_params.size() && by_params[i]->parameters == first->parameters) {
                    error(by_params[i]->module, by_params[i]->pos,
                          "duplicate method " + signature_text(g.name, by_params[i]->parameters) + ": already defined at " +
                              where(file_of(first->module), first->pos));
                    ++i;
                }
            }
            for (const Method& method : g.methods) g.method_modules.push_back(method.module);
            g.method_modules.push_back(g.module);
            std::sort(g.method_modules.begin(), g.method_modules.end());
            g.method_modules.erase(std::unique(g.method_modules.begin(), g.method_modules.end()), g.method_modules.end());
        }
        for (const Generic& g : p_.generics)
            for (const Method& method : g.methods) ++p_.modules[method.module].method_count;
        if (!errors_.empty()) return;
        compute_subtypes();
        // Bodies were checked in import order; a call site is found by (module, position).
        std::sort(p_.call_sites.begin(), p_.call_sites.end(),
                  [](const CallSite& a, const CallSite& b) { return std::tie(a.module, a.pos) < std::tie(b.module, b.pos); });
    }

    // subtypes_[a] = every t with t <= a, in id order: each type adds itself to the
    // lists of all its ancestors (the union of its supertypes' ancestors).
    void compute_subtypes() {
        const std::size_t n = p_.registry.size() + 1;
        p_.subtypes_.assign(n, {});
        std::vector<std::vector<jdc::TypeId>> ancestors(n);
        for (const jdc::Type& t : p_.registry.types()) {
            std::vector<jdc::TypeId>& mine = ancestors[t.id];
            mine.push_back(t.id);
            for (jdc::TypeId s : t.supertypes) mine.insert(mine.end(), ancestors[s].begin(), ancestors[s].end());
            std::sort(mine.begin(), mine.end());
            mine.erase(std::unique(mine.begin(), mine.end()), mine.end());
            for (jdc::TypeId a : mine) p_.subtypes_[a].push_back(t.id);
        }
    }

    std::vector<SourceModule> src_;
    Program p_;
    Diagnostics errors_;
    struct NameHash {  // lookups by string_view, without a temporary string
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    };
    template <class T>
    using NameMap = std::unordered_map<std::string, T, NameHash, std::equal_to<>>;

    NameMap<std::size_t> module_index_;
    std::vector<ModuleSet> visible_;
    NameMap<TypeDeclRef> type_decls_;
    NameMap<GenericRef> generic_decls_;
    std::vector<jdc::TypeId> expr_types_;  // check_body's, reused from method to method
};

tl::expected<Program, Diagnostics> analyze(std::vector<SourceModule> modules) {
    Analyzer a(std::move(modules));
    return a.run();
}

}  // namespace janusc
