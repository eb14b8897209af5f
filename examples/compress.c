/* LZ77 compressor: compresses generated text with a hash-chain match finder, decompresses it
   and verifies the round trip. Byte-granular loads/stores and branchy search loops.
   Usage: compress [KIBIBYTES] (size of the generated input) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { window = 1 << 15, min_match = 4, max_match = 255 + min_match, hash_bits = 15, max_chain = 32 };

static uint32_t hash4(const uint8_t* p) {
  uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
  return (v * 2654435761u) >> (32 - hash_bits);
}

/* Format: a token byte; 0..127 = that many+1 literals follow; 128..255 = a match whose length is
   (token-128)+min_match... extended by one more byte when token == 255, then a 2-byte distance. */
static size_t compress(const uint8_t* in, size_t n, uint8_t* out) {
  int32_t* head = malloc(sizeof(int32_t) << hash_bits);
  int32_t* prev = malloc(sizeof(int32_t) * window);
  if (!head || !prev) exit(1);
  for (size_t i = 0; i < (1u << hash_bits); i++) head[i] = -1;
  size_t o = 0, lit_start = 0, i = 0;
#define FLUSH_LITERALS(upto)                                   \
  while (lit_start < (upto)) {                                 \
    size_t run = (upto)-lit_start > 128 ? 128 : (upto)-lit_start; \
    out[o++] = (uint8_t)(run - 1);                             \
    memcpy(out + o, in + lit_start, run);                      \
    o += run;                                                  \
    lit_start += run;                                          \
  }
  while (i + min_match <= n) {
    uint32_t h = hash4(in + i);
    int32_t candidate = head[h];
    size_t best_len = 0, best_dist = 0;
    for (int chain = 0; candidate >= 0 && chain < max_chain; chain++) {
      size_t dist = i - (size_t)candidate;
      if (dist > window - 1) break;
      size_t len = 0, limit = n - i < max_match ? n - i : max_match;
      while (len < limit && in[candidate + len] == in[i + len]) len++;
      if (len > best_len) {
        best_len = len;
        best_dist = dist;
        if (len == limit) break;
      }
      candidate = prev[candidate % window];
    }
    prev[i % window] = head[h];
    head[h] = (int32_t)i;
    if (best_len >= min_match) {
      FLUSH_LITERALS(i);
      size_t extra = best_len - min_match;
      if (extra >= 127) {
        out[o++] = 255;
        out[o++] = (uint8_t)(extra - 127);
      } else {
        out[o++] = (uint8_t)(128 + extra);
      }
      out[o++] = (uint8_t)best_dist;
      out[o++] = (uint8_t)(best_dist >> 8);
      for (size_t k = 1; k < best_len && i + k + min_match <= n; k++) {
        uint32_t hk = hash4(in + i + k);
        prev[(i + k) % window] = head[hk];
        head[hk] = (int32_t)(i + k);
      }
      i += best_len;
      lit_start = i;
    } else {
      i++;
    }
  }
  FLUSH_LITERALS(n);
#undef FLUSH_LITERALS
  free(head);
  free(prev);
  return o;
}

static size_t decompress(const uint8_t* in, size_t n, uint8_t* out, size_t capacity) {
  size_t i = 0, o = 0;
  while (i < n) {
    uint8_t token = in[i++];
    if (token < 128) {
      size_t run = (size_t)token + 1;
      if (i + run > n || o + run > capacity) return (size_t)-1;
      memcpy(out + o, in + i, run);
      i += run;
      o += run;
    } else {
      size_t len = (size_t)(token - 128) + min_match;
      if (token == 255) {
        if (i >= n) return (size_t)-1;
        len = 127 + min_match + in[i++];
      }
      if (i + 2 > n) return (size_t)-1;
      size_t dist = (size_t)in[i] | (size_t)in[i + 1] << 8;
      i += 2;
      if (dist == 0 || dist > o || o + len > capacity) return (size_t)-1;
      for (size_t k = 0; k < len; k++, o++) out[o] = out[o - dist];
    }
  }
  return o;
}

int main(int argc, char** argv) {
  long kib = argc > 1 ? strtol(argv[1], 0, 10) : 8192;
  size_t n = (size_t)kib * 1024;
  static const char* words[] = {"spectrum", "isolation", "wasm", "container", "kernel", "memory",
                                "the", "of", "and", "a", "runtime", "sandbox", "cgroup", "virtual",
                                "machine", "process", "native", "tier", "measure", "cost"};
  uint8_t* input = malloc(n);
  uint8_t* packed = malloc(n + n / 128 + 16);
  uint8_t* unpacked = malloc(n);
  if (!input || !packed || !unpacked) {
    fputs("compress: out of memory\n", stderr);
    return 1;
  }
  uint32_t x = 12345;
  size_t fill = 0;
  while (fill < n) {
    x = x * 1103515245u + 12345u;
    const char* w = words[(x >> 16) % (sizeof words / sizeof *words)];
    while (*w && fill < n) input[fill++] = (uint8_t)*w++;
    if (fill < n) input[fill++] = (x >> 8) % 11 == 0 ? '\n' : ' ';
  }
  size_t packed_size = compress(input, n, packed);
  size_t unpacked_size = decompress(packed, packed_size, unpacked, n);
  if (unpacked_size != n || memcmp(input, unpacked, n) != 0) {
    fputs("compress: round trip FAILED\n", stderr);
    return 1;
  }
  uint32_t checksum = 2166136261u;
  for (size_t k = 0; k < packed_size; k++) checksum = (checksum ^ packed[k]) * 16777619u;
  printf("%zu -> %zu bytes (%.1f%%), round trip ok, fnv1a %08x\n", n, packed_size,
         100.0 * (double)packed_size / (double)n, checksum);
  free(input);
  free(packed);
  free(unpacked);
  return 0;
}
