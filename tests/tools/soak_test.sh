#!/bin/sh
# 60 s of //tools:soak against //examples:echo_server: no echo lost or corrupted, and the
# server's RSS flat from the first third to the last. 64 connections, not the tool's 2,000:
# CI shares 2 cores with other jobs (docs: the 10-minute, 2,000-connection figures).
exec "$1" --server "$2" --connections 64 --seconds 60
