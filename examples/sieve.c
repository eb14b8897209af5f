/* Sieve of Eratosthenes over a byte array, repeated: memory loads/stores in tight loops.
   Usage: sieve [LIMIT] (counts primes up to LIMIT, 10 rounds) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char** argv) {
  uint32_t limit = argc > 1 ? (uint32_t)strtoul(argv[1], 0, 10) : 8000000;
  unsigned char* composite = malloc(limit + 1);
  if (!composite) {
    fputs("sieve: out of memory\n", stderr);
    return 1;
  }
  uint64_t count = 0, checksum = 0;
  for (int round = 0; round < 10; round++) {
    memset(composite, 0, limit + 1);
    count = 0;
    for (uint32_t i = 2; i <= limit; i++) {
      if (composite[i]) continue;
      count++;
      checksum += (uint64_t)i * (uint64_t)(round + 1);
      if (i > limit / i) continue; /* i*i would pass the limit (or overflow 32 bits) */
      for (uint32_t j = i * i; j <= limit && j >= i; j += i) composite[j] = 1;
    }
  }
  printf("primes up to %lu: %llu checksum %llu\n", (unsigned long)limit, (unsigned long long)count,
         (unsigned long long)(checksum % 1000000007u));
  free(composite);
  return 0;
}
