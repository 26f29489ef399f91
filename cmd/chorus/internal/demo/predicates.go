package demo

import (
	"context"
	"slices"

	"github.com/chorus-im/chorus/devicelist"
	"github.com/chorus-im/chorus/protocol"
)

// A predicate is a condition on a device's engine events; scenario.wait waits for it (it
// runs under the collector's lock, each time an event arrives).
type predicate func(c *collector) bool

// A condition is a condition on a device's state that scenario.waitUntil polls.
type condition func(ctx context.Context) bool

// linked: the device, waiting after LinkCode, was linked to an account.
func linked(c *collector) bool { return c.linked != nil }

// joined: the device joined group g.
func joined(g protocol.GroupID) predicate {
	return func(c *collector) bool { return c.joined[g] != nil }
}

// received: every message of ids arrived (at least once).
func received(ids ...protocol.MessageID) predicate {
	return func(c *collector) bool {
		for _, id := range ids {
			if len(c.received[id]) == 0 {
				return false
			}
		}
		return true
	}
}

// sawAdded: the device was told that account was added to group g.
func sawAdded(g protocol.GroupID, account string) predicate {
	return func(c *collector) bool {
		for _, e := range c.members {
			if e.Group == g && slices.Contains(e.MembersAdded, account) {
				return true
			}
		}
		return false
	}
}

// sawRemoved: the device was told that account was removed from group g.
func sawRemoved(g protocol.GroupID, account string) predicate {
	return func(c *collector) bool {
		for _, e := range c.members {
			if e.Group == g && slices.Contains(e.MembersRemoved, account) {
				return true
			}
		}
		return false
	}
}

// toldRemoved: the device was told that its own account was removed from group g.
func toldRemoved(g protocol.GroupID) predicate {
	return func(c *collector) bool {
		for _, e := range c.members {
			if e.Group == g && e.Removed {
				return true
			}
		}
		return false
	}
}

// toldLost: the device was told that lost, from sender, is missing in group g.
func toldLost(g protocol.GroupID, sender protocol.AccountInfo, lost protocol.MessageID) predicate {
	return func(c *collector) bool { return reportsLost(c, g, sender, lost) }
}

// reportsLost reports whether c was told that lost, from sender, is missing: by name
// (a later message's causal history) or as a gap in the sender's key iterations.
func reportsLost(c *collector, g protocol.GroupID, sender protocol.AccountInfo, lost protocol.MessageID) bool {
	for _, m := range c.missing {
		if m.Group != g || m.SenderAccount != sender.ID {
			continue
		}
		if m.ByHistory && m.MessageIDPrefix == [16]byte(lost[:16]) {
			return true
		}
		if !m.ByHistory && m.SenderInstallation == sender.Installation && m.To > m.From {
			return true
		}
	}
	return false
}

// binds: d's contact code carries the binding signature of installation id.
func binds(d *device, id protocol.InstallationID) condition {
	return func(ctx context.Context) bool { return bindsNow(ctx, d, id) }
}

func bindsNow(ctx context.Context, d *device, id protocol.InstallationID) bool {
	code, err := d.client.ContactCode(ctx)
	if err != nil {
		return false
	}
	cc, err := protocol.ParseContactCode(code)
	if err != nil {
		return false
	}
	list, err := devicelist.Parse(cc.DeviceList)
	if err != nil {
		return false
	}
	for _, e := range list.Entries {
		if e.ID == id && e.Binding != nil {
			return true
		}
	}
	return false
}

// inGroup: d has group g.
func inGroup(d *device, g protocol.GroupID) condition {
	return func(ctx context.Context) bool { _, err := d.client.Group(ctx, g); return err == nil }
}

// knowsInstallations: d knows n installations of account (a contact).
func knowsInstallations(d *device, account string, n int) condition {
	return func(ctx context.Context) bool {
		ct, err := d.client.Contact(ctx, account)
		return err == nil && len(ct.Installations) == n
	}
}
