package protocol

import "github.com/chorus-im/chorus/protocol/storage"

// The ids and statuses are defined with the storage contract (package storage, which
// protocol imports and which cannot import protocol back); these are the names an
// application uses.

// InstallationID identifies an installation (a device): 16 random bytes
// (x3dh.InstallationID).
type InstallationID = storage.InstallationID

// GroupID is a group's internal identifier: 32 random bytes chosen by its creator.
type GroupID = storage.GroupID

// MessageID identifies a group message: SHA-256 over a label, the group id, the sending
// installation, its sender-key id and the chain iteration (spec: protocol, message id).
type MessageID = storage.MessageID

// DeliveryStatus is the state of an outbound message (received messages are
// StatusReceived).
type DeliveryStatus = storage.DeliveryStatus

// Delivery statuses.
const (
	// StatusUnpublished: stored with its advanced key state, not yet published.
	StatusUnpublished = storage.StatusUnpublished
	// StatusPublished: the transport accepted every publish of the message.
	StatusPublished = storage.StatusPublished
	// StatusFailed: MaxAttempts publishes failed; the message is not retried.
	StatusFailed = storage.StatusFailed
	// StatusReceived: an inbound message.
	StatusReceived = storage.StatusReceived
)

// GroupStatus says whether we are in a group.
type GroupStatus = storage.GroupStatus

// Group statuses.
const (
	GroupActive  = storage.GroupActive
	GroupRemoved = storage.GroupRemoved // removed by an admin
	GroupLeft    = storage.GroupLeft    // we left
)

// MessageFilter selects messages for Messages: newest first, at most Limit (0: all),
// older than the message with local order Before (0: from the newest), and with
// Status if HasStatus.
type MessageFilter = storage.MessageFilter
