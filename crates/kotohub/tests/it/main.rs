//! End-to-end tests of the subgraphs: real HTTP servers on loopback, real databases
//! (SQLite always; PostgreSQL too when `KOTOHUB_TEST_POSTGRES_URL` is set, and
//! required when `CI=true`), seeded with the real generator.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod access;
mod audit;
mod bad_input;
mod browser;
mod caching;
mod catalog;
mod cli;
mod console;
mod disclosure;
mod domain;
mod entities;
mod gateway;
mod import;
mod import_records;
mod indicators;
mod purposes;
mod query_plans;
mod records;
mod replicas;
mod saved_queries;
mod schema_files;
mod seeding;
mod statistics;
mod telemetry;
mod webdriver;
