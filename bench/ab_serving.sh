#!/usr/bin/env bash
# A/B of two provlog-server binaries on the same log: req/s and server CPU
# per request for random inclusion proofs and random full tiles (wrk -t2
# -c64, 3 s warm-up, 10 s measured, each binary twice), and nginx serving
# the same tile files as the anchor. Listens on 127.0.0.1 only.
#   bench/ab_serving.sh OLD_BINARY NEW_BINARY   (after bench/run.sh built the examples)
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=${1:?old provlog-server binary}; NEW=${2:?new provlog-server binary}
W=$(mktemp -d); trap 'rm -rf $W' EXIT
R=target/release
$R/examples/fill_log $W/data 700000 > /dev/null
$R/examples/export_tiles $W/data $W/tiles > /dev/null
(cd $W/tiles && find tile -type f | sort) > $W/tiles.txt
cpu() { awk '{print $14+$15}' /proc/$1/stat; }
hz=$(getconf CLK_TCK)
one() { # label bin
  "$2" --data $W/data --listen 127.0.0.1:7566 > $W/out 2> $W/err & local pid=$!
  until curl -sf http://127.0.0.1:7566/healthz > /dev/null; do sleep 0.05; done
  for kind in proofs tiles; do
    # warm (fill caches), then measure
    SIZE=700000 TILES=$W/tiles.txt wrk -t2 -c64 -d3s -s bench/wrk/$kind.lua http://127.0.0.1:7566 > /dev/null
    c0=$(cpu $pid)
    SIZE=700000 TILES=$W/tiles.txt wrk -t2 -c64 -d10s -s bench/wrk/$kind.lua http://127.0.0.1:7566 > $W/wrk.txt
    c1=$(cpu $pid)
    n=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' $W/wrk.txt); rps=$(sed -n 's/^Requests\/sec: *//p' $W/wrk.txt)
    echo "$1 $kind rps=$rps requests=$n server_cpu_us_per_req=$(echo "scale=2; ($c1-$c0)*1000000/$hz/$n" | bc)"
  done
  kill $pid; wait $pid || true
}
one before "$OLD"
one after "$NEW"
one before2 "$OLD"
one after2 "$NEW"
# nginx anchor on the same tiles
mkdir -p $W/nginx
cat > $W/nginx/nginx.conf <<CONF
daemon off; user root; worker_processes auto; pid $W/nginx/nginx.pid; error_log $W/nginx/error.log;
events { worker_connections 1024; }
http { access_log off; sendfile on; tcp_nopush on; keepalive_requests 1000000; default_type application/octet-stream;
  client_body_temp_path $W/nginx; proxy_temp_path $W/nginx; fastcgi_temp_path $W/nginx; uwsgi_temp_path $W/nginx; scgi_temp_path $W/nginx;
  server { listen 127.0.0.1:7567; root $W/tiles; } }
CONF
nginx -c $W/nginx/nginx.conf -p $W/nginx & npid=$!
sleep 1
TILES=$W/tiles.txt wrk -t2 -c64 -d3s -s bench/wrk/tiles.lua http://127.0.0.1:7567 > /dev/null
c0=0; for p in $(pgrep -f "nginx: worker"); do c0=$((c0+$(cpu $p))); done
TILES=$W/tiles.txt wrk -t2 -c64 -d10s -s bench/wrk/tiles.lua http://127.0.0.1:7567 > $W/wrk.txt
c1=0; for p in $(pgrep -f "nginx: worker"); do c1=$((c1+$(cpu $p))); done
n=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' $W/wrk.txt); rps=$(sed -n 's/^Requests\/sec: *//p' $W/wrk.txt)
echo "nginx tiles rps=$rps requests=$n workers_cpu_us_per_req=$(echo "scale=2; ($c1-$c0)*1000000/$hz/$n" | bc)"
kill $npid; wait $npid || true
uptime
