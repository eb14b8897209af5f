// System V message queues: msgget (by key with IPC_CREAT, EEXIST with IPC_EXCL, ENOENT without
// IPC_CREAT); msgsnd and msgrcv in order, by type (a positive type, MSG_EXCEPT, the lowest type up
// to -type), ENOMSG with IPC_NOWAIT, E2BIG for a message longer than asked (it stays) and
// MSG_NOERROR's truncation, EINVAL for a type below 1; a full queue (msg_qbytes lowered with
// IPC_SET) is EAGAIN with IPC_NOWAIT and a sender that waits is let in by a receiver in a fork
// child; a receiver that waits is woken by a child's send; IPC_STAT counts the messages and
// bytes; IPC_RMID wakes a waiting receiver with EIDRM and the id is EINVAL from then on.
#include <sys/msg.h>
#include <sys/wait.h>

#include "conf.h"

struct message {
  long type;
  char text[64];
};

static int send(int id, long type, const char* text, int flags) {
  struct message m;
  m.type = type;
  strcpy(m.text, text);
  return msgsnd(id, &m, strlen(text) + 1, flags);
}

static const char* take(int id, long type, size_t size, int flags) {
  static struct message m;
  static char out[96];
  const ssize_t n = msgrcv(id, &m, size, type, flags | IPC_NOWAIT);
  if (n < 0) return strerrorname_np(errno);
  snprintf(out, sizeof out, "%ld:%.*s(%zd)", m.type, (int)n, m.text, n);
  return out;
}

int main(void) {
  // A key of this run's own: native runs of the suite go on at once on the host.
  const key_t key = (key_t)(0x5e600000 | (getpid() & 0xfffff));
  const int id = msgget(key, IPC_CREAT | IPC_EXCL | 0600);
  CHECK(id >= 0);
  printf("again with IPC_EXCL: %s\n", ERRNO_OF(msgget(key, IPC_CREAT | IPC_EXCL | 0600)));
  printf("the same key finds it: %d\n", msgget(key, 0600) == id);
  printf("an unknown key: %s\n", ERRNO_OF(msgget(key ^ 0x00100000, 0600)));  // no run's own

  printf("type 0: %s\n", ERRNO_OF(send(id, 0, "zero", 0)));
  CHECK(send(id, 3, "three", 0) == 0 && send(id, 1, "one", 0) == 0 && send(id, 2, "two", 0) == 0);
  CHECK(send(id, 1, "uno", 0) == 0);
  struct msqid_ds ds;
  CHECK(msgctl(id, IPC_STAT, &ds) == 0);
  printf("IPC_STAT: %lu messages, %lu bytes, mode %o\n", (unsigned long)ds.msg_qnum,
         (unsigned long)ds.__msg_cbytes, ds.msg_perm.mode & 0777);
  printf("type 2: %s\n", take(id, 2, 64, 0));
  printf("except 3: %s\n", take(id, 3, 64, MSG_EXCEPT));
  printf("lowest up to 5: %s\n", take(id, -5, 64, 0));
  printf("too long: %s\n", take(id, 0, 2, 0));
  printf("truncated: %s\n", take(id, 0, 2, MSG_NOERROR));
  printf("empty: %s\n", take(id, 0, 64, 0));

  // A full queue: a sender waits until a child receives.
  ds.msg_qbytes = 10;
  CHECK(msgctl(id, IPC_SET, &ds) == 0);
  CHECK(send(id, 1, "123456", 0) == 0);
  printf("full, IPC_NOWAIT: %s\n", ERRNO_OF(send(id, 1, "abcdef", IPC_NOWAIT)));
  pid_t child = fork();
  if (child == 0) {
    usleep(20000);
    struct message m;
    _exit(msgrcv(id, &m, sizeof m.text, 0, 0) == 7 ? 0 : 1);
  }
  printf("a waiting sender: %s\n", ERRNO_OF(send(id, 1, "abcdef", 0)));
  int status = 0;
  waitpid(child, &status, 0);
  printf("the child received: %d; left: %s\n", WEXITSTATUS(status) == 0, take(id, 0, 64, 0));

  // A waiting receiver woken by a child's send, then one woken by IPC_RMID.
  child = fork();
  if (child == 0) {
    usleep(20000);
    _exit(send(id, 9, "late", 0) == 0 ? 0 : 1);
  }
  struct message m;
  const ssize_t n = msgrcv(id, &m, sizeof m.text, 9, 0);
  waitpid(child, &status, 0);
  printf("a waiting receiver: %zd bytes, %s\n", n, n > 0 ? m.text : strerrorname_np(errno));
  child = fork();
  if (child == 0) {
    const ssize_t r = msgrcv(id, &m, sizeof m.text, 0, 0);
    _exit(r == -1 && errno == EIDRM ? 1 : 0);
  }
  // Until the child sleeps in msgrcv (it does nothing else that sleeps).
  char stat_path[64];
  snprintf(stat_path, sizeof stat_path, "/proc/%d/stat", (int)child);
  for (char state = 0; state != 'S';) {
    usleep(1000);
    FILE* f = fopen(stat_path, "r");
    CHECK(f != NULL);
    CHECK(fscanf(f, "%*d (%*[^)]) %c", &state) == 1);
    fclose(f);
  }
  CHECK(msgctl(id, IPC_RMID, NULL) == 0);
  waitpid(child, &status, 0);
  printf("the receiver of a removed queue: %s\n", WEXITSTATUS(status) ? "EIDRM" : "not EIDRM");
  printf("the removed id: %s\n", ERRNO_OF(msgctl(id, IPC_STAT, &ds)));
  return 0;
}
