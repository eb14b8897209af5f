#!/usr/bin/env python3
# A console socket for runc-compatible runtimes (what containerd's shim and runc's recvtty do):
# listens on SOCKET, takes the pty master the runtime sends with SCM_RIGHTS, types INPUT into the
# terminal and copies everything the container writes to OUTPUT until the terminal closes.
# Usage: recvtty.py SOCKET INPUT OUTPUT (prints "ready" once listening).
# It gives up after 120 s (exit 1): a runtime that never connects, or a terminal that never
# closes, fails the caller's check instead of hanging its test until ctest's timeout.
import array, os, signal, socket, sys

signal.signal(signal.SIGALRM, lambda *_: sys.exit("recvtty: nothing happened for 120 s"))
signal.alarm(120)
path, typed, output = sys.argv[1], sys.argv[2], sys.argv[3]
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(path)
server.listen(1)
print("ready", flush=True)
conn, _ = server.accept()
fds = array.array("i")
msg, ancdata, _, _ = conn.recvmsg(4096, socket.CMSG_SPACE(fds.itemsize))
for level, kind, data in ancdata:
    if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
        fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
if not fds:
    sys.exit("recvtty: no file descriptor received")
master = fds[0]
os.write(master, typed.encode().decode("unicode_escape").encode())
with open(output, "wb") as out:
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO once the last process holding the terminal is gone
            break
        if not chunk:
            break
        out.write(chunk)
        out.flush()
