#!/usr/bin/env bash
# Remote send (issue 4): sending a SIZE_MIB (default 1024) random file to a loopback sshd with `flow run --host`,
# side by side with `scp` and `rsync` over the same sshd and the same ssh options; re-sending it unchanged; and the
# per-step overhead of a no-op remote command step (a chain of 20 `true` steps, remote minus local).
# Usage: [CIPHER=NAME] [REPS=N] Benchmarks/remote/run.sh FLOW_BINARY [SIZE_MIB]
#        (FLOW_BINARY: a release build, left in its build folder)
# Needs root (sshd), Debian's openssh-server and rsync. REPS (default 3) sets how many times each figure is taken;
# the best is reported. The page cache is warm: the file is read once before anything is timed.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 FLOW_BINARY [SIZE_MIB]" >&2; exit 2; }
flow="$(realpath "$1")"
size_mib=${2:-1024}
reps=${REPS:-3}
load_before="$(cut -d" " -f1-3 /proc/loadavg)"
source "$(dirname "${BASH_SOURCE[0]}")/sshd-setup.sh"

t_scp=""; t_rsync=""
for i in $(seq "$reps"); do
    mkdir -p "$remote/scp-$i"
    s=$(now); scp -q "${ssh_opts[@]}" "$file" "$dest:$remote/scp-$i/"; e=$(now)
    cmp -s "$file" "$remote/scp-$i/artifact.bin" || { echo "scp copy differs" >&2; exit 1; }
    t_scp=$(min "$t_scp" "$(secs "$s" "$e")"); rm -rf "$remote/scp-$i"; sync
    mkdir -p "$remote/rsync-$i"   # a fresh destination each time: rsync sends the whole file
    s=$(now); rsync -a -e "ssh ${ssh_opts[*]}" "$file" "$dest:$remote/rsync-$i/"; e=$(now)
    cmp -s "$file" "$remote/rsync-$i/artifact.bin" || { echo "rsync copy differs" >&2; exit 1; }
    t_rsync=$(min "$t_rsync" "$(secs "$s" "$e")"); rm -rf "$remote/rsync-$i"; sync
done

# --- flow: a command step takes the file as a parameter; its log says how long sending its inputs took ---
cat > "$work/hosts.toml" <<EOF
[hosts.loop]
ssh = "$dest"
port = $port
identity_file = "$keys/client_ed25519"
ssh_options = ["UserKnownHostsFile=$keys/known_hosts", "StrictHostKeyChecking=yes"$cipher_option]
root = "$remote/flow-ROOT"
EOF
project() { # project NAME WORKFLOW_SOURCE: a fresh project, its workflow compiled, its host root ROOT
    local p="$work/$1"
    mkdir -p "$p/Workflows"
    printf '%s\n' "$2" > "$p/Workflows/Bench.swift"
    ln -s "$file" "$p/artifact.bin"
    host_root "$p" "$1"
    (cd "$p" && "$flow" graph >/dev/null)
    echo "$p"
}
host_root() { sed "s|ROOT|$2|" "$work/hosts.toml" > "$1/hosts.toml"; }   # host_root PROJECT NAME
send_workflow='import FlowKit
let bench = Workflow("bench") {
    Param("data", default: "artifact.bin")
    Command("warm", "true")                                // opens the master connection before the send
    Command("consume", "test -s {data}").needs("warm")
}'
sent_line() { (cd "$1" && "$flow" logs "$("$flow" runs --json --limit 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["tag"])')") | grep "consume: sent" | tail -1; }
field() { sed -n "s/.*$2.*/\1/p" <<< "$1"; }

