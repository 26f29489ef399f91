// Package abijson holds the JSON values of the C ABI (bindings/c; spec/README.md, section
// "bindings"): the shapes of inputs (options, content, filters) and outputs (accounts,
// contacts, groups, messages, installations, events) and their conversions from and to
// package protocol. Ids are lowercase hex, times are Unix milliseconds (0: unknown),
// enumerations are lowercase strings.
package abijson

import (
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/chorus-im/chorus/protocol"
)

// ErrInvalid is wrapped by the errors of invalid inputs (CHORUS_ERR_INVALID_ARGUMENT).
var ErrInvalid = errors.New("chorus: invalid argument")

// MemoryConfig is the config_json of chorus_memory_network_new.
type MemoryConfig struct {
	History       bool    `json:"history"`
	Seed          int64   `json:"seed"`
	DelayMS       int64   `json:"delay_ms"`
	JitterMS      int64   `json:"jitter_ms"`
	DropRate      float64 `json:"drop_rate"`
	DuplicateRate float64 `json:"duplicate_rate"`
	ReorderRate   float64 `json:"reorder_rate"`
}

// WakuConfig is the config_json of chorus_waku_node_new (transport/waku.Config).
type WakuConfig struct {
	ListenAddr     string   `json:"listen_addr"`
	Peers          []string `json:"peers"`
	StorePeers     []string `json:"store_peers"`
	MinPeers       int      `json:"min_peers"`
	Light          bool     `json:"light"`
	Service        bool     `json:"service"`
	Store          bool     `json:"store"`
	StorePath      string   `json:"store_path"`
	PublishRate    float64  `json:"publish_rate"`
	StartTimeoutMS int64    `json:"start_timeout_ms"`
}

// ClientOptions is the options_json of chorus_client_open.
type ClientOptions struct {
	DeviceName     string `json:"device_name"`
	DevicePlatform string `json:"device_platform"`
	SyncIntervalMS int64  `json:"sync_interval_ms"`
	// BurstSpreadMS bounds burst spreading (protocol.WithBurstSpread): absent keeps the
	// default (protocol.DefaultBurstSpread), 0 turns it off.
	BurstSpreadMS *int64 `json:"burst_spread_ms"`
}

// Account is an account (protocol.AccountInfo).
type Account struct {
	ID           string `json:"id"`
	Installation string `json:"installation"`
	Holder       bool   `json:"holder"`
	Revoked      bool   `json:"revoked"`
}

// AccountOf converts an account.
func AccountOf(a protocol.AccountInfo) Account {
	return Account{ID: a.ID, Installation: a.Installation.String(), Holder: a.Holder, Revoked: a.Revoked}
}

// Contact is a contact (protocol.Contact).
type Contact struct {
	ID            string   `json:"id"`
	Installations []string `json:"installations"`
	Added         bool     `json:"added"`
}

// ContactOf converts a contact.
func ContactOf(c protocol.Contact) Contact {
	return Contact{ID: c.ID, Installations: installationIDs(c.Installations), Added: c.Added}
}

