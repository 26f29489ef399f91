package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/chorus-im/chorus/protocol"
)

// Watch streams engine events as views, for one group (ref: id or name) or all ("").
// The channel closes when ctx ends or the client closes.
func (s *Service) Watch(ctx context.Context, ref string) (<-chan EventView, error) {
	var only string
	if ref != "" {
		g, err := s.ResolveGroup(ctx, ref)
		if err != nil {
			return nil, err
		}
		only = g.ID.String()
	}
	meta := map[string][2]string{} // group -> name, description before the event
	if gs, err := s.c.Groups(ctx); err == nil {
		for _, g := range gs {
			meta[g.ID.String()] = [2]string{g.Name, g.Description}
		}
	}
	in := s.c.Subscribe(ctx)
	out := make(chan EventView, 64)
	s.watchers.Add(1)
	go func() {
		defer s.watchers.Add(-1)
		defer close(out)
		for ev := range in {
			v, ok := s.eventView(ctx, ev, meta)
			if !ok || (only != "" && v.Group != "" && v.Group != only) {
				continue
			}
			select {
			case out <- v:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// deviceNames names installations of our account (name, else a short id).
func (s *Service) deviceNames(ctx context.Context, ids []protocol.InstallationID) string {
	ds, _ := s.c.Installations(ctx)
	var out []string
	for _, id := range ids {
		n := id.String()[:8]
		for _, d := range ds {
			if d.ID == id && d.Name != "" {
				n = d.Name + " (" + n + ")"
			}
		}
		out = append(out, n)
	}
	return strings.Join(out, ", ")
}

func (s *Service) eventView(ctx context.Context, ev protocol.Event, meta map[string][2]string) (EventView, bool) {
	switch e := ev.(type) {
	case *protocol.MessageReceived:
		m := s.MessageView(ctx, e.Message)
		return EventView{Type: EventMessage, Group: m.Group, Message: &m}, true
	case *protocol.DeliveryStatusChanged:
		v := EventView{Type: EventDelivery, Group: e.Group.String(), MessageID: e.Message.String(), Status: e.Status.String()}
		if m, err := s.message(ctx, e.Group, e.Message); err == nil && m.Kind != "" {
			v.Message = &m
		}
		return v, true
	case *protocol.GroupJoined:
		g := e.Group.String()
		meta[g] = [2]string{e.Name, ""}
		if info, err := s.c.Group(ctx, e.Group); err == nil {
			meta[g] = [2]string{info.Name, info.Description}
		}
		text := fmt.Sprintf("%s added you to %q", s.DisplayName(e.Inviter), e.Name)
		if a, err := s.c.Account(); err == nil && a.ID == e.Inviter {
			text = fmt.Sprintf("your other device added this one to %q", e.Name) // a linked device
		}
		return EventView{Type: EventJoined, Group: g, Name: e.Name, Text: text}, true
	case *protocol.MembershipChanged:
		g := e.Group.String()
		before := meta[g]
		meta[g] = [2]string{e.Name, e.Description}
		var parts []string
		if len(e.MembersAdded) > 0 {
			parts = append(parts, "added "+s.namesOf(e.MembersAdded))
		}
		if len(e.MembersRemoved) > 0 {
			parts = append(parts, "removed "+s.namesOf(e.MembersRemoved))
		}
		if len(e.AdminsAdded) > 0 {
			parts = append(parts, "made "+s.namesOf(e.AdminsAdded)+" admin")
		}
		if before[0] != "" && before[0] != e.Name {
			parts = append(parts, fmt.Sprintf("renamed the group to %q", e.Name))
		}
		if before[1] != e.Description {
			parts = append(parts, fmt.Sprintf("set the description to %q", e.Description))
		}
		if e.Removed {
			parts = append(parts, "you are no longer a member")
		}
		if len(parts) == 0 {
			parts = append(parts, "membership updated")
		}
		return EventView{Type: EventMembership, Group: g, Name: e.Name, Removed: e.Removed, Text: strings.Join(parts, "; ")}, true
	case *protocol.MessageMissing:
		v := EventView{Type: EventMissing, Group: e.Group.String(), Sender: e.SenderAccount, SenderName: s.DisplayName(e.SenderAccount)}
		if e.SenderAccount == "" {
			v.SenderName = "device " + e.SenderInstallation.String()[:8]
		}
		if e.ByHistory {
			v.Count = 1
			v.Text = fmt.Sprintf("a message from %s (id %x…) is missing and could not be fetched", v.SenderName, e.MessageIDPrefix[:4])
		} else {
			v.Count = int(e.To - e.From)
			plural := "s"
			if v.Count == 1 {
				plural = ""
			}
			v.Text = fmt.Sprintf("%d message%s from %s missing and could not be fetched (key %x, #%d–%d)", v.Count, plural, v.SenderName, e.KeyID[:4], e.From, e.To-1)
		}
		return v, true
	case *protocol.InstallationsChanged:
		var parts []string
		if len(e.Added) > 0 {
			parts = append(parts, "linked "+s.deviceNames(ctx, e.Added))
		}
		if len(e.Revoked) > 0 {
			parts = append(parts, "revoked "+s.deviceNames(ctx, e.Revoked))
		}
		if e.CurrentRevoked {
			parts = append(parts, "this device was removed from the account: it left every group")
		}
		if len(parts) == 0 {
			parts = append(parts, "device list updated")
		}
		return EventView{Type: EventDevices, Removed: e.CurrentRevoked, Text: "your devices: " + strings.Join(parts, "; ")}, true
	case *protocol.AccountLinked:
		s.linkCode.Store(nil)
		return EventView{Type: EventLinked, Sender: e.Account,
			Text: fmt.Sprintf("linked to account %s by its device %s", ShortID(e.Account), e.By.String()[:8])}, true
	case *protocol.EventsDropped:
		return EventView{Type: EventDropped, Count: e.Count, Text: fmt.Sprintf("%d events dropped (slow reader): re-read the group", e.Count)}, true
	}
	return EventView{}, false
}
