//! Entry point: mount the app (the browser build is the only one that runs it).

fn main() {
    #[cfg(target_arch = "wasm32")]
    leptos::mount::mount_to_body(tern_web::App);
}
