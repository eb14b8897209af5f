# Debian's dynamic python3: subprocess (fork/exec of itself and of sh, pipes between children). Not named
# subprocess.py: the script's folder comes first on sys.path and would shadow the module.
import subprocess
import sys

r = subprocess.run([sys.executable, "-c", "print('child python', 6 * 7)"], capture_output=True, text=True)
print(r.stdout.strip(), r.returncode)
r = subprocess.run(["/bin/sh", "-c", "echo from sh; exit 3"], capture_output=True, text=True)
print(r.stdout.strip(), r.returncode)
seq = subprocess.Popen(["seq", "1", "1000"], stdout=subprocess.PIPE)
tail = subprocess.Popen(["tail", "-1"], stdin=seq.stdout, stdout=subprocess.PIPE, text=True)
seq.stdout.close()
print("pipeline", tail.communicate()[0].strip(), seq.wait(), tail.returncode)
r = subprocess.run(["cat"], input="through stdin\n", capture_output=True, text=True)
print(r.stdout.strip())
try:
    subprocess.run(["/no/such/program"])
except FileNotFoundError as e:
    print("missing program:", type(e).__name__)
