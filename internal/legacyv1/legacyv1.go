// Package legacyv1 gates the creation of groups of key schedule v1 (spec/README.md ›
// protocol › "Key schedule v2 (epochs)"; issue 19 item 2). A v1 group keeps one group
// secret (its topic and outer key) for life, so a removed member keeps opening the outer
// frame of all its later traffic; every new group is v2. Only this module's tests of the
// v1 code path (which still serves groups stored by older versions) and its simulation
// (the v1 column of `chorus bench scale`) create v1 groups, with
// protocol.WithKeyScheduleV1(legacyv1.Permit()): the package is internal, so no
// application can.
package legacyv1

// Token is the argument of protocol.WithKeyScheduleV1. Its zero value permits nothing.
type Token struct{ ok bool }

// Permit returns a token that lets a client create groups of key schedule v1.
func Permit() Token { return Token{ok: true} }

// Valid reports whether t came from Permit.
func (t Token) Valid() bool { return t.ok }
