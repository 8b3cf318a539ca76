#!/bin/bash
# Record a real Debian kernel booting to a busybox shell under QEMU (TCG), with the
# kmem:* tracepoints on from the command line, and save what kmemlab renders:
#   /sys/kernel/tracing/trace, /proc/{buddyinfo,pagetypeinfo,zoneinfo,meminfo,slabinfo,
#   vmstat,vmallocinfo,iomem,...}, /sys/kernel/slab/*/ attributes, /proc/kpageflags,
#   dmesg.
#
# Usage (as root, on a Debian machine with the Debian mirror reachable):
#   tools/record-boot/record-boot.sh 6.1|6.12 [OUTDIR]
# Output: OUTDIR/<version>/ with the guest's files, boot.log (ttyS0) and manifest.txt.
# Then: python3 tools/record-boot/compact.py OUTDIR/<version> kmemlab/data/boots/<version>
# turns them into the compressed data the package bundles (it needs numpy: run it with
# kmemlab's .venv/bin/python).
#
# Nothing here needs a real host kernel: TCG (`-accel tcg,thread=single`; multi-threaded
# TCG can oops the guest) runs anywhere. A boot with the dump takes about 40 s of QEMU
# on a shared 2-core host (wall_seconds in the manifest); run under nice.
# The kernel command line adds trace_clock=global to the issue's (see CMDLINE below).
set -euo pipefail

VERSION=${1:?usage: record-boot.sh 6.1|6.12 [OUTDIR]}
OUT=$(realpath -m "${2:-/var/tmp/kmemlab-boots}")
RAM=${RAM:-1G}
CPUS=${CPUS:-2}
case "$VERSION" in
  6.1)  SUITE=bookworm ;;
  6.12) SUITE=trixie ;;
  *) echo "unknown version $VERSION (6.1 or 6.12)" >&2; exit 2 ;;
esac
WORK=$OUT/work-$VERSION
DEST=$OUT/$VERSION
mkdir -p "$WORK" "$DEST"

# --- host tools (Debian packages) ------------------------------------------------------
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
# the static busybox goes into the initramfs as is (Debian's "busybox" is dynamic)
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q "ok installed" \
  || need+=(busybox-static)
command -v cpio >/dev/null || need+=(cpio)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
fi

# --- the kernel package: a private apt configuration for the suite --------------------
# (does not touch the machine's own sources: apt-get download only)
# the mirrors of the machine's own Debian entries (deb822 "URIs:" or one-line "deb"),
# not comments; the first one that serves the suite is used
MIRRORS=$(grep -rhE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources \
          /etc/apt/sources.list.d/*.list 2>/dev/null | grep -oE 'https?://[^ ]+/debian/?( |$)' \
          | grep -v security | tr -d ' ' | awk '!seen[$0]++' || true)
APTDIR=$WORK/apt
mkdir -p "$APTDIR/lists/partial" "$APTDIR/parts" "$APTDIR/cache/archives/partial"
APT=(-o Dir::Etc::SourceList="$APTDIR/sources.list" -o Dir::Etc::SourceParts="$APTDIR/parts"
     -o Dir::State::Lists="$APTDIR/lists" -o Dir::Cache="$APTDIR/cache"
     -o Dir::Cache::pkgcache="" -o Dir::Cache::srcpkgcache="" -o APT::Sandbox::User=root)
MIRROR=
for m in $MIRRORS http://deb.debian.org/debian; do
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $m $SUITE main" \
    > "$APTDIR/sources.list"
  if apt-get "${APT[@]}" update -q -o APT::Update::Error-Mode=any \
     && apt-cache "${APT[@]}" show linux-image-amd64 >/dev/null 2>&1; then
    MIRROR=$m; break
  fi
done
[ -n "$MIRROR" ] || { echo "no mirror serves $SUITE" >&2; exit 1; }
IMG=$(apt-cache "${APT[@]}" depends linux-image-amd64 | awk '/Depends: linux-image-/{print $2; exit}')
IMG=${IMG}-unsigned   # same kernel, no signature wrapper package
(cd "$WORK" && rm -f linux-image-*.deb && apt-get "${APT[@]}" download "$IMG")
DEB=$(ls "$WORK"/linux-image-*.deb)
KVER_PKG=$(dpkg-deb -f "$DEB" Version)
rm -rf "$WORK/kernel" && dpkg -x "$DEB" "$WORK/kernel"
VMLINUZ=$(ls "$WORK"/kernel/boot/vmlinuz-*)
KREL=${VMLINUZ##*/vmlinuz-}

