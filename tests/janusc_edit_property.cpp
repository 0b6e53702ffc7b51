// Precise keys are only worth having if they are never wrong. A random walk of source
// edits on a generated project — comments, method bodies, methods removed, re-added,
// reordered and moved between modules, types added, renamed and given new
// supertypes, signatures widened, --opt-level switched — each step followed by a build
// through one long-lived cache and a --no-cache build: the dispatch summaries and
// warnings must be byte-identical every time. And now and then a cold build into a
// fresh cache: every table it stores under a key the long-lived cache also holds must
// be the same bytes (apart from the creation time), whatever edits led there.
//
// JDC_EDIT_STEPS sets the number of steps (default 200, what CI runs); JDC_EDIT_SEED
// the walk. docs/RELIABILITY.md gives the longer run.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <regex>
#include <sstream>

#include "janusc/build.hpp"
#include "janusc/generator.hpp"
#include "jdc/arena_format.hpp"
#include "jdc/local_store.hpp"
#include "support/temp_dir.hpp"

using namespace janusc;
namespace fs = std::filesystem;

namespace {

std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void write(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary | std::ios::trunc) << text; }

std::map<std::string, std::string> tree(const fs::path& dir) {
    std::map<std::string, std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir))
        if (e.is_regular_file() && e.path().filename().string()[0] != '.') out[e.path().lexically_relative(dir).string()] = read(e.path());
    return out;
}

std::uint64_t env_or(const char* name, std::uint64_t fallback) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : fallback;
}

// A func block: from "func " at the start of a line to the "}\n" that closes it.
struct Block {
    std::size_t begin, end;
};
std::vector<Block> func_blocks(const std::string& text) {
    std::vector<Block> out;
    for (std::size_t at = 0; (at = text.find("func ", at)) != std::string::npos;) {
        if (at != 0 && text[at - 1] != '\n') {
            ++at;
            continue;
        }
        const std::size_t close = text.find("\n}\n", at);
        if (close == std::string::npos) break;
        out.push_back({at, close + 3});
        at = close + 3;
    }
    return out;
}

// Declared names: "type X" and "generic f" at the start of a line.
std::vector<std::string> declared(const std::string& text, const std::string& keyword) {
    std::vector<std::string> out;
    const std::regex re("(^|\n)" + keyword + " ([A-Za-z_][A-Za-z0-9_]*)");
    for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator(); ++it) out.push_back((*it)[2]);
    return out;
}

class Walk {
public:
    explicit Walk(std::uint64_t seed) : rng_(seed) {
        REQUIRE(write_project(generate_project({24, seed}), src_));
        for (const auto& e : fs::recursive_directory_iterator(src_))
            if (e.path().extension() == ".jn") files_.push_back(e.path());
        std::sort(files_.begin(), files_.end());
    }

    // Applies one random edit; returns what it did ("" when it found nothing to do).
    std::string edit() {
        saved_.clear();
        switch (below(11)) {
            case 0: return comment();
            case 1: return body();
            case 2: return remove_method();
            case 3: return readd_method();
            case 4: return reorder_methods();
            case 5: return new_type();
            case 6: return new_supertype();
            case 7: return rename_type();
            case 8: return widen_signature();
            case 9: return move_method();
            default:
                opt_level_ = opt_level_ == OptLevel::hot_path ? OptLevel::none : OptLevel::hot_path;
                return "opt-level: --opt-level " + std::to_string(static_cast<int>(opt_level_));
        }
    }
    void undo() {
        for (const auto& [file, text] : saved_) write(file, text);
        saved_.clear();
    }

    BuildOutcome build(const fs::path& cache, bool use_cache, const fs::path& out) const {
        BuildOptions o;
        o.project = src_;
        o.cache_dir = cache;
        o.use_cache = use_cache;
        o.out = out;
        o.jobs = 2;
        o.opt_level = opt_level_;
        auto r = build_project(o);
        if (!r) FAIL(r.error().message);
        return std::move(*r);
    }

    const fs::path& root() const { return dir_.path; }

private:
    std::size_t below(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(rng_() % n); }
    const fs::path& any_file() { return files_[below(files_.size())]; }
    std::string text_of(const fs::path& f) {
        if (!saved_.count(f)) saved_[f] = read(f);
        return read(f);
    }
    std::string rel(const fs::path& f) const { return f.lexically_relative(src_).string(); }