p=$(project send "$send_workflow")
t_flow=""; t_resend=""; t_check=""; resend_bytes=""; t_first_run=""
for i in $(seq "$reps"); do
    host_root "$p" "send-$i"   # a host root of its own: the host lacks the file again
    s=$(now); (cd "$p" && "$flow" run --host loop --no-cache >/dev/null); e=$(now)
    # The first run also hashes the file into the local store; later ones find it there by its size and mtime.
    [ -z "$t_first_run" ] && t_first_run=$(secs "$s" "$e")
    line=$(sent_line "$p")
    [ "$(field "$line" 'sent \([0-9]*\) bytes')" -ge "$bytes" ] || { echo "flow did not send the whole file: $line" >&2; exit 1; }
    t_flow=$(min "$t_flow" "$(field "$line" 'bytes of input objects to loop in \([0-9.]*\) s')")
    (cd "$p" && "$flow" run --host loop --force consume >/dev/null)   # the same file again, unchanged
    line=$(sent_line "$p")
    resend_bytes=$(field "$line" 'sent \([0-9]*\) bytes')
    t_resend=$(min "$t_resend" "$(field "$line" 'bytes of input objects to loop in \([0-9.]*\) s')")
    t_check=$(min "$t_check" "$(field "$line" 'local inputs checked in \([0-9.]*\) s')")
    rm -rf "$remote/flow-send-$i"; sync
done

# --- per-step remote overhead: 20 no-op steps in a chain, on the host and locally ---
n=20
chain_workflow="import FlowKit
let bench = Workflow(\"bench\") {
    for i in 0..<$n { Command(\"s\\(i)\", \"true\").needs(i == 0 ? [] : [\"s\\(i - 1)\"]) }
}"
p=$(project chain "$chain_workflow")
(cd "$p" && "$flow" run --host loop --no-cache >/dev/null)   # installs nothing, but opens the master connection
t_chain_remote=""; t_chain_local=""
for _ in $(seq "$reps"); do
    s=$(now); (cd "$p" && "$flow" run --host loop --no-cache >/dev/null); e=$(now)
    t_chain_remote=$(min "$t_chain_remote" "$(secs "$s" "$e")")
    s=$(now); (cd "$p" && "$flow" run --no-cache >/dev/null); e=$(now)
    t_chain_local=$(min "$t_chain_local" "$(secs "$s" "$e")")
done

t_ssh=""   # one remote command through the warm master: what every command flow sends costs at least
for _ in $(seq "$reps"); do s=$(now); ssh "${ssh_opts[@]}" "$dest" true; e=$(now); t_ssh=$(min "$t_ssh" "$(secs "$s" "$e")"); done

mib=$(echo "$bytes / 1048576" | bc -l)
rate() { printf '%.0f' "$(echo "$mib / $1" | bc -l)"; }
echo "file: $size_mib MiB of random bytes, page cache warm; sshd 127.0.0.1:$port; cipher negotiated: ${cipher:-unknown}"
echo "best of $reps; load average before/after: $load_before / $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-34s %10s %10s %10s\n' "send" "s" "MiB/s" "vs scp"
printf '%-34s %10.3f %10s %10.2f\n' "scp" "$t_scp" "$(rate "$t_scp")" 1
printf '%-34s %10.3f %10s %10.2f\n' "rsync (fresh destination)" "$t_rsync" "$(rate "$t_rsync")" "$(echo "$t_scp / $t_rsync" | bc -l)"
printf '%-34s %10.3f %10s %10.2f\n' "flow (send, verified on arrival)" "$t_flow" "$(rate "$t_flow")" "$(echo "$t_scp / $t_flow" | bc -l)"
printf '%-34s %10.3f\n' "flow run, whole (first: hash, send, steps)" "$t_first_run"
echo "re-send unchanged: $resend_bytes bytes in $t_resend s (objects flow knows the host holds are not asked about; the launch checks them); local file checked in $t_check s"
printf 'no-op step chain of %d: remote %.3f s, local %.3f s; remote overhead %.1f ms/step\n' "$n" \
    "$t_chain_remote" "$t_chain_local" "$(echo "($t_chain_remote - $t_chain_local) * 1000 / $n" | bc -l)"
printf 'one remote command (ssh true, warm master, the login shell starting): %.3f s\n' "$t_ssh"
