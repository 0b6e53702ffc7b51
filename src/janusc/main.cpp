// janusc — the reference compiler of the Janus language, a client of jdc.
//
//   janusc build DIR [--cache-dir D] [--no-cache] [--jobs N] [--out O] [--opt-level 0|1] [--report-json F] [--Werror]
//   janusc gen --size small|medium|large|N [--seed S] OUT
//   janusc cache ARGS...        runs `jdc ARGS...` (the jdc next to janusc, else the one on PATH)
//
// Exit codes: 0 success (warnings do not change it); 1 compile errors, or warnings
// with --Werror; 2 usage or I/O error. Errors and warnings go to stderr, before the
// build report.
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "janusc/build.hpp"
#include "janusc/generator.hpp"
#include "jdc/detail/atomic_file.hpp"
#include "util/command_line.hpp"
#include "util/progress_bar.hpp"

namespace {

namespace fs = std::filesystem;

constexpr int kExitOk = 0;
constexpr int kExitCompileErrors = 1;
constexpr int kExitUsage = 2;
constexpr std::size_t kMaxDiagnosticsShown = 200;

// Replaces this process with `jdc ARGS...`: the jdc installed beside janusc (both come
// from one build), else the first on PATH. Returns only on failure.
int forward_to_jdc(int argc, char** argv) {
    std::vector<char*> args;
    std::string sibling;
    char self[PATH_MAX];
    const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        sibling = (fs::path(self).parent_path() / "jdc").string();
    }
    args.push_back(const_cast<char*>("jdc"));
    for (int i = 2; i < argc; ++i) args.push_back(argv[i]);
    args.push_back(nullptr);
    if (!sibling.empty() && access(sibling.c_str(), X_OK) == 0) {
        args[0] = sibling.data();
        execv(sibling.c_str(), args.data());
        std::cerr << "janusc: cannot run '" << sibling << "': " << std::strerror(errno) << "\n";
        return kExitUsage;
    }
    execvp("jdc", args.data());
    std::cerr << "janusc: cannot run jdc: it is neither beside janusc" << (sibling.empty() ? "" : " (" + sibling + ")")
              << " nor on PATH (" << std::strerror(errno) << ")\n";
    return kExitUsage;
}

int run_build(janusc::BuildOptions options, const std::string& report_json) {
    // A large project takes seconds: on a terminal, stderr shows the phase and its
    // count, and is cleared before any diagnostic or the report is printed.
    jdc::detail::ProgressBar bar("janusc");
    std::mutex phase_mutex;
    std::string phase;
    options.progress = [&](std::string_view now, std::size_t done, std::size_t total) {
        {
            std::lock_guard<std::mutex> guard(phase_mutex);
            if (phase != now) {
                phase = std::string(now);
                bar.relabel("janusc: " + phase);
            }
        }
        bar.update(done, total);
    };
    auto outcome = janusc::build_project(options);
    bar.finish();
    if (!outcome) {
        std::cerr << "janusc: " << outcome.error().message << "\n";
        return kExitUsage;
    }
    if (!outcome->diagnostics.empty()) {
        const auto& d = outcome->diagnostics;
        const std::size_t shown = std::min(d.size(), kMaxDiagnosticsShown);
        // Warnings made errors come already bounded (kMaxWarningsShown); the stats count them all.
        const std::size_t total = outcome->failed_on_warnings ? outcome->stats.warnings : d.size();
        for (std::size_t i = 0; i < shown; ++i) std::cerr << d[i].to_string() << "\n";
        if (total > shown) std::cerr << "janusc: " << total - shown << " more errors not shown\n";
        std::cerr << "janusc: build failed: " << total << (total == 1 ? " error" : " errors")
                  << (outcome->failed_on_warnings ? " (warnings, with --Werror)\n" : "\n");
        return kExitCompileErrors;
    }
    for (const janusc::Diagnostic& w : outcome->warnings) std::cerr << w.to_string() << "\n";
    if (outcome->stats.warnings > outcome->warnings.size())
        std::cerr << "janusc: " << outcome->stats.warnings - outcome->warnings.size() << " more warnings not shown (at most "
                  << janusc::kMaxWarningsPerFile << " per file, " << janusc::kMaxWarningsShown << " in all)\n";
    std::cerr.flush();  // warnings before the report, also when both go to one terminal or file
    janusc::print_build_report(*outcome, options.project, std::cout);
    if (!report_json.empty()) {
        const std::string text = janusc::build_report_json(*outcome) + "\n";
        if (auto w = jdc::write_file_atomically(report_json, std::as_bytes(std::span<const char>(text.data(), text.size()))); !w) {
            std::cerr << "janusc: cannot write the report: " << w.error().message << "\n";
            return kExitUsage;
        }
    }
    return kExitOk;
}

