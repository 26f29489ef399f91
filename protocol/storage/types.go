package storage

import (
	"encoding/hex"
)

// InstallationID identifies an installation (a device): 16 random bytes
// (x3dh.InstallationID).
type InstallationID [16]byte

// String returns the id in hex.
func (id InstallationID) String() string { return hex.EncodeToString(id[:]) }

// GroupID is a group's internal identifier: 32 random bytes chosen by its creator.
type GroupID [32]byte

// String returns the id in hex.
func (id GroupID) String() string { return hex.EncodeToString(id[:]) }

// MessageID identifies a group message: SHA-256 over a label, the group id, the sending
// installation, its sender-key id and the chain iteration (spec: protocol, message id).
type MessageID [32]byte

// String returns the id in hex.
func (id MessageID) String() string { return hex.EncodeToString(id[:]) }

// DeliveryStatus is the state of an outbound message (received messages are
// StatusReceived).
type DeliveryStatus int

// Delivery statuses.
const (
	// StatusUnpublished: stored with its advanced key state, not yet published.
	StatusUnpublished DeliveryStatus = 0
	// StatusPublished: the transport accepted every publish of the message.
	StatusPublished DeliveryStatus = 1
	// StatusFailed: MaxAttempts publishes failed; the message is not retried.
	StatusFailed DeliveryStatus = 2
	// StatusReceived: an inbound message.
	StatusReceived DeliveryStatus = 3
)

// String names the status.
func (s DeliveryStatus) String() string {
	switch s {
	case StatusUnpublished:
		return "unpublished"
	case StatusPublished:
		return "published"
	case StatusFailed:
		return "failed"
	case StatusReceived:
		return "received"
	}
	return "unknown"
}

// MessageFilter selects messages for Messages: newest first, at most Limit (0: all),
// older than the message with local order Before (0: from the newest), and with
// Status if HasStatus.
type MessageFilter struct {
	Before    int64
	Limit     int
	Status    DeliveryStatus
	HasStatus bool
}
