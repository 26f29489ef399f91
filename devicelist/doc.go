// Package devicelist implements the signed device list of a Chorus account (spec/README.md,
// section "protocol", "Device list" and "Multi-device"): the account's installations, each
// with its public identity and whether it is revoked, at a Lamport clock, signed by the
// account key. A device list on the wire also carries each installation's binding
// signature (the installation's own word that it belongs to the account) and the
// installations' current X3DH bundles; neither is covered by the account signature, so
// anyone may forward them. Its text wrapper, "chorus1:" || base64url, is the contact code
// (package protocol).
//
// [Parse] and [List.Marshal] are the strict, canonical encoding; [List.Sign] and [Bind]
// sign as the account and as an installation; [Verify] checks every signature and the
// list rules. [Merge] is the one device-list rule set every peer applies: the device list
// of an account is the union of every validly signed list of it seen (a 2P-set: an
// installation listed once stays listed, one revoked in any list stays revoked), and an
// installation is bound to an account only by its own binding signature. [Compare] is the
// one order on lists of an account, used to choose the list kept and handed on.
//
// The package is pure: no I/O, no clock, no randomness. The engine (package protocol)
// loads what it holds, calls Verify and Merge, and stores the result. Bounds are in
// limits.go.
package devicelist
