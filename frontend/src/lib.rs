//! The browser bundle: hydrates the islands of a server-rendered page.

// Linking `app` registers its islands with the hydration runtime.
use app as _;

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
