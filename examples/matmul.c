/* Dense matrix multiply (i-k-j order), doubles: multiply-add throughput. Usage: matmul [N] */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
  int n = argc > 1 ? atoi(argv[1]) : 800;
  if (n <= 0) n = 1;
  double* a = malloc(sizeof(double) * n * n);
  double* b = malloc(sizeof(double) * n * n);
  double* c = calloc((size_t)n * n, sizeof(double));
  if (!a || !b || !c) {
    fputs("matmul: out of memory\n", stderr);
    return 1;
  }
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) {
      a[i * n + j] = (double)((i * 7 + j * 3) % 17) / 16.0;
      b[i * n + j] = (double)((i * 5 + j * 11) % 13) / 12.0;
    }
  for (int i = 0; i < n; i++)
    for (int k = 0; k < n; k++) {
      double aik = a[i * n + k];
      for (int j = 0; j < n; j++) c[i * n + j] += aik * b[k * n + j];
    }
  double trace = 0, sum = 0;
  for (int i = 0; i < n; i++) trace += c[i * n + i];
  for (int i = 0; i < n * n; i++) sum += c[i];
  printf("n=%d trace=%.6f sum=%.6f\n", n, trace, sum);
  free(a);
  free(b);
  free(c);
  return 0;
}
