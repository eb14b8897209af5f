/* Image kernels over 8-bit pixels and floats, written so that compilers vectorize them (clang's
 * -msimd128 turns the loops into wasm SIMD): a 3x3 box blur, a saturating brightness add, a
 * histogram-free min/max stretch and a float dot product per row. Usage: image [ROUNDS] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { W = 512, H = 512 };

static uint8_t src[H][W], dst[H][W];
static float fa[W], fb[W];

static void blur(void) {
  for (int y = 1; y < H - 1; ++y)
    for (int x = 1; x < W - 1; ++x) {
      unsigned s = 0;
      for (int dy = -1; dy <= 1; ++dy)
        s += (unsigned)src[y + dy][x - 1] + src[y + dy][x] + src[y + dy][x + 1];
      dst[y][x] = (uint8_t)(s * 7282u >> 16); /* s / 9 for s <= 2295 */
    }
}

static void brighten(uint8_t add) {
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      unsigned v = (unsigned)dst[y][x] + add;
      src[y][x] = (uint8_t)(v > 255 ? 255 : v);
    }
}

static void stretch(void) {
  uint8_t lo = 255, hi = 0;
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      uint8_t v = src[y][x];
      lo = v < lo ? v : lo;
      hi = v > hi ? v : hi;
    }
  const unsigned range = hi > lo ? (unsigned)(hi - lo) : 1u;
  const unsigned scale = (255u << 8) / range;
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) src[y][x] = (uint8_t)(((unsigned)(src[y][x] - lo) * scale) >> 8);
}

static float dots(void) {
  float total = 0;
  for (int y = 0; y < H; y += 8) {
    for (int x = 0; x < W; ++x) {
      fa[x] = (float)src[y][x] * (1.0f / 255);
      fb[x] = (float)src[(y + 1) % H][x] * (1.0f / 255);
    }
    float s = 0;
    for (int x = 0; x < W; ++x) s += fa[x] * fb[x];
    total += s;
  }
  return total;
}

int main(int argc, char** argv) {
  const unsigned rounds = argc > 1 ? (unsigned)strtoul(argv[1], 0, 10) : 400;
  uint32_t seed = 12345;
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      seed = seed * 1664525u + 1013904223u;
      src[y][x] = (uint8_t)(seed >> 24);
    }
  double acc = 0;
  for (unsigned r = 0; r < rounds; ++r) {
    blur();
    brighten((uint8_t)(r & 15));
    stretch();
    acc += dots();
  }
  uint32_t h = 2166136261u;
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) h = (h ^ src[y][x]) * 16777619u;
  printf("image %ux%u rounds %u: hash %08x dots %.3f\n", W, H, rounds, h, acc);
  return 0;
}
