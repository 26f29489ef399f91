package demo

import (
	"context"

	"github.com/chorus-im/chorus/devicelist"
	"github.com/chorus-im/chorus/protocol"
)

// A condition is a condition on a device's state that story.waitUntil polls (a
// condition on its events is a chorustest.Predicate, for story.wait).
type condition func(ctx context.Context) bool

// binds: d's contact code carries the binding signature of installation id.
func binds(d *device, id protocol.InstallationID) condition {
	return func(ctx context.Context) bool { return bindsNow(ctx, d, id) }
}

func bindsNow(ctx context.Context, d *device, id protocol.InstallationID) bool {
	code, err := d.Client.ContactCode(ctx)
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
	return func(ctx context.Context) bool { _, err := d.Client.Group(ctx, g); return err == nil }
}

// knowsInstallations: d knows n installations of account (a contact).
func knowsInstallations(d *device, account string, n int) condition {
	return func(ctx context.Context) bool {
		ct, err := d.Client.Contact(ctx, account)
		return err == nil && len(ct.Installations) == n
	}
}
