//go:build quiver_dev

package quiver

// For contributors: -tags quiver_dev links the library built in this source tree
// (cargo build --release) and its header, with no install step.

// #cgo CFLAGS: -I${SRCDIR}/../include
// #cgo LDFLAGS: -L${SRCDIR}/../target/release -lquiver -Wl,-rpath,${SRCDIR}/../target/release
import "C"
