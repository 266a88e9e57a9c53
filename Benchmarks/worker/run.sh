#!/usr/bin/env bash
# Remote Swift function steps: the static worker's size, the time to link it and to install it on a host, and the
# per-step overhead of a no-op function step on a loopback sshd, side by side with a no-op command step there and
# the same function step run locally. Needs root (sshd) and Debian's openssh-server.
# Usage: Benchmarks/worker/run.sh [FLOW_BINARY]   (default: a release build, built first)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
source "$root/Benchmarks/harness.sh"
flow=$(flow_binary "$@")
work="$(mktemp -d /tmp/flow-bench-worker.XXXXXX)"
reps=${REPS:-5}

# A throwaway sshd on 127.0.0.1, as the tests start one (FlowTesting/SSHServer.swift).
ssh-keygen -q -t ed25519 -N "" -f "$work/host_ed25519"
ssh-keygen -q -t ed25519 -N "" -f "$work/client_ed25519"
cp "$work/client_ed25519.pub" "$work/authorized_keys"
port=$(shuf -i 20000-60000 -n 1)
cat > "$work/sshd_config" <<CONF
Port $port
ListenAddress 127.0.0.1
HostKey $work/host_ed25519
PidFile $work/sshd.pid
AuthorizedKeysFile $work/authorized_keys
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin yes
MaxStartups 100
MaxSessions 100
CONF
echo "[127.0.0.1]:$port $(cut -d' ' -f1-2 "$work/host_ed25519.pub")" > "$work/known_hosts"
mkdir -p /run/sshd
/usr/sbin/sshd -D -e -f "$work/sshd_config" 2> "$work/sshd.log" &
sshd_pid=$!
trap 'kill "$sshd_pid" 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
until grep -qs "Server listening" "$work/sshd.log"; do sleep 0.1; done

p="$work/project"
mkdir -p "$p/Workflows"
cat > "$p/hosts.toml" <<TOML
[hosts.loopback]
ssh = "$(id -un)@127.0.0.1"
port = $port
identity_file = "$work/client_ed25519"
ssh_options = ["UserKnownHostsFile=$work/known_hosts", "StrictHostKeyChecking=yes"]
root = "$work/remote-root"
TOML
cat > "$p/Workflows/Bench.swift" <<'SWIFT'
import FlowKit
let bench = Workflow("bench") {
    Command("noop-cmd", "true")
    Function("noop-fn") { ctx in ctx.log.info("done") }
}
SWIFT

now() { date +%s.%N; }
once() { local s e; s=$(now); (cd "$p" && "$@" >/dev/null 2>&1); e=$(now); echo "$e - $s" | bc -l; }
best() { # best of $reps runs of "$@", in seconds
    local b="" t
    for _ in $(seq "$reps"); do
        t=$(once "$@")
        if [ -z "$b" ] || [ "$(echo "$t < $b" | bc -l)" = 1 ]; then b=$t; fi
    done
    echo "$b"
}

t_compile=$(once "$flow" graph)                                         # the dynamic workflow binary
t_first=$(once "$flow" run noop-fn --host loopback --no-cache)          # link + install + run
worker=$(ls "$work"/remote-root/workers/*/worker)
size=$(stat -c %s "$worker")
lastlog() { (cd "$p" && "$flow" logs "$("$flow" runs --limit 1 --json | grep -o '"tag" *: *"[^"]*"' | head -1 | sed 's/.*"\([^"]*\)"$/\1/')"); }
sent=$(lastlog | grep -o 'sent [0-9]* bytes of worker' | grep -o '[0-9]*')
deps=$(ldd "$worker" | awk '{print "  " $1}')
t_warm=$(best "$flow" run noop-fn --host loopback --no-cache)           # worker cached here and on the host
t_cmd=$(best "$flow" run noop-cmd --host loopback --no-cache)
t_local=$(best "$flow" run noop-fn --no-cache)
t_relink=$(best sh -c "find . -name 'worker-static*' -delete && \"$flow\" run noop-fn --host loopback --no-cache")
t_resend=$(best sh -c "rm -rf \"$work/remote-root/workers\" && \"$flow\" run noop-fn --host loopback --no-cache")
again=$(lastlog | grep -o 'sent [0-9]* bytes of worker' | grep -o '[0-9]*')

printf 'static worker: %d bytes on the host; first run sent %s bytes; dependencies (ldd):\n%s\n' "$size" "$sent" "$deps"
printf '%-52s %8s\n' "measure" "seconds"
printf '%-52s %8.3f\n' "compile the workflow (dynamic, flow graph)" "$t_compile"
printf '%-52s %8.3f\n' "first remote run: link + install worker + run" "$t_first"
printf '%-52s %8.3f\n' "remote no-op function step (worker cached)" "$t_warm"
printf '%-52s %8.3f\n' "remote no-op command step" "$t_cmd"
printf '%-52s %8.3f\n' "local no-op function step" "$t_local"
printf '%-52s %8.3f\n' "link the static worker (relink - warm)" "$(echo "$t_relink - $t_warm" | bc -l)"
printf '%-52s %8.3f\n' "install the worker on the host (resend - warm)" "$(echo "$t_resend - $t_warm" | bc -l)"
printf 'a run after the host lost its worker sent %s bytes\n' "$again"
