#!/bin/bash
# SPDX-License-Identifier: ISC
# Benchmark: one poll cycle of kmswatchd beside the HTTP limit of the same
# server, in one run.
#
#   bash tests/bench/poll_cycle.sh [-n 1000,10000,30000] [--binary PATH] [--runs 3]
#                                  [--discover]
#
# nginx (HTTP/2 + TLS on loopback, a throwaway CA) serves canned Atlas
# answers shaped after docs/reference/atlas-api.md: the OAuth token, each
# project's encryptionAtRest document (Azure Key Vault, valid) and its
# clusters page and its (empty) page of Atlas events. For each N it then times
#   h2load   the same 3N GETs (N EAR reads, N clusters reads, N events reads,
#            the events URL as kmswatchd builds it) over one
#            connection with 100 streams in flight: the limit;
#   kmswatchd --once on N projects (service account, http.max_concurrent
#            100, as many as h2load's streams): one token request,
#            the group and service account reads of
#            atlas.credential_expiry, then per project the EAR read and
#            the clusters read, the atlas.events read, the checks, and
#            the --once report;
#   curl_floor the same 3N GETs with bare libcurl (tests/bench/curl_floor.c:
#            one multi handle, the same multiplexing, bodies discarded):
#            what the HTTP library alone costs;
# and prints all three, kmswatchd's ratio to each, its peak RSS beside
# curl_floor's (what libcurl, OpenSSL and their libraries cost alone), and the
# requests nginx counted (exactly 3N + 3 are expected: the token, and for
# atlas.credential_expiry one project's group, for its orgId, and the
# service account; anything else fails the run).
# With --discover the projects are not listed in the config: kmswatchd
# finds them with discover: (GET /api/atlas/v2/groups, pages of 500 that
# nginx serves from files, with totalCount and a next link), so its run
# also lists N/500 pages first and learns its organization from them (no
# group read); the requests expected are 3N + 2 + N/500.
# Timings are the best of --runs runs; RSS is the highest. nginx and h2load
# set the limit because they are the fastest HTTP/2 server and client on
# the machine: what kmswatchd costs beyond them is its own.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
sizes=10000
binary=$top/build/daemon/kmswatchd
runs=3
discover=0
while [ $# -gt 0 ]; do
	case $1 in
	-n) sizes=$2; shift 2 ;;
	--binary) binary=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--discover) discover=1; shift ;;
	-h | --help) sed -n 2,20p "$0"; exit 0 ;;
	*) echo "poll_cycle.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
[ -x "$binary" ] || { echo "poll_cycle.sh: no kmswatchd at $binary (build first, or --binary)" >&2; exit 2; }

need=()
command -v cc >/dev/null || need+=(gcc)
pkg-config --exists libcurl 2>/dev/null || need+=(libcurl4-openssl-dev pkg-config)
command -v nginx >/dev/null || need+=(nginx-light)
command -v h2load >/dev/null || need+=(nghttp2-client)
command -v openssl >/dev/null || need+=(openssl)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

