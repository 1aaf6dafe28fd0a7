//! Sepal's integration tests, one binary for all of them: each module
//! linked on its own would link tract, the AWS SDK and Leptos again.
//! `common` starts what they need: the server in process or as a process,
//! the local OpenID provider, DynamoDB Local.

mod api;
mod auth;
mod common;
mod conformance;
mod http;
mod id_token;
mod inference;
mod pages;
mod process;
mod store_contract;
