# Debian's dynamic python3: threads with a lock, an Event and a Condition, a thread pool.
import threading
from concurrent.futures import ThreadPoolExecutor

total = 0
lock = threading.Lock()


def add(n):
    global total
    for _ in range(n):
        with lock:
            total += 1


threads = [threading.Thread(target=add, args=(1000,)) for _ in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("total", total)

ready = threading.Event()
seen = []
def waiter():
    ready.wait()
    seen.append("woken")
t = threading.Thread(target=waiter)
t.start()
ready.set()
t.join()
print("event", seen)

with ThreadPoolExecutor(max_workers=4) as pool:
    print("pool", sum(pool.map(lambda x: x * x, range(100))))
print("threads left", threading.active_count())
