# Two commands do everything on a fresh machine:
#   make dev    installs what is missing, then serves with hot reload on 127.0.0.1:3000
#   make test   installs what is missing, then runs every check and test
SHELL := bash
.SHELLFLAGS := -euo pipefail -c

# npm's binaryen provides the wasm-opt cargo-leptos runs; it must come before
# any other (Debian's breaks hydration). cargo-installed tools live in ~/.cargo/bin.
export PATH := $(CURDIR)/end2end/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)

CLIPPY := cargo clippy --all-targets --locked
SSR := -p app -p server --features app/ssr
HYDRATE := -p app -p frontend --features app/hydrate --target wasm32-unknown-unknown

.PHONY: dev test check tools-dev tools-test tools-bench lint unit test-venv release site test-server e2e api-fuzz venv model bench store-bench render-bench load-bench

dev: tools-dev
	scripts/dev.sh

test: tools-test lint unit site e2e api-fuzz

# The inner loop: formatting, lints and the unit tests (no DynamoDB Local,
# OpenID provider or browser), in a minute or two once built.
check:
	cargo fmt --all --check
	$(CLIPPY) $(SSR) -- -D warnings
	cargo test --locked $(SSR) --lib

tools-dev:
	scripts/ensure-tools.sh dev

tools-test:
	scripts/ensure-tools.sh test

tools-bench:
	scripts/ensure-tools.sh bench

# typos (PyPI, in the test venv), cargo-deny and cargo-machete
# (scripts/ensure-tools.sh) beside rustfmt and clippy. cargo-deny reads the
# sources of every crate in Cargo.lock, other platforms' too: `cargo fetch`
# downloads them, then the check itself runs offline.
lint: test-venv
	cargo fmt --all --check
	$(TEST_VENV)/bin/typos
	cargo fetch --locked
	cargo deny --offline check licenses bans
	cargo machete
	$(CLIPPY) $(SSR) -- -D warnings
	$(CLIPPY) $(HYDRATE) -- -D warnings

# The store's contract tests run against DynamoDB Local too; boto3 then reads
# what they wrote, as a client other than Sepal's would.
TEST_VENV := target/test-venv
unit: test-venv
	scripts/with-dynamodb-local.sh bash -c \
	  'cargo test --locked $(SSR) && $(TEST_VENV)/bin/python scripts/check-dynamodb-items.py'

test-venv:
	test -x $(TEST_VENV)/bin/pip || python3 -m venv --clear $(TEST_VENV)
	$(TEST_VENV)/bin/pip install --quiet -r scripts/requirements.txt

# --precompress writes a .br and a .gz beside each static file.
release:
	cargo leptos build --release --precompress

# The browser tests and the API fuzzer run the site as users download it
# (release WASM, precompressed) and the server that `make unit` built
# (cargo test links target/debug/sepal against the test build's
# dependencies): a release build of the server would compile every
# dependency once more, ~12 of make test's minutes on 2 cores
# (docs/decisions/test-build.md). `make release` is the deployable build.
site:
	cargo leptos build --release --precompress --frontend-only

TEST_SERVER := target/debug/sepal
test-server:
	cargo test --locked $(SSR) --no-run

e2e: site test-server
	cd end2end && SEPAL_BIN=../$(TEST_SERVER) npx playwright test

# schemathesis fuzzes the JSON API from its OpenAPI document (scripts/api-fuzz.sh).
api-fuzz: site test-server test-venv
	SEPAL_BIN=$(TEST_SERVER) scripts/api-fuzz.sh

# The Python side (PyPI, Python 3 with venv): only for `make model` and
# `make bench`; building and testing Sepal need none of it.
MODEL_VENV := target/model-venv
PYTHON := $(MODEL_VENV)/bin/python
venv:
	test -x $(MODEL_VENV)/bin/pip || python3 -m venv --clear $(MODEL_VENV)
	$(MODEL_VENV)/bin/pip install --quiet -r models/requirements.txt

# Re-trains and re-exports the models and the conformance suite (models/suite:
# a few minutes); versions pinned in models/requirements.txt.
# models/diabetes is made as a user makes a folder: an export, a CSV of the
# data, and `sepal model init`.
DIABETES_TARGET := Disease progression after one year
model: venv
	$(PYTHON) models/train.py iris
	$(PYTHON) models/train.py wine
	$(PYTHON) models/suite.py
	$(PYTHON) models/diabetes.py
	rm -rf models/diabetes
	cargo run --locked -p server --bin sepal -- model init --onnx target/diabetes/model.onnx \
	  --data models/diabetes.csv --target "$(DIABETES_TARGET)" --name diabetes --version 1.0.0 models/diabetes

# Inference benchmarks: tract (criterion), then scikit-learn and onnxruntime,
# for the served model and for every model of the suite, then the suite's
# side-by-side table (bench/report.py). OpenBLAS' core-type override slows a
# current numpy, so the Python timings run without it.
bench: venv
	cargo bench --locked $(SSR) --bench inference --bench suite
	$(PYTHON) bench/inference.py
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PYTHON) bench/suite.py
	$(PYTHON) bench/report.py

# Render time of /predict and /history under wrk (Debian's), on the release build.
render-bench: tools-bench release
	scripts/render-bench.sh

# The API under load, against the Python stack it replaces (bench/load.sh).
load-bench: tools-bench release venv
	$(MODEL_VENV)/bin/pip install --quiet -r bench/requirements.txt
	bench/load.sh

# Store benchmarks on SQLite and DynamoDB Local (seeds 1,000,000 records: minutes).
store-bench:
	scripts/with-dynamodb-local.sh cargo bench --locked $(SSR) --bench store
