#!/bin/sh
# 45 s of //tools:soak against //examples:echo_server: no echo lost or corrupted, the server's
# RSS flat from the first third to the last, and never above 32 MiB. 64 connections, not the
# tool's 2,000: CI shares 2 cores with other jobs (docs/perf.md: the longer runs). The bound:
# about 17-20 MiB measured (4 MiB idle process, the thread's buffer pool, messages in flight);
# 75-150 MiB when each connection kept its largest buffer for life.
exec "$1" --server "$2" --connections 64 --seconds 45 --max-server-rss-mib 32
