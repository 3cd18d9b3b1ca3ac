//go:build !quiver_dev

package quiver

// The installed library, found through pkg-config (quiver.pc): set PKG_CONFIG_PATH to
// $PREFIX/lib/pkgconfig for a prefix pkg-config does not search, and LD_LIBRARY_PATH to
// $PREFIX/lib for one the loader does not search.

// #cgo pkg-config: quiver
import "C"
