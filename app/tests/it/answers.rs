//! How a server function's failure is answered (`app::error`): as the
//! browser should see it, the cause logged once where it is answered, and
//! never by a conversion.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use app::{
    error::{AppError, Failure, answered},
    service::PredictError,
    store::StoreError,
};
use tracing_subscriber::{Layer, layer::Context, prelude::*};

/// Counts the error events logged while it is the subscriber.
struct ErrorCount(Arc<AtomicUsize>);

impl<S: tracing::Subscriber> Layer<S> for ErrorCount {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if *event.metadata().level() == tracing::Level::ERROR {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// What `run` returns, and how many errors were logged meanwhile.
fn logging<T>(run: impl FnOnce() -> T) -> (T, usize) {
    let count = Arc::new(AtomicUsize::new(0));
    let subscriber = tracing_subscriber::registry().with(ErrorCount(count.clone()));
    let out = tracing::subscriber::with_default(subscriber, run);
    (out, count.load(Ordering::Relaxed))
}

/// A server function whose body fails with `failure`, run to its answer.
fn fail_with(failure: impl Into<Failure>) -> (AppError, usize) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime for the test");
    let failure = failure.into();
    let (answer, logged) = logging(|| runtime.block_on(answered(async { Err::<(), _>(failure) })));
    (answer.expect_err("the body failed"), logged)
}

#[test]
fn a_store_outage_is_unavailable_and_logged_once() {
    let (answer, logged) = fail_with(StoreError::Unavailable("timed out".into()));
    assert_eq!(answer, AppError::Unavailable);
    assert_eq!(logged, 1);
}

#[test]
fn a_failure_below_is_internal_and_logged_once() {
    for failure in [
        Failure::Store(StoreError::Backend("no such table".into())),
        Failure::Predict(PredictError::Store(StoreError::Conflict)),
        Failure::MissingContext("Arc<dyn Store>"),
    ] {
        let shown = failure.to_string();
        let (answer, logged) = fail_with(failure);
        assert_eq!(answer, AppError::Internal, "{shown}");
        assert_eq!(logged, 1, "{shown}");
    }
}

#[test]
fn the_callers_mistakes_are_answered_and_not_logged() {
    let (answer, logged) = fail_with(PredictError::KeyReused);
    assert!(matches!(answer, AppError::BadRequest(_)), "{answer:?}");
    assert_eq!(logged, 0);
    let (answer, logged) = fail_with(AppError::NotFound);
    assert_eq!(answer, AppError::NotFound);
    assert_eq!(logged, 0);
}

#[test]
fn a_conversion_logs_nothing() {
    let (_, logged) = logging(|| {
        let _: Failure = StoreError::Unavailable("timed out".into()).into();
        let _: Failure = PredictError::Store(StoreError::Backend("x".into())).into();
    });
    assert_eq!(logged, 0);
}
