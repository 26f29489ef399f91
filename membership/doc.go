// Package membership implements Status private-group-chat membership events
// (55/STATUS-1TO1-CHAT, MembershipUpdateMessage / MembershipUpdateEvent) byte-compatible
// with status-go, and derives group state from them under one of two rule sets:
//
//   - StatusRules reproduces status-go's decisions and state exactly, quirks included
//     (sort by clock only, one invalid event rejects the whole message, members may add
//     and rename, insertion-ordered member and admin lists). Use it to interoperate.
//   - ChorusRules, the default for Chorus groups: admin-only changes as spec 55 says, each
//     invalid event dropped on its own, duplicates recognised by author and content, an added
//     DESCRIPTION_CHANGED event, and convergence: any two members holding the same set of
//     events derive the same state, whatever the delivery order. A group whose CHAT_CREATED
//     carries version 2 (every group Chorus creates) is causal: events name their parents
//     (field 101) and are judged against the state of their causal past, concurrent removals
//     and promotions are resolved by fixed rules, and events that change nothing are
//     discarded. Other groups keep the v1 rules (a total order by clock and order hash).
//
// Wire: MembershipUpdateMessage.events[i] = signature(65: R||S||V, V in {0,1}) || encoded
// MembershipUpdateEvent; the signature is over Keccak256(utf8(chat_id) || encoded event) and
// the author is the recovered key, written "0x" + hex(65-byte uncompressed key).
//
// Derive and Diff are pure. Update is what a receiver does with an incoming message and its
// stored group (status-go's HandleMembershipUpdate for StatusRules); Extend adds events to a
// held state. A causal group may also be held from a snapshot (a based state, State.Base:
// ParseSnapshot, SnapshotOf), which Update and Extend never derive as if its events were
// the whole log. The normative text is the "membership" section of spec/README.md.
package membership
