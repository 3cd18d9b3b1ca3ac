//! Runs the C tests in c-tests/ (compiled by build.rs into an archive that only this
//! target links) against the library's C ABI.

use std::ffi::{CString, c_char, c_int};

#[link(name = "qvctests", kind = "static")]
unsafe extern "C" {
    fn qv_c_tests_main(argc: c_int, argv: *const *const c_char) -> c_int;
}

fn main() {
    // Keep the C ABI linked in: the archive calls these symbols.
    std::hint::black_box(quiver::ffi::db::qv_version as *const ());
    let args: Vec<CString> = std::env::args()
        .filter(|a| !a.starts_with("--"))
        .map(|a| CString::new(a).unwrap_or_default())
        .collect();
    let argv: Vec<*const c_char> = args.iter().map(|a| a.as_ptr()).collect();
    // SAFETY: argv holds argc valid NUL-terminated strings that outlive the call.
    let code = unsafe { qv_c_tests_main(argv.len() as c_int, argv.as_ptr()) };
    std::process::exit(code);
}