work=$(mktemp -d /tmp/kmswatch-bench.XXXXXX)
nginx_pid=
cleanup() {
	[ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
cc -O2 -o "$work/curl_floor" "$top/tests/bench/curl_floor.c" $(pkg-config --cflags --libs libcurl)

# ---- a throwaway CA and a certificate for 127.0.0.1 -----------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj "/CN=kmswatch bench CA" -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
	-keyout "$work/srv.key" -out "$work/srv.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >"$work/ext"
openssl x509 -req -in "$work/srv.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
	-CAcreateserial -days 2 -extfile "$work/ext" -out "$work/srv.pem" 2>/dev/null

port=$(( 20000 + RANDOM % 20000 ))
# Requests in flight, the same for all three clients: h2load's streams,
# curl_floor's and kmswatchd's http.max_concurrent.
streams=100
ear='{"awsKms":{"enabled":false,"requirePrivateNetworking":false,"valid":false},"azureKeyVault":{"azureEnvironment":"AZURE","clientID":"b0c1d2e3-f405-4617-8829-3a4b5c6d7e8f","enabled":true,"keyIdentifier":"https://contoso-kv.vault.azure.net/keys/atlas-cmk/0f1e2d3c4b5a69788796a5b4c3d2e1f0","keyVaultName":"contoso-kv","requirePrivateNetworking":false,"resourceGroupName":"rg-atlas-cmk","subscriptionID":"11111111-2222-4333-8444-555555555555","tenantID":"99999999-8888-4777-8666-555555555555","valid":true},"enabledForSearchNodes":false,"googleCloudKms":{"enabled":false,"valid":false}}'
clusters='{"links":[],"results":[{"id":"$1c0ffee","groupId":"$1","name":"Cluster0","clusterType":"REPLICASET","encryptionAtRestProvider":"AZURE","stateName":"IDLE","paused":false,"mongoDBVersion":"8.0.4","createDate":"2025-11-03T09:12:44Z"}],"totalCount":1}'
token='{"access_token":"bench-token-not-a-secret","token_type":"Bearer","expires_in":3600}'
org=5f1a2b3c4d5e6f7081920a1b
group='{"id":"$1","name":"bench-$1","orgId":"'$org'","clusterCount":1,"created":"2025-11-03T09:00:00Z","links":[]}'
sa='{"clientId":"mdb_sa_id_bench","name":"kmswatch-bench","description":"","createdAt":"2025-11-03T09:00:00Z","roles":["ORG_READ_ONLY"],"secrets":[{"id":"6a1b2c3d4e5f60718293a4b5","createdAt":"2025-11-03T09:00:00Z","expiresAt":"2027-11-03T09:00:00Z","maskedSecretValue":"mdb_sa_sk_...cret"}]}'
cat >"$work/nginx.conf" <<EOF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/error.log warn;
daemon off;
events { worker_connections 1024; }
http {
	access_log off;
	keepalive_requests 1000000;
	http2_max_concurrent_streams 256;
	client_body_temp_path $work/body;
	server {
		listen 127.0.0.1:$port ssl http2;
		ssl_certificate $work/srv.pem;
		ssl_certificate_key $work/srv.key;
		location = /api/oauth/token {
			default_type application/json;
			return 200 '$token';
		}
		location ~ "^/api/atlas/v2/groups/([0-9a-f]{24})/encryptionAtRest$" {
			default_type application/vnd.atlas.2023-01-01+json;
			return 200 '$ear';
		}
		location ~ "^/api/atlas/v2/groups/([0-9a-f]{24})/events$" {
			default_type application/vnd.atlas.2023-01-01+json;
			return 200 '{"links":[],"results":[],"totalCount":0}';
		}
		location ~ "^/api/atlas/v2/groups/([0-9a-f]{24})/clusters$" {
			default_type application/vnd.atlas.2024-08-05+json;
			return 200 '$clusters';
		}
		location ~ "^/api/atlas/v2/groups/([0-9a-f]{24})$" {
			default_type application/vnd.atlas.2023-01-01+json;
			return 200 '$group';
		}
		location = /api/atlas/v2/orgs/$org/serviceAccounts/mdb_sa_id_bench {
			default_type application/vnd.atlas.2024-08-05+json;
			return 200 '$sa';
		}
		location = /api/atlas/v2/groups {
			default_type application/vnd.atlas.2023-01-01+json;
			root $work/groups;
			try_files /\$arg_pageNum.json =404;
		}
		location = /stub { stub_status; }
	}
}
EOF
# nginx's own variables in the canned bodies: only \$1 is meant
nginx -t -c "$work/nginx.conf" -p "$work" >/dev/null 2>&1 || { nginx -t -c "$work/nginx.conf" -p "$work"; exit 1; }
nginx -c "$work/nginx.conf" -p "$work" &
nginx_pid=$!
for _ in $(seq 50); do
	curl -sk "https://127.0.0.1:$port/stub" >/dev/null 2>&1 && break
	sleep 0.1
done
served() { curl -sk "https://127.0.0.1:$port/stub" | awk 'NR == 3 { print $3 }'; }

best() { sort -g | head -1; }
printf '%-8s %17s %9s %13s %11s %12s %9s %10s %9s\n' projects "kmswatchd --once" h2load "libcurl floor" "vs h2load" "vs libcurl" "peak RSS" "floor RSS" requests
prev_n= prev_t=
# the atlas.events read as kmswatchd builds it (lib/atlas.c atlas_events_url)
events_query="/events?pageNum=1&itemsPerPage=100&minDate=$(date -u -d '7 days ago' +%Y-%m-%dT%H:%M:%SZ)"
for t in ENCRYPTION_AT_REST_KMS_NETWORK_ACCESS_DENIED ENCRYPTION_AT_REST_CONFIG_NO_LONGER_VALID \
	AWS_ENCRYPTION_KEY_INVALID AZURE_ENCRYPTION_KEY_INVALID GCP_ENCRYPTION_KEY_INVALID \
	AWS_ENCRYPTION_KEY_NEEDS_ROTATION AZURE_ENCRYPTION_KEY_NEEDS_ROTATION GCP_ENCRYPTION_KEY_NEEDS_ROTATION \
	ENCRYPTION_AT_REST_KMS_NETWORK_ACCESS_RESTORED ENCRYPTION_AT_REST_CONFIG_IS_VALID \
	AWS_ENCRYPTION_KEY_VALID AZURE_ENCRYPTION_KEY_VALID GCP_ENCRYPTION_KEY_VALID \
	AWS_ENCRYPTION_KEY_ROTATED AZURE_ENCRYPTION_KEY_ROTATED GCP_ENCRYPTION_KEY_ROTATED; do
	events_query="$events_query&eventType=$t"
done
status=0
for n in ${sizes//,/ }; do
	ids=$work/ids.$n
	/usr/bin/python3 -c "import sys,hashlib
for i in range(int(sys.argv[1])): print(hashlib.sha1(b'%d' % i).hexdigest()[:24])" "$n" >"$ids"
	base="https://127.0.0.1:$port"
	pages=0
	if [ "$discover" = 1 ]; then
		rm -rf "$work/groups" && mkdir -p "$work/groups"
		pages=$(/usr/bin/python3 -c "import json,sys,math
ids=open(sys.argv[1]).read().split(); base=sys.argv[2]; out=sys.argv[3]; per=500
n=max(1, math.ceil(len(ids)/per))
for p in range(1, n+1):
    page=ids[(p-1)*per:p*per]
    links=[{'href':'%s/api/atlas/v2/groups?pageNum=%d&itemsPerPage=%d' % (base,p,per),'rel':'self'}]
    if p < n:
        links.append({'href':'%s/api/atlas/v2/groups?pageNum=%d&itemsPerPage=%d' % (base,p+1,per),'rel':'next'})
    doc={'links':links,'results':[{'id':i,'name':'bench-'+i,'orgId':'5f1a2b3c4d5e6f7081920a1b'} for i in page],'totalCount':len(ids)}
    open('%s/%d.json' % (out,p),'w').write(json.dumps(doc))
print(n)" "$ids" "$base" "$work/groups")
		# nginx's workers run as another user: they may pass through
		# $work (nothing else there is theirs to read) and read the pages
		chmod 711 "$work"
		chmod -R a+rX "$work/groups"
	fi
	awk -v b="$base" '{ print b "/api/atlas/v2/groups/" $1 "/encryptionAtRest"; print b "/api/atlas/v2/groups/" $1 "/clusters"; print b "/api/atlas/v2/groups/" $1 ev }' ev="$events_query" "$ids" >"$work/urls.$n"
	{
		echo "poll_interval: 1h"
		echo "state_dir: $work/state"
		echo "atlas:"
		echo "  base_url: $base"
		echo "  ca_file: $work/ca.pem"
		echo "  service_account:"
		echo "    client_id: mdb_sa_id_bench"
		echo "    client_secret: {file: $work/sa-secret}"
		echo "http:"
		echo "  max_concurrent: $streams"
		if [ "$discover" = 1 ]; then
			echo "discover:"
			echo "  interval: 1h"
		else
			echo "projects:"
			sed 's/^/  - id: /' "$ids"
		fi
	} >"$work/kmswatch.$n.yaml"
	printf 'bench-secret\n' >"$work/sa-secret"
	chmod 600 "$work/sa-secret" "$work/kmswatch.$n.yaml"

	h2=() kt=() cf=() rss=0 frss=0
	for _ in $(seq "$runs"); do
		out=$(h2load -n $((3 * n)) -c 1 -m "$streams" -i "$work/urls.$n" 2>&1)
		grep -q "succeeded, 0 failed, 0 errored" <<<"$out" && grep -q "status codes: $((3 * n)) 2xx" <<<"$out" ||
			{ echo "h2load did not get $((3 * n)) answers:"; echo "$out" | tail -8; exit 1; }
		h2+=("$(awk '/^finished in/ { t = $3; sub(/,$/, "", t); if (t ~ /ms$/) { sub(/ms$/, "", t); t /= 1000 } else if (t ~ /us$/) { sub(/us$/, "", t); t /= 1000000 } else sub(/s$/, "", t); print t }' <<<"$out")")

		/usr/bin/time -f '%e %M' -o "$work/time" "$work/curl_floor" "$work/urls.$n" "$work/ca.pem" "$streams" >/dev/null ||
			{ echo "curl_floor failed"; exit 1; }
		read -r secs kb <"$work/time"
		cf+=("$secs")
		[ "$kb" -gt "$frss" ] && frss=$kb

		before=$(served)
		rc=0
		/usr/bin/time -f '%e %M' -o "$work/time" "$binary" --once -c "$work/kmswatch.$n.yaml" \
			>"$work/once.out" 2>"$work/once.err" || rc=$?
		after=$(served)
		reqs=$((after - before - 1)) # less the stub_status read itself
		if [ "$rc" != 0 ]; then
			echo "kmswatchd --once exited $rc:"; tail -n 5 "$work/once.err" "$work/once.out"; status=1
		fi
		# the group read for the orgId is spared when discover: lists it
		expect=$((3 * n + 3 + pages - discover))
		if [ "$reqs" != "$expect" ]; then
			echo "kmswatchd made $reqs requests, expected $expect"; status=1
		fi
		read -r secs kb <"$work/time"
		kt+=("$secs")
		[ "$kb" -gt "$rss" ] && rss=$kb
	done
	t=$(printf '%s\n' "${kt[@]}" | best)
	l=$(printf '%s\n' "${h2[@]}" | best)
	c=$(printf '%s\n' "${cf[@]}" | best)
	printf '%-8s %15.2f s %7.3f s %11.2f s %11.1fx %12.1fx %6.1f MB %7.1f MB %9s\n' "$n" "$t" "$l" "$c" \
		"$(awk -v a="$t" -v b="$l" 'BEGIN { print a / b }')" \
		"$(awk -v a="$t" -v b="$c" 'BEGIN { print a / b }')" \
		"$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" \
		"$(awk -v k="$frss" 'BEGIN { print k / 1024 }')" "$reqs"
	if [ -n "$prev_n" ]; then
		printf '         %s -> %s projects: kmswatchd costs %.2fx\n' "$prev_n" "$n" \
			"$(awk -v a="$t" -v b="$prev_t" 'BEGIN { print a / b }')"
	fi
	prev_n=$n prev_t=$t
done
if [ "${KMSWATCH_BENCH_HOLD:-0}" = 1 ]; then
	# for profiling by hand: the server and configs stay until killed
	echo "holding: nginx on port $port, configs in $work (kill $$ to end)"
	wait "$nginx_pid"
fi
echo "(best of $runs runs for times, highest peak RSS (floor RSS: curl_floor's); h2load -c 1 -m $streams, curl_floor and kmswatchd with $streams in flight, over the same 3N URLs)"
exit $status
