#!/bin/sh
# Record a real kmem trace of this machine with a given number of event records, e.g. the
# 917,756-record trace issue 21 measures `kmemlab trace replay` and `trace stats` with:
#
#   sudo tools/record-kmem-trace/record-kmem-trace.sh 917756 /tmp/kmem-917k.txt.gz
#   kmemlab trace replay /tmp/kmem-917k.txt.gz
#
# A private ftrace instance (instances/kmemlab) with a 128 MiB-per-CPU buffer, so another
# tracer on the machine is not disturbed and nothing is lost; the six events the replay
# and `perf kmem` use; a workload of file reads, process starts and a compression (or the
# command given as the third argument); then the tracefs header and the last N records.
set -eu
N=${1:?usage: record-kmem-trace.sh RECORDS OUT.txt.gz [COMMAND]}
OUT=${2:?usage: record-kmem-trace.sh RECORDS OUT.txt.gz [COMMAND]}
CMD=${3:-}
T=/sys/kernel/tracing
[ -d "$T/events" ] || mount -t tracefs nodev "$T"
I="$T/instances/kmemlab"
[ -d "$I" ] || mkdir "$I"
trap 'echo 0 > "$I/tracing_on"; rmdir "$I" 2>/dev/null || true' EXIT
echo 0 > "$I/tracing_on"
echo 131072 > "$I/buffer_size_kb"
echo > "$I/trace"
for e in kmalloc kfree kmem_cache_alloc kmem_cache_free mm_page_alloc mm_page_free; do
    echo 1 > "$I/events/kmem/$e/enable"
done
echo 1 > "$I/tracing_on"
# entries in the ring buffer, all CPUs (reading "trace" itself to count would be slow)
records() { cat "$I"/per_cpu/cpu*/stats | awk '/^entries:/ { n += $2 } END { print n + 0 }'; }
while [ "$(records)" -lt "$N" ]; do
    if [ -n "$CMD" ]; then sh -c "$CMD" >/dev/null 2>&1 || true
    else
        find /usr/lib /usr/share -type f -size -64k 2>/dev/null | head -4000 | xargs cat >/dev/null 2>&1 || true
        for i in 1 2 3 4 5 6 7 8; do ls -lR /etc >/dev/null 2>&1; done
        tar cf - /usr/share/doc 2>/dev/null | gzip -1 >/dev/null || true
    fi
done
echo 0 > "$I/tracing_on"
lost=$(grep -c 'LOST' "$I/trace" || true)
{ grep '^#' "$I/trace"; grep -v '^#' "$I/trace" | tail -n "$N"; } | gzip -c > "$OUT"
echo "$OUT: $(zcat "$OUT" | grep -vc '^#') records, $lost LOST markers, kernel $(uname -r)"
