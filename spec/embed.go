// Package spec embeds the conformance vectors of the Chorus specification
// (spec/README.md) so that every package's tests can walk them.
package spec

import "embed"

// Vectors holds spec/vectors/*.json.
//
//go:embed vectors/*.json
var Vectors embed.FS
