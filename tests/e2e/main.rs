//! End-to-end tests: the real `wasm_exporter` binary, real plugins built by
//! `make plugins`, real `promtool` and the Python client's parsers.

// The whole crate is test code: unwrap and expect are the clearest failures
// (clippy's allow-*-in-tests only reaches #[test] functions).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod authoring;
mod browser;
mod cache;
mod catalogue;
mod check;
mod credentials;
mod deploy;
mod dirs;
mod exposition;
mod faults;
mod golang;
mod haproxy;
mod haproxy_endpoint;
mod http;
mod languages;
mod native;
mod probe;
mod prometheus;
mod prometheus3;
mod promex;
mod protobuf;
mod reload;
mod sandbox;
#[path = "../../host/src/exposition/negotiate/scrapers.rs"]
mod scrapers;
mod simulator;
mod socket_options;
mod support;
mod systemd;
mod textfile;
mod truth;
mod versions;
mod web;
