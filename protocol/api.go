package protocol

import (
	"time"

	"github.com/chorus-im/chorus/devicelist"
	"github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/protocol/wire"
)

// ContentType is the kind of a group message's content.
type ContentType uint8

// Content types (wire.ContentType values).
const (
	ContentText       = ContentType(wire.ContentText)
	ContentReply      = ContentType(wire.ContentReply)
	ContentReaction   = ContentType(wire.ContentReaction)
	ContentMembership = ContentType(wire.ContentMembership)
	// ContentDevices is a device-list change of the sender's account (multi-device):
	// sent by the engine, not by Send.
	ContentDevices = ContentType(wire.ContentDevices)
)

// Content is what a group message says. Build it with Text, Reply or Reaction.
type Content struct {
	Type    ContentType
	Text    string    // text and reply
	Target  MessageID // reply and reaction
	Emoji   string    // reaction
	Removed bool      // reaction: the emoji is withdrawn

	// Membership lists the events of a membership message (ContentMembership), in wire
	// order, for display; nil if they do not decode (the group state is what counts).
	Membership []MembershipEvent
	// Devices is the sender account's device list a ContentDevices message carries, in
	// the list's order (revoked entries included), for display.
	Devices []DeviceEntry
}

// MembershipEvent is one event of a membership message, as its author signed it.
type MembershipEvent struct {
	Type        membership.EventType
	From        string   // author account
	Members     []string // MembersAdded, MemberJoined, MemberRemoved, AdminsAdded, AdminRemoved
	Name        string   // ChatCreated, NameChanged
	Description string   // DescriptionChanged
	Color       string   // ColorChanged
}

// DeviceEntry is one installation of an account's device list.
type DeviceEntry struct {
	ID      InstallationID
	Revoked bool
}

// Text is a plain text message.
func Text(s string) Content { return Content{Type: ContentText, Text: s} }

// Reply is a text answering the message target.
func Reply(target MessageID, s string) Content {
	return Content{Type: ContentReply, Target: target, Text: s}
}

// Reaction is an emoji reaction to the message target.
func Reaction(target MessageID, emoji string) Content {
	return Content{Type: ContentReaction, Target: target, Emoji: emoji}
}

func (c Content) encode() (wire.ContentType, []byte, error) {
	switch c.Type {
	case ContentText:
		if _, err := wire.ParseText([]byte(c.Text)); err != nil {
			return 0, nil, ErrInvalidContent
		}
		return wire.ContentText, []byte(c.Text), nil
	case ContentReply:
		b, err := (&wire.Reply{Target: c.Target, Text: c.Text}).Marshal()
		if err != nil {
			return 0, nil, err
		}
		if _, err := wire.ParseReply(b); err != nil {
			return 0, nil, ErrInvalidContent
		}
		return wire.ContentReply, b, nil
	case ContentReaction:
		b, err := (&wire.Reaction{Target: c.Target, Emoji: c.Emoji, Removed: c.Removed}).Marshal()
		if err != nil {
			return 0, nil, ErrInvalidContent
		}
		if _, err := wire.ParseReaction(b); err != nil {
			return 0, nil, ErrInvalidContent
		}
		return wire.ContentReaction, b, nil
	}
	return 0, nil, ErrInvalidContent
}

// validContent reports whether a received body parses, without decoding the display
// details of membership and device-list bodies (the receive path handles those itself).
func validContent(t wire.ContentType, body []byte) bool {
	switch t {
	case wire.ContentMembership:
		_, err := wire.ParseMembership(body)
		return err == nil
	case wire.ContentDevices:
		_, err := devicelist.Parse(body)
		return err == nil
	}
	_, ok := decodeContent(t, body)
	return ok
}

// decodeContent parses a stored or received body; ok is false for malformed input.
func decodeContent(t wire.ContentType, body []byte) (Content, bool) {
	switch t {
	case wire.ContentText:
		s, err := wire.ParseText(body)
		return Content{Type: ContentText, Text: s}, err == nil
	case wire.ContentReply:
		r, err := wire.ParseReply(body)
		if err != nil {
			return Content{}, false
		}
		return Content{Type: ContentReply, Target: r.Target, Text: r.Text}, true
	case wire.ContentReaction:
		r, err := wire.ParseReaction(body)
		if err != nil {
			return Content{}, false
		}
		return Content{Type: ContentReaction, Target: r.Target, Emoji: r.Emoji, Removed: r.Removed}, true
	case wire.ContentMembership:
		m, err := wire.ParseMembership(body)
		if err != nil {
			return Content{}, false
		}
		msg, err := membership.ParseMessage(m.Update)
		if err != nil {
			msg = nil
		}
		return membershipContent(msg), true
	case wire.ContentDevices:
		list, err := devicelist.Parse(body)
		if err != nil {
			return Content{}, false
		}
		ct := Content{Type: ContentDevices}
		for _, in := range list.Entries {
			ct.Devices = append(ct.Devices, DeviceEntry{ID: InstallationID(in.ID), Revoked: in.Revoked})
		}
		return ct, true
	}
	return Content{}, false
}

// Message is a group message as stored locally.
type Message struct {
	ID                 MessageID
	Group              GroupID
	Seq                int64 // local order (paging cursor)
	Sender             string
	SenderInstallation InstallationID
	Clock              uint64
	Timestamp          time.Time
	ReceivedAt         time.Time
	Outgoing           bool
	Status             DeliveryStatus
	Content            Content
}

func messageFromRecord(r *storage.MessageRecord) Message {
	ct, _ := decodeContent(wire.ContentType(r.Type), r.Body)
	return Message{ID: r.ID, Group: r.Group, Seq: r.Seq, Sender: r.SenderAccount, SenderInstallation: r.SenderInstallation,
		Clock: r.Clock, Timestamp: r.Timestamp, ReceivedAt: r.ReceivedAt, Outgoing: r.Outgoing, Status: r.Status, Content: ct}
}

// membershipContent is the content of a membership message whose update parses as msg
// (nil: it does not).
func membershipContent(msg *membership.Message) Content {
	ct := Content{Type: ContentMembership}
	if msg != nil {
		for _, ev := range msg.Events {
			ct.Membership = append(ct.Membership, MembershipEvent{Type: ev.Type, From: ev.From, Members: ev.Members.Strings(),
				Name: ev.Name, Description: ev.Description, Color: ev.Color})
		}
	}
	return ct
}

// GroupInfo describes a group.
type GroupInfo struct {
	ID          GroupID
	ChatID      string // Status-format chat id
	Name        string
	Description string
	Color       string
	Image       []byte
	Creator     string
	Members     []string
	Admins      []string
	Status      GroupStatus
	Topic       string
}
