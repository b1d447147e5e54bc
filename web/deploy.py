"""A reverse proxy's configuration for several ``tohyo serve`` processes: what the
deployment tests and ``tohyo bench board --proxy`` run, and docs/admin.md shows."""

from __future__ import annotations

import pathlib


def nginx_config(prefix: pathlib.Path, listen: int, upstreams: list[int]) -> str:
    """nginx in front of ``tohyo serve`` processes on 127.0.0.1 ``upstreams``, listening on
    127.0.0.1 ``listen``, with every file under ``prefix`` (run as ``nginx -p PREFIX -c
    PREFIX/nginx.conf``). A production site adds TLS on its public address (docs/admin.md,
    "Several processes and machines"); the proxying is this."""
    servers = "\n".join(
        f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=2s;" for p in upstreams
    )
    return f"""
user root;  # the tests run as root in a temporary prefix; a production nginx keeps its own user
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    client_max_body_size 3m;
    client_body_timeout 15s;
    client_header_timeout 15s;
    upstream tohyo {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{listen};
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $http_host;
        # set, not appended: a client cannot smuggle an address of its choice
        proxy_set_header X-Forwarded-For $remote_addr;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_connect_timeout 2s;
        proxy_read_timeout 60s;
        location / {{
            proxy_pass http://tohyo;
            # a process that is down: the request goes to the next (it was never sent)
            proxy_next_upstream error timeout;
        }}
        location /static/ {{
            proxy_pass http://tohyo;
            # during a rolling upgrade, a file of the other version (404 from a process
            # that has only its own) is asked of the next process (a 404 marks none down)
            proxy_next_upstream error timeout http_404;
        }}
    }}
}}
"""
