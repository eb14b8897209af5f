# Background jobs and wait: $!, wait for one job and its exit status, wait for all.
tmp=$(mktemp -d)
(sleep 0.2; echo slow > "$tmp/slow") &
slow=$!
(exit 3) &
fast=$!
wait $fast
echo "fast job status: $?"
wait $slow
echo "slow job status: $?, wrote: $(cat "$tmp/slow")"
for i in 1 2 3 4 5; do (echo "job $i" > "$tmp/job$i") & done
wait
cat "$tmp"/job*
sh -c 'exit 7' &
wait $!
echo "sh -c job status: $?"
rm -r "$tmp"
