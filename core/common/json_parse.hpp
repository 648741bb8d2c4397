#pragma once
// nlohmann-json's parse behind the nesting limit (core/common/json_nesting.hpp): every JSON text aidc
// takes from a client or a server (HTTP bodies, server-sent events, Prometheus answers) goes through it.
#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

#include "core/common/json_nesting.hpp"

namespace aidc {

// Too deep is malformed: a parse_error is thrown (or, with allow_exceptions false, a discarded value
// returned) exactly as for any other malformed text, so callers handle both alike.
template <typename Json = nlohmann::json>
Json parse_json(std::string_view text, bool allow_exceptions = true) {
  if (const auto at = json_nesting_overflow(text)) {
    if (!allow_exceptions) return Json(Json::value_t::discarded);
    throw Json::parse_error::create(
        101, *at + 1, "arrays and objects nested deeper than " + std::to_string(kMaxJsonNesting) + " levels", nullptr);
  }
  return Json::parse(text, nullptr, allow_exceptions);
}

}  // namespace aidc
