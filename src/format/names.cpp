// String names of the library's enums, for messages and `jdc inspect`.
#include "jdc/error.hpp"
#include "jdc/optimization.hpp"
#include "jdc/type_registry.hpp"

namespace jdc {

std::string_view to_string(ErrorCode code) noexcept {
    switch (code) {
        case ErrorCode::invalid_argument: return "invalid argument";
        case ErrorCode::bad_magic: return "bad magic";
        case ErrorCode::unsupported_version: return "unsupported version";
        case ErrorCode::truncated: return "truncated";
        case ErrorCode::corrupt: return "corrupt";
        case ErrorCode::checksum_mismatch: return "checksum mismatch";
        case ErrorCode::limit_exceeded: return "limit exceeded";
        case ErrorCode::stale: return "stale";
        case ErrorCode::not_found: return "not found";
        case ErrorCode::io: return "I/O error";
        case ErrorCode::timeout: return "timeout";
        case ErrorCode::protocol: return "protocol error";
    }
    return "unknown error";
}

std::string_view to_string(TypeKind kind) noexcept {
    switch (kind) {
        case TypeKind::primitive: return "primitive";
        case TypeKind::struct_: return "struct";
        case TypeKind::enum_: return "enum";
        case TypeKind::function: return "function";
        case TypeKind::generic_param: return "generic_param";
        case TypeKind::generic_instance: return "generic_instance";
    }
    return "unknown";
}

std::string_view to_string(OptimizationType type) noexcept {
    switch (type) {
        case OptimizationType::none: return "none";
        case OptimizationType::compression: return "compression";
        case OptimizationType::advanced_compression: return "advanced_compression";
        case OptimizationType::sharing: return "sharing";
        case OptimizationType::redundancy_elimination: return "redundancy_elimination";
        case OptimizationType::hot_path_optimization: return "hot_path_optimization";
        case OptimizationType::combined: return "combined";
    }
    return "unknown";
}

}  // namespace jdc
