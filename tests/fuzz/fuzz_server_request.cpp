// libFuzzer target: an HTTP request body through the server's parser. Any bytes must parse into a
// request or raise ApiError with a 4xx status (what the server turns into an HTTP error); any
// other exception would reach the client as a 500, and a crash would take the server down.
// fuzz-deps: ember_server_api ember_core
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "server/api_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  using ember::server::ApiError;
  try {
    const nlohmann::json j = ember::server::ParseBody(body);
    try {
      (void)ember::server::ParseChatRequest(j, {});
    } catch (const ApiError& e) {
      if (e.status() < 400 || e.status() >= 500) std::abort();
    }
    (void)ember::server::ParseCompletionRequest(j, {});
  } catch (const ApiError& e) {
    if (e.status() < 400 || e.status() >= 500) std::abort();
  }
  return 0;
}
