// MAP_SHARED mappings of files, as Linux's page cache gives them: a write through one mapping is
// seen by another mapping of the same file, by a fork child's, by read(2), and is in the file
// after munmap; a write(2) or ftruncate is seen through the mappings. POSIX shared memory
// (shm_open in /dev/shm) shared with a fork child, and a named semaphore (sem_open) and a
// process-shared mutex that wake a waiter in another process (futexes on shared memory).
// MAP_SHARED with PROT_WRITE of a file opened read-only is EACCES, and so is an mprotect that
// would make such a mapping writable.
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "conf.h"

// Names of this run's own: native runs of the suite go on at once on the host's /tmp and /dev/shm.
static char path[64], shm_name[64], sem_name[64];

static void file_mappings(void) {
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  CHECK(fd >= 0);
  CHECK(write(fd, "hello, file\n", 12) == 12);
  char* a = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  char* b = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  CHECK(a != MAP_FAILED && b != MAP_FAILED);
  printf("mapped: %.11s\n", a);
  a[0] = 'J';
  printf("the other mapping sees: %.11s\n", b);
  char buf[16] = {0};
  CHECK(pread(fd, buf, 12, 0) == 12);
  printf("read(2) sees: %.11s\n", buf);
  CHECK(pwrite(fd, "W", 1, 7) == 1);
  printf("after pwrite the mapping sees: %.11s\n", a);
  pid_t child = fork();
  if (child == 0) {
    memcpy(b + 7, "child", 5);
    _exit(0);
  }
  waitpid(child, NULL, 0);
  printf("after the child wrote: %.12s\n", a);
  CHECK(msync(a, 4096, MS_SYNC) == 0);
  CHECK(ftruncate(fd, 4) == 0);
  printf("after ftruncate to 4, byte 5 reads %d\n", a[5]);
  memcpy(a, "abcd", 4);
  CHECK(munmap(a, 4096) == 0);
  CHECK(munmap(b, 4096) == 0);
  memset(buf, 0, sizeof buf);
  CHECK(pread(fd, buf, sizeof buf - 1, 0) == 4);
  printf("the file after munmap: %s\n", buf);
  close(fd);
  int read_only = open(path, O_RDONLY);
  void* refused = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, read_only, 0);
  printf("MAP_SHARED PROT_WRITE of a read-only fd: %s\n",
         refused == MAP_FAILED ? strerrorname_np(errno) : "mapped");
  char* ro = mmap(NULL, 4096, PROT_READ, MAP_SHARED, read_only, 0);
  CHECK(ro != MAP_FAILED);
  printf("made writable by mprotect: %s, still reads %.4s\n",
         ERRNO_OF(mprotect(ro, 4096, PROT_READ | PROT_WRITE)), ro);
  munmap(ro, 4096);
  close(read_only);
  unlink(path);
}

static void posix_shm(void) {
  int fd = shm_open(shm_name, O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd < 0) {
    printf("shm_open: %s\n", strerrorname_np(errno));
    return;
  }
  CHECK(ftruncate(fd, 8192) == 0);
  int* counter = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  CHECK(counter != MAP_FAILED);
  printf("shm reads as zero: %d\n", counter[0] == 0 && counter[2047] == 0);
  pid_t child = fork();
  if (child == 0) {
    counter[0] = 41;
    counter[2047] = 1;
    _exit(0);
  }
  waitpid(child, NULL, 0);
  printf("shm after the child: %d\n", counter[0] + counter[2047]);
  CHECK(shm_unlink(shm_name) == 0);
  close(fd);
}

static void semaphore(void) {
  sem_t* sem = sem_open(sem_name, O_CREAT | O_EXCL, 0600, 0);
  if (sem == SEM_FAILED) {
    printf("sem_open: %s\n", strerrorname_np(errno));
    return;
  }
  sem_unlink(sem_name);
  pid_t child = fork();
  if (child == 0) {
    usleep(20000);  // the parent waits first: the post must wake it
    sem_post(sem);
    _exit(0);
  }
  int r = sem_wait(sem);
  printf("sem_wait woken by the child: %d\n", r == 0);
  waitpid(child, NULL, 0);
  sem_close(sem);
}

static void shared_mutex(void) {
  struct {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    int ready;
  }* s = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  CHECK(s != MAP_FAILED);
  pthread_mutexattr_t ma;
  pthread_mutexattr_init(&ma);
  pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
  pthread_mutex_init(&s->mutex, &ma);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
  pthread_cond_init(&s->cond, &ca);
  pid_t child = fork();
  if (child == 0) {
    usleep(20000);
    pthread_mutex_lock(&s->mutex);
    s->ready = 1;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->mutex);
    _exit(0);
  }
  pthread_mutex_lock(&s->mutex);
  while (!s->ready) pthread_cond_wait(&s->cond, &s->mutex);
  pthread_mutex_unlock(&s->mutex);
  printf("process-shared condition variable signalled by the child: %d\n", s->ready);
  waitpid(child, NULL, 0);
}

int main(void) {
  snprintf(path, sizeof path, "/tmp/mmap_shared_file.%d", (int)getpid());
  snprintf(shm_name, sizeof shm_name, "/conformance-shm.%d", (int)getpid());
  snprintf(sem_name, sizeof sem_name, "/conformance-sem.%d", (int)getpid());
  file_mappings();
  posix_shm();
  semaphore();
  shared_mutex();
  return 0;
}
