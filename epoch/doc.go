// Package epoch implements the Chorus group key schedule v2 ("epochs", spec/README.md,
// protocol › "Key schedule v2 (epochs)"): the installation that authors a key event (a
// membership change that alters the set of installations, or an explicit rekey) draws one
// fresh seed and sends it to every other installation of the resulting membership; every
// member composes the same epoch secret from the set of key events it has applied, whatever
// their arrival order, and derives from it each installation's sending chain and the outer
// payload key.
//
// The package is pure: randomness is a parameter, nothing reads the clock, the network or a
// database. It provides
//   - the derivations (EpochID, Contribution, Compose, Epoch.OuterKey, Epoch.SenderChain,
//     ChainStep, MessageKeys, SlotHint, SlotContext, RekeyID);
//   - Schedule, the per-group state: applied key events, the frontier, the seeds and
//     forwarded contributions of frontier events, and the live epochs;
//   - Join, the key-schedule part of a Welcome v2 (Schedule.JoinFor, NewScheduleFromJoin);
//   - the v2 message layer: SenderChain and ReceiverChain (chains derived from the epoch,
//     messages signed by the sender installation's key, skipped keys, R1 gaps);
//   - the strict encodings of key blocks, slot plaintexts, joins and every state;
//   - the outer layer (SealOuter, OpenOuter, OpenWithKey).
//
// The engine (protocol/epochs.go) runs the groups it creates (protocol.New's default)
// on this package; the spec's rules marked "engine" (delivery, healing rekeys, authority)
// and its "Engine (protocol/)" paragraph say how.
//
// Conformance vectors are in spec/vectors/epoch.json (generator spec/gen/epoch). Errors
// wrap one of the sentinel errors of limits.go (errors.Is). A Schedule is not safe for
// concurrent use; the caller serialises access and persists MarshalBinary after each change.
// A method that returns an error leaves the Schedule unchanged.
package epoch
