/* Fannkuch-redux: permutations and array flips, branchy integer code. Usage: fannkuch [N] */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
  int n = argc > 1 ? atoi(argv[1]) : 10;
  if (n < 1 || n > 12) {
    fputs("fannkuch: N must be 1..12\n", stderr);
    return 1;
  }
  int perm[16], perm1[16], count[16];
  int max_flips = 0, checksum = 0, permutation = 0, r = n;
  for (int i = 0; i < n; i++) perm1[i] = i;
  for (;;) {
    for (; r != 1; r--) count[r - 1] = r;
    for (int i = 0; i < n; i++) perm[i] = perm1[i];
    int flips = 0;
    for (int k = perm[0]; k != 0; k = perm[0]) {
      for (int i = 0, j = k; i < j; i++, j--) {
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
      }
      flips++;
    }
    if (flips > max_flips) max_flips = flips;
    checksum += permutation % 2 == 0 ? flips : -flips;
    for (;;) {
      if (r == n) {
        printf("%d\nPfannkuchen(%d) = %d\n", checksum, n, max_flips);
        return 0;
      }
      int first = perm1[0];
      for (int i = 0; i < r; i++) perm1[i] = perm1[i + 1];
      perm1[r] = first;
      if (--count[r] > 0) break;
      r++;
    }
    permutation++;
  }
}
