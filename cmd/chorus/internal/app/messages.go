package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/chorus-im/chorus/cmd/chorus/internal/display"
	"github.com/chorus-im/chorus/protocol"
)

// Send sends a text message and returns it as stored.
func (s *Service) Send(ctx context.Context, p SendParams) (MessageView, error) {
	g, err := s.ResolveGroup(ctx, p.Group)
	if err != nil {
		return MessageView{}, err
	}
	if strings.TrimSpace(p.Text) == "" {
		return MessageView{}, Errorf(CodeUsage, "empty message")
	}
	if g.Status != protocol.GroupActive {
		return MessageView{}, Errorf(CodeNotMember, "not a member of %q any more", g.Name)
	}
	id, err := s.c.Send(ctx, g.ID, protocol.Text(p.Text))
	if err != nil {
		return MessageView{}, Classify(err)
	}
	return s.message(ctx, g.ID, id)
}

// message finds a stored message of group by id (among the newest).
func (s *Service) message(ctx context.Context, group protocol.GroupID, id protocol.MessageID) (MessageView, error) {
	ms, err := s.c.Messages(ctx, group, protocol.MessageFilter{Limit: 64})
	if err != nil {
		return MessageView{}, Classify(err)
	}
	for _, m := range ms {
		if m.ID == id {
			return s.MessageView(ctx, m), nil
		}
	}
	return MessageView{ID: id.String(), Group: group.String(), Outgoing: true, Status: "unknown"}, nil
}

// Read returns stored messages, oldest first.
func (s *Service) Read(ctx context.Context, p ReadParams) ([]MessageView, error) {
	g, err := s.ResolveGroup(ctx, p.Group)
	if err != nil {
		return nil, err
	}
	if p.Limit < 0 {
		return nil, Errorf(CodeUsage, "negative limit")
	}
	ms, err := s.c.Messages(ctx, g.ID, protocol.MessageFilter{Limit: p.Limit, Before: p.Before})
	if err != nil {
		return nil, Classify(err)
	}
	out := make([]MessageView, len(ms))
	for i, m := range ms {
		out[len(ms)-1-i] = s.MessageView(ctx, m)
	}
	return out, nil
}

// MessageView converts a stored message.
func (s *Service) MessageView(ctx context.Context, m protocol.Message) MessageView {
	v := MessageView{ID: m.ID.String(), Group: m.Group.String(), Seq: m.Seq, Sender: m.Sender, SenderName: s.DisplayName(m.Sender),
		Device: m.SenderInstallation.String(), Time: m.Timestamp, Outgoing: m.Outgoing, Status: m.Status.String(),
		Kind: kindOf(m.Content.Type)}
	switch m.Content.Type {
	case protocol.ContentText, protocol.ContentReply:
		v.Text = m.Content.Text
	case protocol.ContentReaction:
		v.Text = m.Content.Emoji
	case protocol.ContentMembership:
		v.SenderName = s.subject(m.Sender) // a notice: "you added bob"
		v.Text = s.membershipNote(m.Content.Membership)
	case protocol.ContentDevices:
		v.SenderName = s.subject(m.Sender)
		v.Text = s.devicesNote(ctx, m)
		if v.SenderName == "you" {
			v.Text = strings.Replace(v.Text, "changed their devices", "changed your devices", 1)
		}
	default:
		v.Text = "(content this version cannot show)"
	}
	if m.Content.Type == protocol.ContentReply || m.Content.Type == protocol.ContentReaction {
		v.Target = m.Content.Target.String()
	}
	return v
}

// String formats a message view on one line for terminals.
func (v MessageView) String() string {
	mark := ""
	if v.Outgoing {
		switch v.Status {
		case "published":
			mark = " ✓"
		case "unpublished":
			mark = " …"
		case "failed":
			mark = " ✗ (failed)"
		}
	}
	text := v.Text
	switch v.Kind {
	case "membership", "devices":
		// A notice: who did what, without a delivery mark.
		return fmt.Sprintf("%s · %s %s", v.Time.Local().Format("15:04"), v.SenderName, v.Text)
	case "reaction":
		text = "reacted " + v.Text
	case "reply":
		text = "↪ " + v.Text
	}
	return fmt.Sprintf("%s %s: %s%s", v.Time.Local().Format("15:04"), display.Clean(v.SenderName), display.Clean(text), mark)
}