    std::string comment() {
        const fs::path& f = any_file();
        std::string t = text_of(f);
        std::vector<std::size_t> starts{0};
        for (std::size_t i = 0; i + 1 < t.size(); ++i)
            if (t[i] == '\n') starts.push_back(i + 1);
        t.insert(starts[below(starts.size())], "// an edit\n");
        write(f, t);
        return "comment: in " + rel(f);
    }
    std::string body() {
        const fs::path& f = any_file();
        std::string t = text_of(f);
        std::vector<std::size_t> at;
        for (std::size_t i = t.find("    return "); i != std::string::npos; i = t.find("    return ", i + 1)) at.push_back(i);
        if (at.empty()) return "";
        t.replace(at[below(at.size())], 11, "    return 1 + ");
        write(f, t);
        return "body: in " + rel(f);
    }
    std::string remove_method() {
        const fs::path& f = any_file();
        std::string t = text_of(f);
        const auto blocks = func_blocks(t);
        if (blocks.empty()) return "";
        const Block b = blocks[below(blocks.size())];
        removed_.emplace_back(f, t.substr(b.begin, b.end - b.begin));
        t.erase(b.begin, b.end - b.begin);
        write(f, t);
        return "remove-method: from " + rel(f);
    }
    std::string readd_method() {
        if (removed_.empty()) return "";
        const std::size_t i = below(removed_.size());
        const auto [f, block] = removed_[i];
        removed_.erase(removed_.begin() + static_cast<std::ptrdiff_t>(i));
        write(f, text_of(f) + "\n" + block);
        return "add-method: to " + rel(f);
    }
    std::string reorder_methods() {
        const fs::path& f = any_file();
        std::string t = text_of(f);
        const auto blocks = func_blocks(t);
        if (blocks.size() < 2) return "";
        const std::size_t i = below(blocks.size() - 1);
        const std::string a = t.substr(blocks[i].begin, blocks[i].end - blocks[i].begin);
        const std::string between = t.substr(blocks[i].end, blocks[i + 1].begin - blocks[i].end);
        const std::string b = t.substr(blocks[i + 1].begin, blocks[i + 1].end - blocks[i + 1].begin);
        t.replace(blocks[i].begin, blocks[i + 1].end - blocks[i].begin, b + between + a);
        write(f, t);
        return "reorder-methods: in " + rel(f);
    }
    std::string new_type() {
        const fs::path& f = any_file();
        const std::string t = text_of(f);
        const auto types = declared(t, "type");
        if (types.empty()) return "";
        const std::string name = "Added" + std::to_string(++counter_);
        write(f, t + "\ntype " + name + " : " + types[below(types.size())] + "\n");
        return "new-type: " + name + " in " + rel(f);
    }
    std::string new_supertype() {
        const fs::path& f = any_file();
        std::string t = text_of(f);
        const auto types = declared(t, "type");
        if (types.size() < 2) return "";
        const std::string sub = types[below(types.size())], super = types[below(types.size())];
        const std::regex re("(^|\n)type " + sub + " : ([^\n]*)");
        std::smatch m;
        if (sub == super || !std::regex_search(t, m, re)) return "";
        t.insert(static_cast<std::size_t>(m.position(0) + m.length(0)), ", " + super);
        write(f, t);
        return "new-supertype: " + sub + " gains " + super;
    }
    std::string rename_type() {
        const fs::path& f = any_file();
        const auto types = declared(text_of(f), "type");
        if (types.empty()) return "";
        const std::string old_name = types[below(types.size())];
        const std::string new_name = old_name + "R" + std::to_string(++counter_);
        const std::regex word("\\b" + old_name + "\\b");
        for (const fs::path& g : files_) write(g, std::regex_replace(text_of(g), word, new_name));
        return "rename-type: " + old_name + " to " + new_name;
    }
    std::string widen_signature() {
        // A declared parameter type replaced by another type of the same file: valid
        // when it is a supertype of the old one (else the compiler says no: undone).
        const fs::path& f = any_file();
        std::string t = text_of(f);
        const auto generics = declared(t, "generic");
        const auto types = declared(t, "type");
        if (generics.empty() || types.empty()) return "";
        const std::string g = generics[below(generics.size())];
        const std::regex re("(^|\n)generic " + g + "\\(x: ([A-Za-z0-9_]+)");
        std::smatch m;
        if (!std::regex_search(t, m, re)) return "";
        const std::string replacement = types[below(types.size())];
        t.replace(static_cast<std::size_t>(m.position(2)), static_cast<std::size_t>(m.length(2)), replacement);
        write(f, t);
        return "signature: " + g + " takes " + replacement;
    }
    std::string move_method() {
        // To another module: valid when that one sees everything the method names.
        const fs::path& from = any_file();
        const fs::path& to = any_file();
        if (from == to) return "";
        std::string a = text_of(from);
        const auto blocks = func_blocks(a);
        if (blocks.empty()) return "";
        const Block b = blocks[below(blocks.size())];
        const std::string block = a.substr(b.begin, b.end - b.begin);
        a.erase(b.begin, b.end - b.begin);
        write(from, a);
        write(to, text_of(to) + "\n" + block);
        return "move-method: from " + rel(from) + " to " + rel(to);
    }

