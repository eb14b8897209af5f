# Debian's dynamic python3: socketpair with an echo thread, select, and a forked child on the other end.
import os
import select
import socket
import threading

a, b = socket.socketpair()


def echo():
    while True:
        data = b.recv(1024)
        if not data:
            break
        b.sendall(data.upper())
    b.close()


t = threading.Thread(target=echo)
t.start()
for word in ["one", "two", "three"]:
    a.sendall(word.encode())
    r, _, _ = select.select([a], [], [], 5)
    print(word, "->", a.recv(1024).decode() if r else "timeout")
a.shutdown(socket.SHUT_WR)
t.join()
print("echo thread done")

c, d = socket.socketpair()
pid = os.fork()
if pid == 0:
    c.close()
    d.sendall(b"from the forked child")
    os._exit(0)
d.close()
print(c.recv(100).decode())
_, status = os.waitpid(pid, 0)
print("child status", os.waitstatus_to_exitcode(status))
