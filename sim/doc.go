// Package sim is the Chorus scale simulation: N accounts × D installations
// running real protocol.Clients with sqlite stores over transport/memory, all in one
// process, driven through the public API, measured step by step and printed as markdown
// tables. RunScale is the entry point; Main is its command line (`chorus bench scale`,
// cmd/chorus-scale, scripts/bench-scale.sh).
//
// Scenario for each (N, D): the admin creates the group (a Welcome to every other
// installation), sends ordinary messages, k-1 other speakers send their first message
// (their sender key to every installation), two more (which repeat its block) and an
// ordinary one; a new member is added and an existing sender's next message carries its
// key for the newcomer; a member is removed and each of the k speakers sends three
// messages (the rotation and its two repeats); a second member is removed with every
// client running freely to time the convergence; with D > 1 a member revokes one of its
// installations and each speaker's next message rotates. Checks:
// exactly one publish per group message, no publish above transport.MaxPayload, the
// removed members never read what was sent after their removal, every live installation
// converges at every step.
//
// Measurement. Every installation's inbound envelopes pass a gate (gatedNode). With every gate
// closed, the acting installation's API call runs on a goroutine locked to its OS thread:
// its CPU is the thread's CPU time (cgo included) minus the time inside the transport's
// Publish. Then up to SerialSample receivers are let through one at a time, each alone in
// a window of process CPU time (one P, no GC in flight, every other client idle); then
// all other gates open at once and the total process CPU is divided by their number.
// Bytes are payload bytes: network-wide per publish, and per installation as received
// by its node.
//
// A member with D devices is one account with D installations: the primary holds the
// account key and D-1 installations are linked to it (LinkCode, LinkDevice) before the
// group exists. With D > 1 a member also revokes one of its installations
// (RevokeInstallation) and the speakers rotate away from it. Above MaxLive installations
// only a sample runs a client: every installation is real, in the group, and everything
// is built and published for it, but only the live ones process what they receive.
// Large payloads travel through the memory bus by reference (one copy per publish, not
// one per subscriber); payloads above transport.MaxPayload, which Waku refuses, travel
// the same way so that the rest can be measured, and are reported as a failed check.
package sim
