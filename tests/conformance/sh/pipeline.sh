# Pipelines: a long one through sort, the exit status of the last command, pipefail.
seq 1 100000 | sort -n | tail -1
seq 1 10 | sort -rn | head -3 | tr '\n' ' '
echo
echo hello | false | true
echo "status of a pipeline ending in true: $?"
set -o pipefail
echo hello | false | true
echo "with pipefail: $?"
seq 1 50000 | grep -c 7
set +o pipefail
yes | head -5 | wc -l
