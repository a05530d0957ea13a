#!/usr/bin/env bash
# Benchmark `tsfleet resolve` against a `dig +tcp` loop over the same
# sub-lists, both served by a local NSD on a loopback port.
#
# The list: PREFIXES /32 items (default 30,000) spread over SUBLISTS PTR
# sub-lists (default 10) of APL records, 60 items per record (NSD's limit);
# each sub-list answer is about 25 KB, so everything goes over TCP.
#
# Needs: nsd, dig (bind9-dnsutils); hyperfine if installed (else `date`).
# Usage: benches/resolve-bench.sh            (builds the release binary)
#        TSFLEET=path/to/tsfleet RUNS=50 benches/resolve-bench.sh
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PREFIXES=${PREFIXES:-30000}
SUBLISTS=${SUBLISTS:-10}
RUNS=${RUNS:-20}
NSD=${NSD:-$(command -v nsd || echo /usr/sbin/nsd)}
LIST=corp-block.acme.threatstop.local

for tool in "$NSD" dig; do
    command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install nsd bind9-dnsutils)" >&2; exit 2; }
done

work=$(mktemp -d)
nsd_pid=
cleanup() {
    [ -n "$nsd_pid" ] && kill "$nsd_pid" 2>/dev/null && wait "$nsd_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

# A free loopback port: nothing answers a TCP connect on it.
while :; do
    port=$((20000 + RANDOM % 30000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
done

# Zone: PTRs from the list to its sub-lists, then APL records.
awk -v n="$PREFIXES" -v subs="$SUBLISTS" '
BEGIN {
    print "$ORIGIN threatstop.local.\n$TTL 300"
    print "@ IN SOA ns.threatstop.local. hostmaster.threatstop.local. 1 3600 600 86400 300"
    print "@ IN NS ns.threatstop.local.\nns IN A 127.0.0.1"
    per = int((n + subs - 1) / subs)
    for (s = 0; s < subs; s++) printf "corp-block.acme IN PTR s%02d.corp-block.acme.threatstop.local.\n", s
    for (i = 0; i < n; i++) {
        s = int(i / per)
        if (i % per % 60 == 0) { if (i) printf "\n"; printf "s%02d.corp-block.acme IN APL", s }
        a = 16777216 + i * 257          # distinct addresses from 1.0.0.0 on
        printf " 1:%d.%d.%d.%d/32", int(a / 16777216) % 256, int(a / 65536) % 256, int(a / 256) % 256, a % 256
    }
    printf "\n"
}' > "$work/threatstop.local.zone"

cat > "$work/nsd.conf" <<CONF
server:
  ip-address: 127.0.0.1@$port
  do-ip6: no
  username: ""
  chroot: ""
  zonesdir: "$work"
  database: ""
  pidfile: "$work/nsd.pid"
  xfrdfile: "$work/xfrd.state"
  zonelistfile: "$work/zone.list"
  logfile: "$work/nsd.log"
  server-count: 1
  verbosity: 1
remote-control:
  control-enable: no
zone:
  name: threatstop.local
  zonefile: "$work/threatstop.local.zone"
CONF
"$NSD" -d -c "$work/nsd.conf" &
nsd_pid=$!
for _ in $(seq 100); do
    dig +tcp +short +time=1 @127.0.0.1 -p "$port" threatstop.local SOA 2>/dev/null | grep -q . && break
    sleep 0.1
done

if [ -z "${TSFLEET:-}" ]; then
    (cd "$ROOT" && cargo build --release --quiet)
    TSFLEET="$ROOT/target/release/tsfleet"
fi

cat > "$work/inventory.yaml" <<INV
dns:
  servers: [127.0.0.1]
  port: $port
  transport: tcp
  timeout_ms: 3000
policies:
  bench:
    block: [$LIST]
INV

# The baseline: what a shell script would do, one dig per name.
cat > "$work/dig-loop.sh" <<LOOP
#!/usr/bin/env bash
for s in \$(dig +tcp +short @127.0.0.1 -p $port $LIST PTR); do
    dig +tcp +short @127.0.0.1 -p $port "\$s" APL
done
LOOP
chmod +x "$work/dig-loop.sh"

# Both must see the whole list before timing means anything.
got=$("$TSFLEET" resolve -q -i "$work/inventory.yaml" --json | awk -F': ' '/"prefixes": [0-9]+,/ {gsub(",", "", $2); print $2; exit}')
dug=$("$work/dig-loop.sh" | wc -w)
echo "list: $PREFIXES prefixes in $SUBLISTS sub-lists; tsfleet saw $got, dig loop saw $dug"
[ "$got" = "$PREFIXES" ] && [ "$dug" = "$PREFIXES" ] || { echo "count mismatch" >&2; exit 1; }

resolve_cmd="$TSFLEET resolve -q -i $work/inventory.yaml -o $work/snap.json"
if command -v hyperfine >/dev/null; then
    hyperfine -N --warmup 3 --runs "$RUNS" \
        -n "tsfleet resolve" "$resolve_cmd" \
        -n "dig +tcp loop" "$work/dig-loop.sh"
else
    ms() { date +%s%N; }
    for name in "tsfleet resolve" "dig +tcp loop"; do
        [ "$name" = "tsfleet resolve" ] && cmd=$resolve_cmd || cmd=$work/dig-loop.sh
        start=$(ms)
        for _ in $(seq "$RUNS"); do $cmd >/dev/null; done
        echo "$name: $(( ($(ms) - start) / RUNS / 1000 )) µs per run (mean of $RUNS)"
    done
fi
