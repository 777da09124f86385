#!/bin/sh
# PostgreSQL's first start in compose.yaml: the hub's role, which is not a superuser (a
# superuser would pass the row-level security policies by), owns the hub's database.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v password="$KOTOHUB_DB_PASSWORD" <<'SQL'
CREATE ROLE kotohub LOGIN PASSWORD :'password';
CREATE DATABASE kotohub OWNER kotohub;
SQL
