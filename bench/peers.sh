# Sourced by the bench scripts: the configs of what they run beside Upkeep.
#
#   static_nginx_conf DIR PORT [EXTRA]   prints nginx.conf for a local nginx serving a static
#                                        `/health` (the cheapest target, so the figures are the
#                                        prober's); DIR holds its pid, log and temp files; EXTRA is
#                                        more `location` blocks for the server
#   blackbox_conf                        prints blackbox_exporter's config: http_2xx and tcp_connect,
#                                        the modules Upkeep's http and PostgreSQL probes are set against
static_nginx_conf() {
    local dir=$1 port=$2 extra=${3:-}
    cat <<EOF
worker_processes 1;
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
    keepalive_requests 100000;
    server {
        listen 127.0.0.1:$port;
        location /health {
            default_type application/json;
            return 200 '{"status":"healthy"}';
        }
$extra
    }
}
EOF
}

blackbox_conf() {
    cat <<'EOF'
modules:
  http_2xx:
    prober: http
    timeout: 5s
    http:
      preferred_ip_protocol: ip4
  tcp_connect:
    prober: tcp
    timeout: 5s
    tcp:
      preferred_ip_protocol: ip4
EOF
}
