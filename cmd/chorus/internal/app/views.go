package app

import (
	"time"

	"github.com/chorus-im/chorus/protocol"
)

// StatusView describes the client: account, node and network.
type StatusView struct {
	Account      string   `json:"account"` // "" while waiting to be linked
	Name         string   `json:"name,omitempty"`
	Installation string   `json:"installation"`
	LinkCode     string   `json:"link_code,omitempty"` // while waiting to be linked
	Node         bool     `json:"node"`                // answered by a running node (false: data dir opened directly)
	Peers        int      `json:"peers"`
	Addrs        []string `json:"addrs,omitempty"`
	Groups       int      `json:"groups"`
	Contacts     int      `json:"contacts"`
	Watchers     int      `json:"watchers"` // open event streams (chat, read --follow)
	// Quota is the node's publish quota (RLN); nil when the network has no rate limit.
	Quota *QuotaView `json:"quota,omitempty"`
}

// QuotaView is the publish quota of the current epoch and the outbox waiting for it.
type QuotaView struct {
	Limit       int       `json:"limit"`        // messages per epoch
	EpochMillis int64     `json:"epoch_millis"` // epoch length
	Epoch       uint64    `json:"epoch"`        // current epoch index
	Remaining   int       `json:"remaining"`    // publishes left in the current epoch
	ResetAt     time.Time `json:"reset_at"`     // when the next epoch begins
	Queued      int       `json:"queued"`       // outbox records waiting for quota
}

// IDView is the account's identity and contact code, or the link code of an
// installation waiting to be linked (then Account and Code are empty).
type IDView struct {
	Account      string `json:"account"`
	Name         string `json:"name,omitempty"`
	Installation string `json:"installation"`
	Code         string `json:"code"`
	LinkCode     string `json:"link_code,omitempty"`
}

// ContactView is a known account.
type ContactView struct {
	ID            string    `json:"id"`
	Name          string    `json:"name,omitempty"`
	Installations int       `json:"installations"`
	Added         bool      `json:"added"`             // added by us (not only met in a group)
	AddedAt       time.Time `json:"added_at,omitzero"` // when, if added with this data directory's CLI
}

// MemberView is a group member.
type MemberView struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Admin bool   `json:"admin"`
	Self  bool   `json:"self,omitempty"`
}

// GroupView describes a group.
type GroupView struct {
	ID          string       `json:"id"`
	Name        string       `json:"name"`
	Description string       `json:"description,omitempty"`
	Status      string       `json:"status"` // active, removed, left
	Admin       bool         `json:"admin"`  // we are an admin
	Creator     string       `json:"creator"`
	ChatID      string       `json:"chat_id"`
	Members     []MemberView `json:"members"`
}

// MessageView is a stored group message.
type MessageView struct {
	ID         string    `json:"id"`
	Group      string    `json:"group"`
	Seq        int64     `json:"seq"`
	Sender     string    `json:"sender"`
	SenderName string    `json:"sender_name"`
	Device     string    `json:"device"` // sender installation id (hex)
	Time       time.Time `json:"time"`
	Outgoing   bool      `json:"outgoing"`
	Status     string    `json:"status"` // unpublished, published, failed, received
	Kind       string    `json:"kind"`   // text, reply, reaction; membership, devices (notices: Text says what changed)
	Text       string    `json:"text,omitempty"`
	Target     string    `json:"target,omitempty"` // reply/reaction target message id
}

// DeviceView is one installation of our account.
type DeviceView struct {
	Installation string    `json:"installation"`
	Name         string    `json:"name,omitempty"`
	Platform     string    `json:"platform,omitempty"`
	Added        time.Time `json:"added,omitzero"`
	Current      bool      `json:"current"`
	Status       string    `json:"status"` // active, revoked
}

// Event types of EventView.Type.
const (
	EventMessage    = "message"
	EventMembership = "membership"
	EventMissing    = "missing"
	EventDelivery   = "delivery"
	EventJoined     = "joined"
	EventDropped    = "dropped"
	EventDevices    = "devices" // our account's device list changed
	EventLinked     = "linked"  // this installation was linked to an account
)

// EventView is an engine event as the CLI and the TUI see it.
type EventView struct {
	Type       string       `json:"type"`
	Group      string       `json:"group,omitempty"`
	Message    *MessageView `json:"message,omitempty"`     // message; delivery (the message, when found)
	MessageID  string       `json:"message_id,omitempty"`  // delivery
	Status     string       `json:"status,omitempty"`      // delivery
	Sender     string       `json:"sender,omitempty"`      // missing
	SenderName string       `json:"sender_name,omitempty"` // missing
	Count      int          `json:"count,omitempty"`       // missing messages, dropped events
	Removed    bool         `json:"removed,omitempty"`     // membership: we are out
	Name       string       `json:"name,omitempty"`        // membership, joined: group name
	Text       string       `json:"text,omitempty"`        // a one-line summary for people
}

func kindOf(t protocol.ContentType) string {
	switch t {
	case protocol.ContentText:
		return "text"
	case protocol.ContentReply:
		return "reply"
	case protocol.ContentReaction:
		return "reaction"
	case protocol.ContentMembership:
		return "membership"
	case protocol.ContentDevices:
		return "devices"
	}
	return "unknown"
}

func groupStatus(s protocol.GroupStatus) string {
	switch s {
	case protocol.GroupActive:
		return "active"
	case protocol.GroupRemoved:
		return "removed"
	case protocol.GroupLeft:
		return "left"
	}
	return "unknown"
}

// ShortID abbreviates an account id ("0x04" + 130 hex) for display.
func ShortID(id string) string {
	if len(id) > 14 {
		return id[:14] + "…"
	}
	return id
}
