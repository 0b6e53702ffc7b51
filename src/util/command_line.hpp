// Internal: parsing a program's command line with CLI11, the same way in every program
// (jdc, jdc-compactor, janusc). Header-only, so that CLI11 never enters the library.
#pragma once

#include <iostream>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

namespace jdc::detail {

// Parses the command line: --help and --version print and give 0; a usage error (an
// unknown command, flag or value, each named) prints and gives `usage_exit`. nullopt:
// parsed, go on.
inline std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv, int usage_exit) {
    // CLI11 reports a word that is no command as "A subcommand is required": name it.
    const auto commands = app.get_subcommands([](const CLI::App*) { return true; });
    if (argc >= 2 && argv[1][0] != '-' && !commands.empty()) {
        bool known = false;
        std::string names;
        for (const CLI::App* sub : commands) {
            known |= sub->check_name(argv[1]);
            names += (names.empty() ? "" : ", ") + sub->get_name();
        }
        if (!known) {
            std::cerr << app.get_name() << ": unknown command '" << argv[1] << "' (commands: " << names << "; see "
                      << app.get_name() << " --help)\n";
            return usage_exit;
        }
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return usage_exit;
    }
    return std::nullopt;
}

}  // namespace jdc::detail
