# Sourced by the remote benchmarks (run.sh, cpu.sh): a real sshd on 127.0.0.1 with a random port, generated keys
# and known_hosts, the ssh options flow passes, a warm ControlMaster, and a SIZE_MIB random file with a warm page
# cache. Sets work, ssh_opts, cipher, cipher_option, dest, port, keys, file, bytes, remote; defines now, secs, min.
# Needs size_mib set; CIPHER as in run.sh.
for tool in /usr/sbin/sshd scp rsync bc; do
    command -v "$tool" >/dev/null || { echo "$tool is missing (apt-get install -y openssh-server rsync bc)" >&2; exit 2; }
done
work="$(mktemp -d /tmp/flow-bench-remote.XXXXXX)"
sshd_pid=""
cleanup() {
    [ -n "$sshd_pid" ] && kill "$sshd_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# --- a real sshd on 127.0.0.1 with a random port, generated keys and known_hosts (as FlowTesting's SSHServer) ---
keys="$work/sshd"
mkdir -p "$keys" /run/sshd
ssh-keygen -q -t ed25519 -N "" -f "$keys/host_ed25519"
ssh-keygen -q -t ed25519 -N "" -f "$keys/client_ed25519"
cp "$keys/client_ed25519.pub" "$keys/authorized_keys"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# the same settings as the tests' SSHServer (one template for both), plus sftp for scp
sed -e "s|@PORT@|$port|g" -e "s|@ADDRESS@|127.0.0.1|g" -e "s|@DIR@|$keys|g" \
    "$(dirname "${BASH_SOURCE[0]}")/../../Sources/FlowTesting/sshd_config" > "$keys/sshd_config"
echo "Subsystem sftp /usr/lib/openssh/sftp-server" >> "$keys/sshd_config"
echo "[127.0.0.1]:$port $(cut -d' ' -f1-2 "$keys/host_ed25519.pub")" > "$keys/known_hosts"
/usr/sbin/sshd -D -e -f "$keys/sshd_config" 2> "$keys/sshd.log" &
sshd_pid=$!
for _ in $(seq 100); do grep -q "Server listening" "$keys/sshd.log" && break; sleep 0.05; done
grep -q "Server listening" "$keys/sshd.log" || { cat "$keys/sshd.log" >&2; exit 1; }
user="$(id -un)"

# The options flow's SSHTransport passes (BatchMode, a multiplexed master, keep-alives), plus the host's settings
# as hosts.toml gives them; no compression option; the cipher as CIPHER below says, the same for every tool.
ssh_opts=(-o BatchMode=yes -o ControlMaster=auto -o "ControlPath=$work/cm-%C" -o ControlPersist=120
          -o ConnectTimeout=15 -o ServerAliveInterval=5 -o ServerAliveCountMax=3 -o "Port=$port"
          -i "$keys/client_ed25519" -o IdentitiesOnly=yes
          -o "UserKnownHostsFile=$keys/known_hosts" -o StrictHostKeyChecking=yes)
# CIPHER (e.g. aes128-gcm@openssh.com) puts that cipher first for every tool alike (flow through hosts.toml's
# ssh_options); unset, OpenSSH's default order applies (chacha20-poly1305 first).
cipher_option=""
if [ -n "${CIPHER:-}" ]; then ssh_opts+=(-o "Ciphers=$CIPHER"); cipher_option=", \"Ciphers=$CIPHER\""; fi
dest="$user@127.0.0.1"
cipher=$(ssh -v "${ssh_opts[@]}" -o ControlMaster=no "$dest" true 2>&1 | sed -n 's/.*kex: client->server cipher: \([^ ]*\).*/\1/p' | head -1)
ssh "${ssh_opts[@]}" "$dest" true   # opens the master connection scp and rsync reuse below, as flow reuses its own

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc -l; }
min() { if [ -z "$1" ] || [ "$(echo "$2 < $1" | bc -l)" = 1 ]; then echo "$2"; else echo "$1"; fi; }

file="$work/artifact.bin"
head -c "$((size_mib * 1024 * 1024))" /dev/urandom > "$file"
bytes=$(stat -c %s "$file")
cat "$file" > /dev/null   # warm the page cache
remote="$work/remote"     # the "host's" side: same machine, own folders
mkdir -p "$remote"
