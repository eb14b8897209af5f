# Debian's dynamic python3: multiprocessing, which needs POSIX named semaphores (sem_open: a file in
# /dev/shm mapped MAP_SHARED), futexes that wake across processes, and fork of a threaded process
# whose malloc arenas are PROT_NONE reservations. Not named multiprocessing.py: the script's folder
# comes first on sys.path and would shadow the module.
import multiprocessing as mp
from multiprocessing import shared_memory


def square(x):
    return x * x


def add_to(name, lock):
    block = shared_memory.SharedMemory(name=name)
    with lock:
        block.buf[0] += 1
    block.close()


if __name__ == "__main__":
    with mp.Pool(2) as pool:
        print("pool map", sum(pool.map(square, range(100))))
    queue = mp.Queue()
    child = mp.Process(target=queue.put, args=("through a queue",))
    child.start()
    print(queue.get(), child.join() or child.exitcode)
    block = shared_memory.SharedMemory(create=True, size=4096)
    lock = mp.Lock()
    workers = [mp.Process(target=add_to, args=(block.name, lock)) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    print("shared memory counter", block.buf[0])
    block.close()
    block.unlink()
