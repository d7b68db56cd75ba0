//! End-to-end tests: the real `wasm_exporter` binary, real plugins built by
//! `make plugins`, real `promtool` and the Python client's parsers.

mod browser;
mod cache;
mod catalogue;
mod deploy;
mod exposition;
mod faults;
mod haproxy;
mod http;
mod prometheus;
mod reload;
mod simulator;
mod support;
mod web;