func installationIDs(ids []protocol.InstallationID) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		out = append(out, id.String())
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Group is a group (protocol.GroupInfo).
type Group struct {
	ID          string   `json:"id"`
	ChatID      string   `json:"chat_id"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Color       string   `json:"color"`
	Image       []byte   `json:"image"` // base64 (standard, padded); null when none
	Creator     string   `json:"creator"`
	Members     []string `json:"members"`
	Admins      []string `json:"admins"`
	Status      string   `json:"status"`
	Topic       string   `json:"topic"`
}

func groupStatus(s protocol.GroupStatus) string {
	switch s {
	case protocol.GroupRemoved:
		return "removed"
	case protocol.GroupLeft:
		return "left"
	}
	return "active"
}

// GroupOf converts a group.
func GroupOf(g protocol.GroupInfo) Group {
	return Group{ID: g.ID.String(), ChatID: g.ChatID, Name: g.Name, Description: g.Description, Color: g.Color,
		Image: g.Image, Creator: g.Creator, Members: nonNil(g.Members), Admins: nonNil(g.Admins),
		Status: groupStatus(g.Status), Topic: g.Topic}
}

// Content is a message's content (protocol.Content).
type Content struct {
	Type    string `json:"type"` // text, reply, reaction, membership, devices
	Text    string `json:"text,omitempty"`
	Target  string `json:"target,omitempty"`
	Emoji   string `json:"emoji,omitempty"`
	Removed bool   `json:"removed,omitempty"`
}

// Decode converts sendable content (text, reply, reaction); other types are
// protocol.ErrInvalidContent.
func (cj Content) Decode() (protocol.Content, error) {
	switch cj.Type {
	case "text":
		return protocol.Text(cj.Text), nil
	case "reply", "reaction":
		target, err := protocol.ParseMessageID(cj.Target)
		if err != nil {
			return protocol.Content{}, fmt.Errorf("%w: content: invalid target message id %q", ErrInvalid, cj.Target)
		}
		if cj.Type == "reply" {
			return protocol.Reply(target, cj.Text), nil
		}
		c := protocol.Reaction(target, cj.Emoji)
		c.Removed = cj.Removed
		return c, nil
	}
	return protocol.Content{}, fmt.Errorf("%w: cannot send type %q (text, reply or reaction)", protocol.ErrInvalidContent, cj.Type)
}

// ContentOf converts content.
func ContentOf(c protocol.Content) Content {
	switch c.Type {
	case protocol.ContentText:
		return Content{Type: "text", Text: c.Text}
	case protocol.ContentReply:
		return Content{Type: "reply", Target: c.Target.String(), Text: c.Text}
	case protocol.ContentReaction:
		return Content{Type: "reaction", Target: c.Target.String(), Emoji: c.Emoji, Removed: c.Removed}
	case protocol.ContentMembership:
		return Content{Type: "membership"}
	case protocol.ContentDevices:
		return Content{Type: "devices"}
	}
	return Content{Type: "unknown"}
}

// Message is a stored message (protocol.Message).
type Message struct {
	ID                 string  `json:"id"`
	Group              string  `json:"group"`
	Seq                int64   `json:"seq"`
	Sender             string  `json:"sender"`
	SenderInstallation string  `json:"sender_installation"`
	Clock              uint64  `json:"clock"`
	TimestampMS        int64   `json:"timestamp_ms"`
	ReceivedAtMS       int64   `json:"received_at_ms"`
	Outgoing           bool    `json:"outgoing"`
	Status             string  `json:"status"`
	Content            Content `json:"content"`
}

func unixMillis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// MessageOf converts a message.
func MessageOf(m protocol.Message) Message {
	return Message{ID: m.ID.String(), Group: m.Group.String(), Seq: m.Seq, Sender: m.Sender,
		SenderInstallation: m.SenderInstallation.String(), Clock: m.Clock, TimestampMS: unixMillis(m.Timestamp),
		ReceivedAtMS: unixMillis(m.ReceivedAt), Outgoing: m.Outgoing, Status: m.Status.String(), Content: ContentOf(m.Content)}
}

// Filter is the filter_json of chorus_messages (protocol.MessageFilter).
type Filter struct {
	Before int64  `json:"before"`
	Limit  int    `json:"limit"`
	Status string `json:"status"`
}

// Decode converts the filter.
func (fj Filter) Decode() (protocol.MessageFilter, error) {
	f := protocol.MessageFilter{Before: fj.Before, Limit: fj.Limit}
	if fj.Status == "" {
		return f, nil
	}
	for _, s := range []protocol.DeliveryStatus{protocol.StatusUnpublished, protocol.StatusPublished, protocol.StatusFailed, protocol.StatusReceived} {
		if s.String() == fj.Status {
			f.Status, f.HasStatus = s, true
			return f, nil
		}
	}
	return f, fmt.Errorf("%w: filter_json: unknown status %q", ErrInvalid, fj.Status)
}

// Installation is an installation of our account (protocol.Installation).
type Installation struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Platform string `json:"platform"`
	AddedMS  int64  `json:"added_ms"`
	Status   string `json:"status"` // active, revoked
	Current  bool   `json:"current"`
}

// InstallationOf converts an installation.
func InstallationOf(in protocol.Installation) Installation {
	return Installation{ID: in.ID.String(), Name: in.Name, Platform: in.Platform, AddedMS: unixMillis(in.Added),
		Status: in.Status.String(), Current: in.Current}
}

// Event is every event kind in one object; "type" says which keys are meaningful
// (omitempty keeps the others out).
type Event struct {
	Type string `json:"type"`

	Message *Message `json:"message,omitempty"` // message_received

	Group          string    `json:"group,omitempty"`
	MembersAdded   *[]string `json:"members_added,omitempty"`
	MembersRemoved *[]string `json:"members_removed,omitempty"`
	AdminsAdded    *[]string `json:"admins_added,omitempty"`
	AdminsRemoved  *[]string `json:"admins_removed,omitempty"`
	Removed        *bool     `json:"removed,omitempty"`
	Name           *string   `json:"name,omitempty"`
	Description    *string   `json:"description,omitempty"`
	Color          *string   `json:"color,omitempty"`

	SenderAccount      string  `json:"sender_account,omitempty"` // message_missing
	SenderInstallation string  `json:"sender_installation,omitempty"`
	KeyID              string  `json:"key_id,omitempty"`
	From               *uint32 `json:"from,omitempty"`
	To                 *uint32 `json:"to,omitempty"`
	MessageIDPrefix    string  `json:"message_id_prefix,omitempty"`
	ByHistory          *bool   `json:"by_history,omitempty"`

	MessageID string `json:"message_id,omitempty"` // delivery_status_changed
	Status    string `json:"status,omitempty"`

	Inviter string `json:"inviter,omitempty"` // group_joined (with group, name)

	Added          *[]string `json:"added,omitempty"` // installations_changed
	Revoked        *[]string `json:"revoked,omitempty"`
	CurrentRevoked *bool     `json:"current_revoked,omitempty"`

	Account string `json:"account,omitempty"` // account_linked
	By      string `json:"by,omitempty"`

	Count *int `json:"count,omitempty"` // events_dropped
}

func ptr[T any](v T) *T { return &v }

// EventOf converts an event of the engine's stream.
func EventOf(ev protocol.Event) Event {
	switch e := ev.(type) {
	case *protocol.MessageReceived:
		m := MessageOf(e.Message)
		return Event{Type: "message_received", Message: &m}
	case *protocol.MembershipChanged:
		return Event{Type: "membership_changed", Group: e.Group.String(), MembersAdded: ptr(nonNil(e.MembersAdded)),
			MembersRemoved: ptr(nonNil(e.MembersRemoved)), AdminsAdded: ptr(nonNil(e.AdminsAdded)),
			AdminsRemoved: ptr(nonNil(e.AdminsRemoved)), Removed: ptr(e.Removed), Name: ptr(e.Name),
			Description: ptr(e.Description), Color: ptr(e.Color)}
	case *protocol.MessageMissing:
		ej := Event{Type: "message_missing", Group: e.Group.String(), SenderAccount: e.SenderAccount,
			SenderInstallation: e.SenderInstallation.String(), ByHistory: ptr(e.ByHistory)}
		if e.ByHistory {
			ej.MessageIDPrefix = hex.EncodeToString(e.MessageIDPrefix[:])
		} else {
			ej.KeyID, ej.From, ej.To = hex.EncodeToString(e.KeyID[:]), ptr(e.From), ptr(e.To)
		}
		return ej
	case *protocol.DeliveryStatusChanged:
		return Event{Type: "delivery_status_changed", MessageID: e.Message.String(), Group: e.Group.String(), Status: e.Status.String()}
	case *protocol.GroupJoined:
		return Event{Type: "group_joined", Group: e.Group.String(), Name: ptr(e.Name), Inviter: e.Inviter}
	case *protocol.InstallationsChanged:
		return Event{Type: "installations_changed", Added: ptr(installationIDs(e.Added)), Revoked: ptr(installationIDs(e.Revoked)),
			CurrentRevoked: ptr(e.CurrentRevoked)}
	case *protocol.AccountLinked:
		return Event{Type: "account_linked", Account: e.Account, By: e.By.String()}
	case *protocol.EventsDropped:
		return Event{Type: "events_dropped", Count: ptr(e.Count)}
	}
	return Event{Type: "unknown"}
}

// DecodeHex decodes hex s of exactly len(dst) bytes into dst.
func DecodeHex(s string, dst []byte) error {
	b, err := hex.DecodeString(s)
	if err != nil {
		return err
	}
	if len(b) != len(dst) {
		return protocol.ErrInvalidID
	}
	copy(dst, b)
	return nil
}
