/* Binary trees: allocation-heavy (malloc/free of many small nodes), pointer chasing.
   Usage: binary-trees [MAX_DEPTH] */
#include <stdio.h>
#include <stdlib.h>

struct node {
  struct node *left, *right;
};

static struct node* build(int depth) {
  struct node* n = malloc(sizeof *n);
  if (!n) {
    fputs("binary-trees: out of memory\n", stderr);
    exit(1);
  }
  if (depth > 0) {
    n->left = build(depth - 1);
    n->right = build(depth - 1);
  } else {
    n->left = n->right = 0;
  }
  return n;
}

static long check(const struct node* n) { return 1 + (n->left ? check(n->left) + check(n->right) : 0); }

static void release(struct node* n) {
  if (n->left) {
    release(n->left);
    release(n->right);
  }
  free(n);
}

int main(int argc, char** argv) {
  int max_depth = argc > 1 ? atoi(argv[1]) : 16;
  if (max_depth < 6) max_depth = 6;
  long total = 0;
  struct node* stretch = build(max_depth + 1);
  printf("stretch tree of depth %d\t check: %ld\n", max_depth + 1, check(stretch));
  total += check(stretch);
  release(stretch);
  struct node* long_lived = build(max_depth);
  for (int depth = 4; depth <= max_depth; depth += 2) {
    long iterations = 1L << (max_depth - depth + 4), sum = 0;
    for (long i = 0; i < iterations; i++) {
      struct node* t = build(depth);
      sum += check(t);
      release(t);
    }
    printf("%ld\t trees of depth %d\t check: %ld\n", iterations, depth, sum);
    total += sum;
  }
  printf("long lived tree of depth %d\t check: %ld\n", max_depth, check(long_lived));
  total += check(long_lived);
  release(long_lived);
  printf("total %ld\n", total);
  return 0;
}
