//! Progress bars on stderr (rate and ETA), drawn only when stderr is a terminal and
//! `--quiet` is not given; otherwise the bar is hidden and costs next to nothing.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// A bar over `len` units (`bytes`: show them as sizes) named `what`.
pub fn bar(what: &str, len: u64, bytes: bool, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let template = if bytes {
        "{prefix:>13} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}"
    } else {
        "{prefix:>13} [{bar:30}] {human_pos}/{human_len} {per_sec} eta {eta}"
    };
    let style = ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("#>-");
    let pb = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    pb.set_style(style);
    pb.set_prefix(what.to_string());
    pb
}