int run_gen(const std::string& size, std::uint64_t seed, const std::string& out) {
    const auto functions = janusc::parse_project_size(size);
    if (!functions) {
        std::cerr << "janusc: --size must be small, medium, large or a number of generic functions from 1 to "
                  << janusc::kMaxGeneratedFunctions << ", not '" << size << "'\n";
        return kExitUsage;
    }
    const janusc::GeneratedProject project = janusc::generate_project({*functions, seed});
    if (auto w = janusc::write_project(project, out); !w) {
        std::cerr << "janusc: " << w.error().message << "\n";
        return kExitUsage;
    }
    std::cout << "janusc gen: " << project.modules << " modules, " << project.types << " types, " << project.generics
              << " generic functions, " << project.methods << " methods in " << out << " (seed " << seed << ")\n"
              << janusc::describe_stats(project);
    return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc >= 2 && std::strcmp(argv[1], "cache") == 0) return forward_to_jdc(argc, argv);

    CLI::App app{"janusc: the reference compiler of the Janus language, built on the jdc dispatch cache", "janusc"};
    app.set_version_flag("--version", janusc::compiler_version());
    app.require_subcommand(1);

    janusc::BuildOptions build;
    std::string cache_dir, out_dir, report_json;
    unsigned opt_level = 1;
    const unsigned cores = std::thread::hardware_concurrency();
    build.jobs = cores == 0 ? 1 : cores;
    auto* b = app.add_subcommand("build", "Build a project: check it, get every dispatch table through the cache, write summaries");
    b->add_option("dir", build.project, "Project directory (every *.jn file under it)")->required();
    b->add_option("--cache-dir", cache_dir, "Cache directory (default: $JANUS_CACHE_DIR, else DIR/.janus_cache/dispatch_tables)");
    bool no_cache = false;
    b->add_flag("--no-cache", no_cache, "Build every table; read and write no cache");
    b->add_option("--jobs,-j", build.jobs, "Threads for parsing and tables")->capture_default_str()->check(CLI::Range(1u, 256u));
    b->add_option("--out,-o", out_dir, "Where the dispatch summaries go (default: DIR/janus-out)");
    b->add_option("--opt-level,-O", opt_level, "0: methods in source order; 1: hottest first")->capture_default_str()->check(CLI::Range(0u, 1u));
    b->add_option("--report-json", report_json, "Also write the build report as JSON to this file");
    b->add_flag("--Werror", build.warnings_as_errors, "Treat warnings as errors: print them as errors, write no summaries, exit 1");

    std::string size, gen_out;
    std::uint64_t seed = 1;
    auto* g = app.add_subcommand("gen", "Generate a deterministic Janus project");
    g->add_option("--size", size, "small (100 generic functions), medium (1,000), large (10,000) or a number")->required();
    g->add_option("--seed", seed, "Seed: the same seed gives the same bytes")->capture_default_str();
    g->add_option("out", gen_out, "Output directory (must not exist or be empty)")->required();

    app.add_subcommand("cache", "Run a jdc cache command: janusc cache ARGS... is jdc ARGS...");

    if (auto rc = jdc::detail::parse_command_line(app, argc, argv, kExitUsage)) return *rc;
    if (b->parsed()) {
        if (!cache_dir.empty()) build.cache_dir = cache_dir;
        if (!out_dir.empty()) build.out = out_dir;
        build.use_cache = !no_cache;
        build.opt_level = static_cast<janusc::OptLevel>(opt_level);
        return run_build(build, report_json);
    }
    return run_gen(size, seed, gen_out);
}
