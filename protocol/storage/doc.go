// Package storage is the contract between the Chorus engine (package protocol) and the
// store it runs on: [Store] and [StoreTx], the interfaces StoreTx is made of
// (AccountStore … InboundStore, one per concern of the engine), the records they hold
// (AccountRecord … ExpectedRecord), and the value types those records are made of (the
// ids and statuses, which package protocol gives an application under the same names).
//
// persistence implements it on sqlite; an application opens a store there and passes it
// to protocol.New, and never touches the records. Another store (another database, a
// test double) implements Store with the transaction guarantees documented on it.
//
// The package is below protocol and imports nothing of it, so that protocol's index is
// the application's API and this one the store implementer's.
package storage
