//! The `sepal` binary as an operator runs it: JSON logs, a clear message on
//! bad configuration, and a graceful stop on SIGTERM.

// A test should stop at the first unexpected error.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    path::Path,
    process::{Child, Command, Stdio},
};

fn sepal() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sepal"));
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    command
        .current_dir(&root)
        .env_clear()
        .env("SEPAL_LOG_FORMAT", "json")
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

type Lines = std::io::Lines<BufReader<std::process::ChildStdout>>;

/// Starts the server; returns it, the address it listens on, and the rest of its log.
fn start(mut command: Command) -> (Child, String, Lines) {
    let mut child = command.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // Every line is a JSON object; one of them says where it listens.
    let addr = loop {
        let line = lines
            .next()
            .expect("sepal exited before listening")
            .unwrap();
        let event: serde_json::Value = serde_json::from_str(&line).unwrap();
        if let Some(addr) = event["addr"].as_str() {
            break addr.to_owned();
        }
    };
    (child, addr, lines)
}

/// The whole HTTP/1.1 response to a GET of `path`.
fn get(addr: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: sepal\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

fn sqlite_in(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}/data/sepal.db", dir.path().display())
}

#[test]
fn logs_json_serves_and_stops_gracefully_on_sigterm() {
    let data = tempfile::tempdir().unwrap();
    let mut command = sepal();
    command.env("SEPAL_STORE", sqlite_in(&data));
    let (mut child, addr, lines) = start(command);

    let response = get(&addr, "/healthz");
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(response.ends_with(r#"{"status":"ok"}"#), "{response}");
    // The SQLite store was created where SEPAL_STORE says.
    assert!(data.path().join("data/sepal.db").is_file());
    let response = get(&addr, "/readyz");
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "{exit}");

    let rest: Vec<serde_json::Value> = lines
        .map(|line| serde_json::from_str(&line.unwrap()).unwrap())
        .collect();
    let messages: Vec<&str> = rest.iter().filter_map(|e| e["message"].as_str()).collect();
    assert!(messages.contains(&"Sepal stopped"), "{messages:?}");
    // The request was logged with its request id and path, in its span.
    assert!(
        rest.iter()
            .any(|e| e["span"]["path"] == "/healthz" && e["span"]["request_id"].is_string()),
        "{rest:?}"
    );
}

#[test]
fn a_bad_setting_is_refused_with_a_message_naming_it() {
    let output = sepal()
        .env("SEPAL_MODEL_DIR", "/nonexistent")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.starts_with("sepal: cannot serve the model: cannot read /nonexistent/manifest.json"),
        "{stderr}"
    );
    assert!(stderr.contains("SEPAL_MODEL_DIR"), "{stderr}");

    let output = sepal().env("SEPAL_LOG_FORMAT", "xml").output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("invalid value 'xml'"), "{stderr}");

    let output = sepal()
        .env("SEPAL_STORE", "postgres://db")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("`postgres://db` is not a store: use sqlite://PATH"),
        "{stderr}"
    );
}

/// `sepal store init` makes a DynamoDB table the server then runs on. Needs
/// the DynamoDB Local that `make unit` starts (SEPAL_TEST_DYNAMODB).
#[test]
fn store_init_creates_a_dynamodb_table_the_server_is_ready_on() {
    let url = common::dynamodb_url();
    let table = format!("process-{}", std::process::id());
    let dynamo = || {
        let mut command = sepal();
        command
            .env("SEPAL_STORE", format!("dynamodb://{table}"))
            .env("AWS_ENDPOINT_URL_DYNAMODB", &url)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "local")
            .env("AWS_SECRET_ACCESS_KEY", "local");
        command
    };
    let init = |expected: &str| {
        let output = dynamo().args(["store", "init"]).output().unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert!(
            output.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(stdout.contains(expected), "{stdout}");
    };
    init(&format!("created DynamoDB table {table}"));
    init("already exists");

    let (mut child, addr, _) = start(dynamo());
    let response = get(&addr, "/readyz");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
}
