// The deterministic driver of the vm syscall fuzz target for ctest (no libFuzzer needed): feeds
// every file of the given directories, then COUNT inputs from a fixed-seed generator, to
// LLVMFuzzerTestOneInput. Each input must return within 10 s (SIGALRM otherwise); a broken
// invariant aborts.
//   vm_fuzz_driver COUNT [DIR...]
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s COUNT [DIR...]\n", argv[0]);
    return 2;
  }
  const long count = std::strtol(argv[1], nullptr, 10);
  long ran = 0;
  for (int i = 2; i < argc; ++i) {
    for (const auto& e : std::filesystem::directory_iterator(argv[i])) {
      std::ifstream in(e.path(), std::ios::binary);
      std::vector<char> bytes{std::istreambuf_iterator<char>(in), {}};
      ::alarm(10);
      LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
      ++ran;
    }
  }
  std::mt19937_64 random(20261201);
  std::vector<std::uint8_t> input;
  for (long n = 0; n < count; ++n) {
    input.resize(random() % 600);
    for (auto& b : input) b = static_cast<std::uint8_t>(random());
    ::alarm(10);
    LLVMFuzzerTestOneInput(input.data(), input.size());
    ++ran;
  }
  std::printf("vm fuzz driver: %ld inputs, no finding\n", ran);
  return 0;
}