# --- initramfs: busybox + an init that dumps the state to ttyS1 -----------------------
INITRD=$WORK/initramfs
rm -rf "$INITRD" && mkdir -p "$INITRD"/{bin,dev,proc,sys,out,tmp}
cp /bin/busybox "$INITRD/bin/busybox"
for a in sh mount cat ls grep gzip tar stty sleep poweroff dmesg echo mkdir sync head; do
  ln -sf busybox "$INITRD/bin/$a"
done
cat > "$INITRD/init" <<'INIT'
#!/bin/sh
# PID 1 of the recording guest: the machine has booted to userspace. Stop the trace
# first (so the dump itself is not recorded), snapshot the state, then stream it out.
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
/bin/busybox mount -t tracefs nodev /sys/kernel/tracing
echo 0 > /sys/kernel/tracing/tracing_on
/bin/busybox mount -t devtmpfs dev /dev
cd /out
# Shell builtins (read/echo) copy the text files: no fork, so no process's pages come
# and go between these snapshots. Then one cat for the binary page flags.
for f in buddyinfo pagetypeinfo zoneinfo meminfo slabinfo vmstat vmallocinfo iomem \
         cmdline version cpuinfo; do
  while IFS= read -r line; do echo "$line"; done < /proc/$f > $f
done
cat /proc/kpageflags > kpageflags
cat /sys/kernel/tracing/buffer_size_kb > trace_buffer_size_kb
ls -l /sys/kernel/slab > slab-links
grep -r . /sys/kernel/slab/ > slab-attrs 2>/dev/null
mkdir formats
for e in /sys/kernel/tracing/events/kmem/*/; do
  n=${e%/}; n=${n##*/}; cat $e/format > formats/$n.format 2>/dev/null
done
dmesg > dmesg
gzip -1 < /sys/kernel/tracing/trace > trace.gz
echo "dump done" > /dev/console
stty -F /dev/ttyS1 raw -echo 115200
tar c . > /dev/ttyS1
sync
sleep 2
echo "powering off" > /dev/console
poweroff -f
INIT
chmod +x "$INITRD/init"
(cd "$INITRD" && find . | cpio -o -H newc --quiet | gzip -9) > "$WORK/initramfs.cpio.gz"

# --- boot --------------------------------------------------------------------------------
EVENTS=kmem:kmalloc,kmem:kfree,kmem:kmem_cache_alloc,kmem:kmem_cache_free,kmem:mm_page_alloc
EVENTS=$EVENTS,kmem:mm_page_free,kmem:mm_page_free_batched,kmem:mm_page_alloc_zone_locked
EVENTS=$EVENTS,kmem:mm_page_pcpu_drain,kmem:mm_page_alloc_extfrag
# trace_clock=global: under TCG the TSC is unstable, and without a boot clock a late
# initcall (kernel/trace/trace.c: tracing_set_default_clock) switches local -> global and
# *resets the buffer*, losing everything before ~2.7 s.
CMDLINE="console=ttyS0 trace_event=$EVENTS trace_buf_size=32M trace_clock=global no_hash_pointers"
rm -f "$WORK/out.tar" "$WORK/boot.log"
start=$(date +%s)
timeout 3600 qemu-system-x86_64 -accel tcg,thread=single -m "$RAM" -smp "$CPUS" \
  -kernel "$VMLINUZ" -initrd "$WORK/initramfs.cpio.gz" -append "$CMDLINE" \
  -display none -no-reboot -monitor none \
  -serial "file:$WORK/boot.log" -serial "file:$WORK/out.tar"
end=$(date +%s)

# --- unpack and manifest -------------------------------------------------------------------
rm -rf "$DEST" && mkdir -p "$DEST"
tar xf "$WORK/out.tar" -C "$DEST"
cp "$WORK/boot.log" "$DEST/boot.log"
{
  echo "kernel_package: $IMG $KVER_PKG"
  echo "kernel_release: $KREL"
  echo "suite: $SUITE"
  echo "mirror: $MIRROR"
  echo "qemu: $(dpkg-query -W -f='${Package} ${Version}' qemu-system-x86)"
  echo "busybox: $(dpkg-query -W -f='${Package} ${Version}' busybox-static)"
  echo "machine: qemu-system-x86_64 -accel tcg,thread=single -m $RAM -smp $CPUS (default CPU, i440fx, SeaBIOS)"
  echo "cmdline: $CMDLINE"
  echo "wall_seconds: $((end - start))"
  echo "host_cpus: $(nproc)"
} > "$DEST/manifest.txt"
cat "$DEST/manifest.txt"
ls -la "$DEST"
