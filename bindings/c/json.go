package main

import (
	"encoding/hex"
	"time"

	"github.com/chorus-im/chorus/protocol"
)

// The JSON shapes of spec/README.md, section "bindings". Ids are lowercase hex, times are
// Unix milliseconds (0: unknown), enumerations are lowercase strings.

type memoryConfigJSON struct {
	History       bool    `json:"history"`
	Seed          int64   `json:"seed"`
	DelayMS       int64   `json:"delay_ms"`
	JitterMS      int64   `json:"jitter_ms"`
	DropRate      float64 `json:"drop_rate"`
	DuplicateRate float64 `json:"duplicate_rate"`
	ReorderRate   float64 `json:"reorder_rate"`
}

type wakuConfigJSON struct {
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

type clientOptionsJSON struct {
	DeviceName     string `json:"device_name"`
	DevicePlatform string `json:"device_platform"`
	SyncIntervalMS int64  `json:"sync_interval_ms"`
}

type accountJSON struct {
	ID           string `json:"id"`
	Installation string `json:"installation"`
	Holder       bool   `json:"holder"`
	Revoked      bool   `json:"revoked"`
}

func accountToJSON(a protocol.AccountInfo) accountJSON {
	return accountJSON{ID: a.ID, Installation: a.Installation.String(), Holder: a.Holder, Revoked: a.Revoked}
}

type contactJSON struct {
	ID            string   `json:"id"`
	Installations []string `json:"installations"`
	Added         bool     `json:"added"`
}

func contactToJSON(c protocol.Contact) contactJSON {
	return contactJSON{ID: c.ID, Installations: installationIDs(c.Installations), Added: c.Added}
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

type groupJSON struct {
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

func groupToJSON(g protocol.GroupInfo) groupJSON {
	return groupJSON{ID: g.ID.String(), ChatID: g.ChatID, Name: g.Name, Description: g.Description, Color: g.Color,
		Image: g.Image, Creator: g.Creator, Members: nonNil(g.Members), Admins: nonNil(g.Admins),
		Status: groupStatus(g.Status), Topic: g.Topic}
}

type contentJSON struct {
	Type    string `json:"type"` // text, reply, reaction, membership, devices
	Text    string `json:"text,omitempty"`
	Target  string `json:"target,omitempty"`
	Emoji   string `json:"emoji,omitempty"`
	Removed bool   `json:"removed,omitempty"`
}

// content converts sendable content (text, reply, reaction).
func (cj contentJSON) content() (protocol.Content, error) {
	switch cj.Type {
	case "text":
		return protocol.Text(cj.Text), nil
	case "reply", "reaction":
		target, err := protocol.ParseMessageID(cj.Target)
		if err != nil {
			return protocol.Content{}, errCode(codeInvalidArgument, "chorus: content: invalid target message id %q", cj.Target)
		}
		if cj.Type == "reply" {
			return protocol.Reply(target, cj.Text), nil
		}
		c := protocol.Reaction(target, cj.Emoji)
		c.Removed = cj.Removed
		return c, nil
	}
	return protocol.Content{}, errCode(codeInvalidContent, "chorus: content: cannot send type %q (text, reply or reaction)", cj.Type)
}

func contentToJSON(c protocol.Content) contentJSON {
	switch c.Type {
	case protocol.ContentText:
		return contentJSON{Type: "text", Text: c.Text}
	case protocol.ContentReply:
		return contentJSON{Type: "reply", Target: c.Target.String(), Text: c.Text}
	case protocol.ContentReaction:
		return contentJSON{Type: "reaction", Target: c.Target.String(), Emoji: c.Emoji, Removed: c.Removed}
	case protocol.ContentMembership:
		return contentJSON{Type: "membership"}
	case protocol.ContentDevices:
		return contentJSON{Type: "devices"}
	}
	return contentJSON{Type: "unknown"}
}

type messageJSON struct {
	ID                 string      `json:"id"`
	Group              string      `json:"group"`
	Seq                int64       `json:"seq"`
	Sender             string      `json:"sender"`
	SenderInstallation string      `json:"sender_installation"`
	Clock              uint64      `json:"clock"`
	TimestampMS        int64       `json:"timestamp_ms"`
	ReceivedAtMS       int64       `json:"received_at_ms"`
	Outgoing           bool        `json:"outgoing"`
	Status             string      `json:"status"`
	Content            contentJSON `json:"content"`
}

func unixMillis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func messageToJSON(m protocol.Message) messageJSON {
	return messageJSON{ID: m.ID.String(), Group: m.Group.String(), Seq: m.Seq, Sender: m.Sender,
		SenderInstallation: m.SenderInstallation.String(), Clock: m.Clock, TimestampMS: unixMillis(m.Timestamp),
		ReceivedAtMS: unixMillis(m.ReceivedAt), Outgoing: m.Outgoing, Status: m.Status.String(), Content: contentToJSON(m.Content)}
}

type filterJSON struct {
	Before int64  `json:"before"`
	Limit  int    `json:"limit"`
	Status string `json:"status"`
}

func (fj filterJSON) filter() (protocol.MessageFilter, error) {
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
	return f, errCode(codeInvalidArgument, "chorus: filter_json: unknown status %q", fj.Status)
}

type installationJSON struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Platform string `json:"platform"`
	AddedMS  int64  `json:"added_ms"`
	Status   string `json:"status"` // active, revoked
	Current  bool   `json:"current"`
}

func installationToJSON(in protocol.Installation) installationJSON {
	return installationJSON{ID: in.ID.String(), Name: in.Name, Platform: in.Platform, AddedMS: unixMillis(in.Added),
		Status: in.Status.String(), Current: in.Current}
}

// eventJSON is every event kind in one object; "type" says which keys are meaningful
// (omitempty keeps the others out).
type eventJSON struct {
	Type string `json:"type"`

	Message *messageJSON `json:"message,omitempty"` // message_received

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

func eventToJSON(ev protocol.Event) eventJSON {
	switch e := ev.(type) {
	case *protocol.MessageReceived:
		m := messageToJSON(e.Message)
		return eventJSON{Type: "message_received", Message: &m}
	case *protocol.MembershipChanged:
		return eventJSON{Type: "membership_changed", Group: e.Group.String(), MembersAdded: ptr(nonNil(e.MembersAdded)),
			MembersRemoved: ptr(nonNil(e.MembersRemoved)), AdminsAdded: ptr(nonNil(e.AdminsAdded)),
			AdminsRemoved: ptr(nonNil(e.AdminsRemoved)), Removed: ptr(e.Removed), Name: ptr(e.Name),
			Description: ptr(e.Description), Color: ptr(e.Color)}
	case *protocol.MessageMissing:
		ej := eventJSON{Type: "message_missing", Group: e.Group.String(), SenderAccount: e.SenderAccount,
			SenderInstallation: e.SenderInstallation.String(), ByHistory: ptr(e.ByHistory)}
		if e.ByHistory {
			ej.MessageIDPrefix = hex.EncodeToString(e.MessageIDPrefix[:])
		} else {
			ej.KeyID, ej.From, ej.To = hex.EncodeToString(e.KeyID[:]), ptr(e.From), ptr(e.To)
		}
		return ej
	case *protocol.DeliveryStatusChanged:
		return eventJSON{Type: "delivery_status_changed", MessageID: e.Message.String(), Group: e.Group.String(), Status: e.Status.String()}
	case *protocol.GroupJoined:
		return eventJSON{Type: "group_joined", Group: e.Group.String(), Name: ptr(e.Name), Inviter: e.Inviter}
	case *protocol.InstallationsChanged:
		return eventJSON{Type: "installations_changed", Added: ptr(installationIDs(e.Added)), Revoked: ptr(installationIDs(e.Revoked)),
			CurrentRevoked: ptr(e.CurrentRevoked)}
	case *protocol.AccountLinked:
		return eventJSON{Type: "account_linked", Account: e.Account, By: e.By.String()}
	case *protocol.EventsDropped:
		return eventJSON{Type: "events_dropped", Count: ptr(e.Count)}
	}
	return eventJSON{Type: "unknown"}
}

func decodeHex(s string, dst []byte) error {
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
