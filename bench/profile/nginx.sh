#!/usr/bin/env bash
# Starts a one-worker nginx answering `200 "ok"` on a free 127.0.0.1 port, pinned to core 0,
# for the quick A/B loop in this folder. Prints "PID PORT". Stop it with: kill PID
set -euo pipefail
dir=$(mktemp -d /tmp/salvo-nginx.XXXXXX)
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
cat > "$dir/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 75s;
  server {
    listen 127.0.0.1:$port backlog=4096;
    location / { return 200 "ok"; }
  }
}
CONF
taskset -c 0 /usr/sbin/nginx -c "$dir/nginx.conf" -p "$dir" >/dev/null 2>&1 &
echo "$! $port"
