#!/usr/bin/env bash
# Where the remote send's time goes (issue 4): on the loopback host the sender (ssh) and the receiver (sshd, and
# what it starts) share this machine's cores, so a check on arrival competes with the transfer for CPU. For each of
#   scp                          the reference (SFTP; writes the file, checks nothing)
#   ssh 'cat > f'                flow's transfer alone (ssh reads the file as its standard input)
#   ssh 'cat > f && openssl …'   what flow's receiveFile runs for an object of 32 MiB or more: land, then SHA-256
#   ssh '… tail --pid -f | openssl' (niced)  the same, hashing the file while it lands from the idle CPU
# it prints wall seconds and the whole machine's busy and idle CPU seconds (/proc/stat) over the command, and
# OpenSSL's SHA-256 rate here: the CPU a check on arrival costs at the least.
# Usage: [CIPHER=NAME] [REPS=N] Benchmarks/remote/cpu.sh [SIZE_MIB]
set -euo pipefail
size_mib=${1:-1024}
reps=${REPS:-3}
source "$(dirname "${BASH_SOURCE[0]}")/sshd-setup.sh"
hz=$(getconf CLK_TCK)
ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat; }   # busy (user nice system irq softirq steal), idle (idle iowait)
measure() { # measure NAME COMMAND...: one line of wall, busy and idle seconds
    local name=$1; shift
    local c0 c1 s e
    c0=($(ticks)); s=$(now); "$@"; e=$(now); c1=($(ticks))
    printf '%-26s wall %6.3f s   busy %6.2f CPU-s   idle %5.2f CPU-s\n' "$name" "$(secs "$s" "$e")" \
        "$(echo "(${c1[0]} - ${c0[0]}) / $hz" | bc -l)" "$(echo "(${c1[1]} - ${c0[1]}) / $hz" | bc -l)"
}
expected=$(sha256sum "$file" | cut -c1-64)
check() { [ "$(cut -c1-64 "$remote/sum")" = "$expected" ] || { echo "wrong digest on arrival" >&2; exit 1; }; }
land_then_hash="cat > $remote/f && openssl dgst -sha256 -r $remote/f > $remote/sum"
follow="f=$remote/f; : > \$f; exec 3<&0; cat <&3 > \$f & p=\$!; nice -n 19 tail -s 0.05 --pid=\$p -c +1 -f \$f | nice -n 19 openssl dgst -sha256 -r > $remote/sum; wait \$p"
echo "file: $size_mib MiB, page cache warm; sshd 127.0.0.1:$port; cipher ${cipher:-unknown}; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq "$reps"); do
    echo "round $i"
    measure scp scp -q "${ssh_opts[@]}" "$file" "$dest:$remote/f"; rm -f "$remote/f"; sync
    measure "ssh cat" ssh "${ssh_opts[@]}" "$dest" "cat > $remote/f" < "$file"; rm -f "$remote/f"; sync
    measure "ssh cat, then openssl" ssh "${ssh_opts[@]}" "$dest" "$land_then_hash" < "$file"; check; rm -f "$remote/f" "$remote/sum"; sync
    measure "ssh cat, openssl follows" ssh "${ssh_opts[@]}" "$dest" "sh -c '$follow'" < "$file"; check; rm -f "$remote/f" "$remote/sum"; sync
done
openssl speed -seconds 2 -bytes 1048576 -evp sha256 2>/dev/null | awk '/^sha256/ { printf "openssl SHA-256, 1 MiB blocks, one core: %.0f MB/s (%.2f CPU-s per GiB)\n", $2 / 1000, 1073741824 / ($2 * 1000) }'
