// System V shared memory: shmget makes a zeroed segment (IPC_PRIVATE, or by key with IPC_CREAT,
// EEXIST with IPC_EXCL, ENOENT without IPC_CREAT, EINVAL for a size beyond the segment's);
// shmat maps it, and two attaches and a fork child's share it; IPC_STAT counts the attaches; a
// segment removed while attached stays until its last shmdt; SHM_RDONLY attaches cannot be
// written (SIGSEGV) nor made writable (EACCES); shmdt of an address that is no attach is EINVAL.
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/wait.h>

#include "conf.h"

static sigjmp_buf back;
static void on_segv(int sig) {
  (void)sig;
  siglongjmp(back, 1);
}

int main(void) {
  // A key of this run's own: native runs of the suite go on at once on the host.
  const key_t key = (key_t)(0x5ec00000 | (getpid() & 0xfffff));
  int id = shmget(key, 10000, IPC_CREAT | IPC_EXCL | 0600);
  CHECK(id >= 0);
  printf("again with IPC_EXCL: %s\n", ERRNO_OF(shmget(key, 10000, IPC_CREAT | IPC_EXCL | 0600)));
  printf("the same key finds it: %d\n", shmget(key, 5000, 0600) == id);
  printf("larger than it: %s\n", ERRNO_OF(shmget(key, 20000, 0600)));
  printf("an unknown key: %s\n", ERRNO_OF(shmget(key ^ 0x00100000, 100, 0600)));  // no run's own
  printf("size 0: %s\n", ERRNO_OF(shmget(IPC_PRIVATE, 0, 0600)));

  int* a = shmat(id, NULL, 0);
  int* b = shmat(id, NULL, 0);
  CHECK(a != (void*)-1 && b != (void*)-1);
  printf("zeroed: %d\n", a[0] == 0 && a[2499] == 0);
  a[0] = 5;
  printf("the second attach sees it: %d\n", b[0]);
  struct shmid_ds ds;
  CHECK(shmctl(id, IPC_STAT, &ds) == 0);
  printf("IPC_STAT: size %zu, attaches %lu, mode %o\n", (size_t)ds.shm_segsz, (unsigned long)ds.shm_nattch,
         ds.shm_perm.mode & 0777);
  pid_t child = fork();
  if (child == 0) {
    b[2499] = 7;
    struct shmid_ds in_child;
    shmctl(id, IPC_STAT, &in_child);
    _exit((int)in_child.shm_nattch);
  }
  int status = 0;
  waitpid(child, &status, 0);
  printf("the child counted %d attaches and wrote %d\n", WEXITSTATUS(status), a[2499]);

  CHECK(shmctl(id, IPC_RMID, NULL) == 0);
  printf("removed: the key is gone: %s; still attached: %d\n", ERRNO_OF(shmget(key, 100, 0600)), a[0]);
  printf("shmdt: %s\n", ERRNO_OF(shmdt(b)));
  printf("shmdt again: %s\n", ERRNO_OF(shmdt(b)));
  printf("shmdt of no attach: %s\n", ERRNO_OF(shmdt((char*)a + 4096)));
  CHECK(shmdt(a) == 0);
  printf("after the last shmdt: %s\n", ERRNO_OF(shmctl(id, IPC_STAT, &ds)));

  int ro_id = shmget(IPC_PRIVATE, 4096, 0600);
  CHECK(ro_id >= 0);
  volatile char* ro = shmat(ro_id, NULL, SHM_RDONLY);
  CHECK(ro != (void*)-1);
  printf("mprotect of a read-only attach: %s\n", ERRNO_OF(mprotect((void*)ro, 4096, PROT_READ | PROT_WRITE)));
  signal(SIGSEGV, on_segv);
  if (sigsetjmp(back, 1) == 0) {
    ro[0] = 1;
    printf("write to a read-only attach did not fault\n");
  } else {
    printf("write to a read-only attach: SIGSEGV\n");
  }
  CHECK(shmdt((void*)ro) == 0);
  CHECK(shmctl(ro_id, IPC_RMID, NULL) == 0);
  return 0;
}
