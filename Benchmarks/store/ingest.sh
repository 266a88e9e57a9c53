#!/usr/bin/env bash
# Ingesting a 1 GiB file into the store (`flow volume put`: one streaming pass that hashes with SHA-256 and
# copies into the content store, fsynced) side by side with `openssl dgst -sha256` of the same file, and
# `flow volume get` of it side by side with `cp`. Page cache warm for every command (each is run after a read).
# Usage: Benchmarks/store/ingest.sh FLOW_BINARY [SIZE_MIB]
set -euo pipefail
flow="$(realpath "$1")"
mib="${2:-1024}"
# INGEST_DIR: where to work (default /tmp), e.g. a folder on XFS or btrfs to see reflinked ingests.
work="$(mktemp -d "${INGEST_DIR:-/tmp}/flow-bench-ingest.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/p/Workflows"
head -c $((mib * 1024 * 1024)) /dev/urandom > "$work/big.bin"
cat "$work/big.bin" > /dev/null
sync   # the 1 GiB just written is on disk before anything is timed: an fsync below must not wait for it
t() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc -l; }
cd "$work/p"
openssl_s=$(t openssl dgst -sha256 "$work/big.bin")
sha256sum_s=$(t sha256sum "$work/big.bin")
put_s=$(t "$flow" volume put bench "$work/big.bin" big.bin)
put_again_s=$(t "$flow" volume put bench "$work/big.bin" big.bin --force)   # stat cache: not re-hashed
cp_s=$(t cp "$work/big.bin" "$work/copy.bin")
rm -f "$work/copy.bin"
# The floor for any durable ingest on this disk: copying the bytes and fsyncing them, nothing hashed.
sync
ddsync_s=$(t dd if="$work/big.bin" of="$work/copy.bin" bs=4M conv=fsync status=none)
rm -f "$work/copy.bin"
get_s=$(t "$flow" volume get bench/big.bin "$work/got.bin")
cmp "$work/big.bin" "$work/got.bin"
mbps() { echo "$mib / $1" | bc -l; }
printf '%-34s %8s %10s\n' what seconds "MiB/s"
printf '%-34s %8.2f %10.0f\n' "openssl dgst -sha256" "$openssl_s" "$(mbps "$openssl_s")"
printf '%-34s %8.2f %10.0f\n' "sha256sum" "$sha256sum_s" "$(mbps "$sha256sum_s")"
printf '%-34s %8.2f %10.0f\n' "flow volume put (hash + store)" "$put_s" "$(mbps "$put_s")"
printf '%-34s %8.2f %10.0f\n' "flow volume put again (unchanged)" "$put_again_s" "$(mbps "$put_again_s")"
printf '%-34s %8.2f %10.0f\n' "cp" "$cp_s" "$(mbps "$cp_s")"
printf '%-34s %8.2f %10.0f\n' "dd conv=fsync (copy + fsync)" "$ddsync_s" "$(mbps "$ddsync_s")"
printf '%-34s %8.2f %10.0f\n' "flow volume get (verify + copy)" "$get_s" "$(mbps "$get_s")"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
