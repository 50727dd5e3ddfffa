// Exits 0 when the compiler builds a std::vector from a constant initializer list correctly,
// 1 when it does not. GCC 12.2 with AVX-512 enabled (-march=native on Zen 4, 2026-11-29) stored
// eight 1.0f for {1, 1, 1, 1, 0, 0, 0, 0}: its vectorizer made the constant with a 256-bit
// vpbroadcastd where the 128-bit one (which zeroes the upper half) was meant. CMakeLists.txt
// runs this with the flags ember is built with and, where it fails, leaves AVX-512 out of the
// compiler's own code generation.
#include <cstdint>
#include <vector>

__attribute__((noinline)) static bool Check(const std::vector<float>& f, const std::vector<int32_t>& i) {
  const float want_f[8] = {1, 1, 1, 1, 0, 0, 0, 0};
  const int32_t want_i[8] = {7, 7, 7, 7, 0, 0, 0, 0};
  for (int k = 0; k < 8; ++k) {
    if (f[k] != want_f[k] || i[k] != want_i[k]) return false;
  }
  return true;
}

int main() {
  std::vector<float> f = {1, 1, 1, 1, 0, 0, 0, 0};
  std::vector<int32_t> i = {7, 7, 7, 7, 0, 0, 0, 0};
  return Check(f, i) ? 0 : 1;
}
