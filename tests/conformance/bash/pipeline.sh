# /bin/bash -c (Debian's dynamic bash): a pipeline, PIPESTATUS, process substitution-free arrays.
seq 1 1000 | grep 7 | wc -l
true | false | true; echo "PIPESTATUS: ${PIPESTATUS[*]}"
words=(alpha beta gamma); echo "array: ${#words[@]} ${words[1]}"
echo "$(( 6 * 7 )) $(echo sub | tr a-z A-Z)"
for i in {1..3}; do echo -n "$i "; done; echo
