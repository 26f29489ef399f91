// The Go side of chorus-sys when the crate is built outside the Chorus repository (from
// crates.io): build.rs copies this directory (the C ABI shim, whose .go files and
// chorus.h are links to bindings/c in the repository) to OUT_DIR, resolves the module
// below through the Go module proxy and builds it with -buildmode=c-archive.
// Inside the repository build.rs builds ./bindings/c of the enclosing module instead.
// This file also keeps these links out of the main module's ./... pattern.
module github.com/chorus-im/chorus/bindings/rust/chorus-sys/go

go 1.25.0

// Repeated from Chorus's go.mod (replace lines of dependencies are ignored).
replace github.com/libp2p/go-libp2p-pubsub v0.13.1 => github.com/waku-org/go-libp2p-pubsub v0.13.1-gowaku

require github.com/chorus-im/chorus v0.1.0
