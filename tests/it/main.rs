//! All integration tests compile into this one binary (as ripgrep does).
//!
//! Engine-backed tests talk to the real engine (`DOCKER_HOST` or /var/run/docker.sock), use
//! their own berth instance name and remove what they created, pass or fail. They fail —
//! never skip — when the engine or the test images are missing: run `make test`, which
//! prepares both.

mod api_client;
mod cdp;
mod haproxy;
mod pki;
mod pty;
mod router_fixtures;
mod util;

mod api;
mod apply;
mod cis;
mod cli;
mod docs;
mod doctor;
mod exec;
mod expose;
mod logs;
mod monitoring;
mod network;
mod operator;
mod podman;
mod policy;
mod pools;
mod portainer;
mod portainer_tls;
mod ports;
mod proxy;
mod routers;
mod run;
mod safety;
mod schema;
mod service;
mod shape;
mod trust;
mod ui;
mod validate;
mod volumes;
