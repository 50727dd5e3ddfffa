// Stop strings (llama.cpp's --reverse-prompt / the server's "stop") matched across token
// boundaries. Feed each token's text; the matcher returns what may be printed now, holding
// back any tail that could still grow into a stop string, and reports a match (the stop string
// and whatever followed it in the same piece are never printed).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ember {

class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops);

  struct Result {
    std::string emit;     // safe to print now
    bool stopped = false;
    std::string matched;  // the stop string that matched
  };
  Result Feed(std::string_view piece);
  // End of generation without a match: the held-back text is final.
  std::string Flush();
  bool empty() const { return stops_.empty(); }

 private:
  std::vector<std::string> stops_;
  std::string pending_;
  bool stopped_ = false;
};

}  // namespace ember