    jdc::testing::TempDir dir_;
    fs::path src_ = dir_.path / "project";
    std::vector<fs::path> files_;
    std::mt19937_64 rng_;
    std::map<fs::path, std::string> saved_;
    std::vector<std::pair<fs::path, std::string>> removed_;
    OptLevel opt_level_ = OptLevel::hot_path;
    int counter_ = 0;
};

// Every stored arena of a cache directory, by key, without the header's creation time
// and the checksum that covers it.
std::map<jdc::CacheKey, std::vector<std::byte>> stored_tables(const fs::path& cache) {
    std::map<jdc::CacheKey, std::vector<std::byte>> out;
    auto store = jdc::LocalStore::open(cache);
    REQUIRE(store);
    for (const jdc::IndexEntry& e : store->entries()) {
        auto got = store->get(e.key, jdc::AccessMode::inspect);
        REQUIRE(got);
        std::vector<std::byte> bytes(got->view().bytes().begin(), got->view().bytes().end());
        std::fill_n(bytes.begin() + offsetof(jdc::arena::Header, created_at_ns), 8, std::byte{0});
        std::fill_n(bytes.begin() + offsetof(jdc::arena::Header, metadata_checksum), 8, std::byte{0});
        out.emplace(e.key, std::move(bytes));
    }
    return out;
}

}  // namespace

TEST_CASE("random edit walks: cached and --no-cache builds agree after every step", "[janusc][property][keys]") {
    const std::uint64_t steps = env_or("JDC_EDIT_STEPS", 200);
    const std::uint64_t seed = env_or("JDC_EDIT_SEED", 11);
    Walk walk(seed);
    const fs::path cache = walk.root() / "cache";
    std::map<std::string, std::uint64_t> kinds;
    std::uint64_t done = 0, refused = 0, hits = 0, lookups = 0, compared_keys = 0;
    for (std::uint64_t attempt = 0; done < steps && attempt < steps * 20; ++attempt) {
        const std::string what = walk.edit();
        if (what.empty()) continue;
        CAPTURE(done, what);
        const BuildOutcome cached = walk.build(cache, true, walk.root() / "out-cached");
        if (!cached.diagnostics.empty()) {  // the edit made the program invalid: not a step
            walk.undo();
            ++refused;
            continue;
        }
        ++done;
        ++kinds[what.substr(0, what.find(':'))];
        const BuildOutcome uncached = walk.build(cache, false, walk.root() / "out-uncached");
        REQUIRE(uncached.diagnostics.empty());
        REQUIRE(tree(cached.out_dir) == tree(uncached.out_dir));
        hits += cached.cache.hits;
        lookups += cached.cache.lookups;
        if (done % 40 == 0 || done == steps) {
            // A cold build of the same sources, in a fresh cache: the same key must mean
            // the same table, whichever history wrote it.
            const fs::path fresh = walk.root() / ("fresh" + std::to_string(done));
            REQUIRE(walk.build(fresh, true, walk.root() / "out-fresh").diagnostics.empty());
            const auto ours = stored_tables(cache);
            for (const auto& [key, bytes] : stored_tables(fresh)) {
                const auto same = ours.find(key);
                REQUIRE(same != ours.end());  // the long-lived cache holds every table of the current sources
                CHECK(same->second == bytes);
                ++compared_keys;
            }
            fs::remove_all(fresh);
        }
    }
    std::string spread;
    for (const auto& [k, n] : kinds) spread += " " + k + " " + std::to_string(n);
    INFO(done << " steps (" << refused << " edits refused by the compiler):" << spread << "; " << hits << " of " << lookups
              << " lookups hit; " << compared_keys << " keys compared across histories");
    CHECK(done == steps);
    CHECK(kinds.size() == 11);  // the walk really mixes every kind of edit
    CHECK(hits > 0);
    CHECK(hits < lookups);
    CHECK(compared_keys > 0);
}
