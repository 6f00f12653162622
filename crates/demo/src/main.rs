//! The Tidings demo: a Leptos single-page app on tidings-leptos and tidings-server.
//!
//! Built by Trunk from `www/index.html`; served by tidings-server (`cargo xtask demo`) or by
//! `trunk serve` with the server's routes proxied.

mod api;
mod app;
mod board;
mod clock;
mod comments;
mod inspector;
mod job;
mod ticker;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
