// Driver for fuzz targets in non-libFuzzer builds: replays the seed corpus, then a bounded number of
// deterministic mutations of it, so the targets run (and can fail) in the ordinary test suite.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR [ITERATIONS]\n", argv[0]);
    return 2;
  }
  long iterations = argc > 2 ? std::atol(argv[2]) : 20000;
  std::vector<std::string> seeds;
  for (const auto& entry : std::filesystem::directory_iterator(argv[1])) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream content;
    content << in.rdbuf();
    seeds.push_back(content.str());
  }
  if (seeds.empty()) seeds.emplace_back();
  for (const std::string& seed : seeds) {
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(seed.data()), seed.size());
  }
  std::mt19937_64 random(12345);
  for (long i = 0; i < iterations; ++i) {
    std::string input = seeds[random() % seeds.size()];
    int edits = 1 + static_cast<int>(random() % 8);
    for (int e = 0; e < edits; ++e) {
      size_t at = input.empty() ? 0 : random() % (input.size() + 1);
      switch (random() % 4) {
        case 0: if (!input.empty() && at < input.size()) input[at] = static_cast<char>(random()); break;
        case 1: input.insert(at, 1, static_cast<char>(random())); break;
        case 2: if (at < input.size()) input.erase(at, 1 + random() % 16); break;
        default: {
          const std::string& other = seeds[random() % seeds.size()];
          if (!other.empty()) input.insert(at, other.substr(random() % other.size(), 1 + random() % 32));
        }
      }
    }
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
  }
  std::printf("replayed %zu seeds and %ld mutations\n", seeds.size(), iterations);
  return 0;
}
