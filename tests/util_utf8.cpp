// What is not UTF-8 becomes U+FFFD, the same way in jdc's own JSON writer (the inputs
// log) as in nlohmann::json's replace handler (every dumped document): a path is bytes.
#include <catch2/catch.hpp>

#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "util/json_text.hpp"
#include "util/utf8.hpp"

using jdc::detail::dump_json;
using jdc::detail::is_valid_utf8;
using jdc::detail::to_valid_utf8;

namespace {
const std::string kReplacement = "\xEF\xBF\xBD";
}

TEST_CASE("well-formed UTF-8 is kept, each maximal ill-formed subpart becomes one U+FFFD", "[utf8]") {
    for (const std::string ok : {"", "plain", "caf\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\xF4\x8F\xBF\xBF", "\xED\x9F\xBF"}) {
        CHECK(is_valid_utf8(ok));
        CHECK(to_valid_utf8(ok) == ok);
    }
    struct Case {
        std::string in, out;
    };
    const Case cases[] = {
        {"caf\xE9", "caf" + kReplacement},                             // Latin-1
        {"\xE9t\xE9", kReplacement + "t" + kReplacement},
        {"\xC0\xAF", kReplacement + kReplacement},                     // overlong '/': no lead byte, no continuation
        {"\xE0\x80\x80", kReplacement + kReplacement + kReplacement},  // overlong: the second byte is out of range
        {"\xED\xA0\x80", kReplacement + kReplacement + kReplacement},  // a surrogate
        {"\xF4\x90\x80\x80", kReplacement + kReplacement + kReplacement + kReplacement},  // above U+10FFFF
        {"\xE2\x82", kReplacement},                                    // cut short at the end
        {"\xE2\x82x", kReplacement + "x"},                             // cut short: the next byte is read again
        {"\xF0\x9F\x98", kReplacement},
        {"\x80", kReplacement},
        {"\xFF\xFE", kReplacement + kReplacement},
    };
    for (const Case& c : cases) {
        INFO(c.in);
        CHECK_FALSE(is_valid_utf8(c.in));
        CHECK(to_valid_utf8(c.in) == c.out);
        CHECK(is_valid_utf8(to_valid_utf8(c.in)));
    }
}

TEST_CASE("to_valid_utf8 agrees with nlohmann's replace handler, and dump_json never throws", "[utf8]") {
    std::mt19937_64 rng(20);
    for (int round = 0; round < 20000; ++round) {
        std::string s(rng() % 12, ' ');
        // Bytes that JSON does not escape, so that the dump is the text itself in quotes.
        for (char& c : s) {
            do c = static_cast<char>(rng() & 0xFF);
            while (static_cast<unsigned char>(c) < 0x20 || c == '"' || c == '\\');
        }
        INFO(round);
        const nlohmann::json j = s;
        CHECK(dump_json(j) == "\"" + to_valid_utf8(s) + "\"");
    }
    const nlohmann::json path = {{"directory", "/home/user/caf\xE9/.janus_cache"}};
    CHECK_THROWS(path.dump());  // what aborted janusc and `jdc stats --json` (type_error 316)
    CHECK(dump_json(path) == "{\"directory\":\"/home/user/caf" + kReplacement + "/.janus_cache\"}");
}
