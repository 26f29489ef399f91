package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/protocol"
)

// membershipNote says what a membership message changed, for people: "added carol",
// "removed dave; renamed the group to \"x\"". Its author is the message's sender.
func (s *Service) membershipNote(evs []protocol.MembershipEvent) string {
	var parts []string
	for _, ev := range evs {
		switch ev.Type {
		case membership.ChatCreated:
			parts = append(parts, fmt.Sprintf("created the group %q", ev.Name))
		case membership.NameChanged:
			parts = append(parts, fmt.Sprintf("renamed the group to %q", ev.Name))
		case membership.MembersAdded:
			parts = append(parts, "added "+s.namesOf(ev.Members))
		case membership.MemberJoined:
			parts = append(parts, "joined")
		case membership.MemberRemoved:
			if len(ev.Members) == 1 && ev.Members[0] == ev.From {
				parts = append(parts, "left the group")
			} else {
				parts = append(parts, "removed "+s.namesOf(ev.Members))
			}
		case membership.AdminsAdded:
			parts = append(parts, "made "+s.namesOf(ev.Members)+" admin")
		case membership.AdminRemoved:
			parts = append(parts, "removed "+s.namesOf(ev.Members)+" as admin")
		case membership.ColorChanged:
			parts = append(parts, "changed the group's color")
		case membership.ImageChanged:
			parts = append(parts, "changed the group's image")
		case membership.DescriptionChanged:
			parts = append(parts, fmt.Sprintf("set the description to %q", ev.Description))
		}
	}
	if len(parts) == 0 {
		return "updated the group"
	}
	return strings.Join(parts, "; ")
}

// deviceLookback bounds how many earlier messages of a group devicesNote searches for
// the sender's previous device list.
const deviceLookback = 500

// devicesNote says what a device-list message changed: "linked a new device", "revoked
// a device", comparing it with the sender's previous device list in the group. Without
// one (the first in the group), an all-active list reads as a link, any other as a change
// with its counts.
func (s *Service) devicesNote(ctx context.Context, m protocol.Message) string {
	cur := m.Content.Devices
	prev, found := s.previousDevices(ctx, m)
	if !found {
		revoked := 0
		for _, d := range cur {
			if d.Revoked {
				revoked++
			}
		}
		if revoked == 0 {
			return "linked a new device" // a list without revocations changes only by links
		}
		// A link or a revocation: without the earlier list we cannot tell which, and
		// must not hide a link.
		return fmt.Sprintf("changed their devices (now %d active, %d revoked)", len(cur)-revoked, revoked)
	}
	was := map[protocol.InstallationID]bool{} // id -> revoked
	for _, d := range prev {
		was[d.ID] = d.Revoked
	}
	var linked, revoked int
	for _, d := range cur {
		r, known := was[d.ID]
		switch {
		case !known && !d.Revoked:
			linked++
		case d.Revoked && (!known || !r):
			revoked++
		}
	}
	var parts []string
	switch {
	case linked == 1:
		parts = append(parts, "linked a new device")
	case linked > 1:
		parts = append(parts, fmt.Sprintf("linked %d new devices", linked))
	}
	switch {
	case revoked == 1:
		parts = append(parts, "revoked a device")
	case revoked > 1:
		parts = append(parts, fmt.Sprintf("revoked %d devices", revoked))
	}
	if len(parts) == 0 {
		return "updated their devices"
	}
	return strings.Join(parts, " and ")
}

// previousDevices finds the device list of m's sender in the last device-list message
// it sent to the group before m.
func (s *Service) previousDevices(ctx context.Context, m protocol.Message) ([]protocol.DeviceEntry, bool) {
	before, seen := m.Seq, 0
	for seen < deviceLookback {
		ms, err := s.c.Messages(ctx, m.Group, protocol.MessageFilter{Before: before, Limit: 100})
		if err != nil || len(ms) == 0 {
			return nil, false
		}
		for _, o := range ms { // newest first
			if o.Sender == m.Sender && o.Content.Type == protocol.ContentDevices {
				return o.Content.Devices, true
			}
			before = o.Seq
		}
		seen += len(ms)
	}
	return nil, false
}
