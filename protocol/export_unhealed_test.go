package protocol

import (
	"context"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/protocol/wire"
)

// OpenedFrame is what the holder of some epochs reads of a v2 group publish.
type OpenedFrame struct {
	Opened bool            // the outer layer opened
	Block  *epoch.KeyBlock // its key block, if any
	Type   wire.ContentType
	Events []epoch.ID // the ids of the membership events its message carries
	Body   []byte     // its message's body, if the message opened
}

// OpenFrameForTest opens a v2 group payload of topic with the given epochs: outer layer,
// key block header and message (under the same epoch, signature unchecked).
func OpenFrameForTest(live []epoch.Epoch, group GroupID, topic string, payload []byte) OpenedFrame {
	pt, ep, err := epoch.OpenOuter(live, topic, payload)
	if err != nil {
		return OpenedFrame{}
	}
	out := OpenedFrame{Opened: true}
	f, err := wire.ParseFrameV2(pt)
	if err != nil {
		return out
	}
	if f.Block != nil {
		if kb, err := epoch.ParseKeyBlock(epoch.ID(group), f.Block); err == nil {
			out.Block = kb
		}
	}
	if f.Message == nil {
		return out
	}
	h, err := epoch.ParseMessageHeader(f.Message)
	if err != nil {
		return out
	}
	mb, err := epoch.NewReceiverChain(&ep, h.Installation).OpenWith(func(_, _, _ []byte) bool { return true }, nil, f.Message)
	if err != nil {
		return out
	}
	p, err := wire.ParseGroupPlaintextV2(mb)
	if err != nil {
		return out
	}
	out.Type, out.Body = p.Type, p.Body
	if p.Type == wire.ContentMembership {
		if m, err := wire.ParseMembership(p.Body); err == nil {
			if msg, err := membership.ParseMessage(m.Update); err == nil {
				for _, ev := range msg.Events {
					out.Events = append(out.Events, epoch.ID(ev.ID()))
				}
			}
		}
	}
	return out
}

// EventIDsForTest returns the ids of the membership events c holds of group g.
func EventIDsForTest(c *Client, g GroupID) map[epoch.ID]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[epoch.ID]bool{}
	if gc := c.groups[g]; gc != nil {
		for i := range gc.state.Events {
			out[epoch.ID(gc.state.Events[i].ID())] = true
		}
	}
	return out
}

// AnnounceDevicesForTest sends c's own device list to its contacts, installations and
// groups (a device-list change that revokes nothing).
func AnnounceDevicesForTest(c *Client) error {
	ctx := context.Background()
	var outs []*storage.OutboxRecord
	err := c.tx(ctx, func(t *txn) error {
		list, err := t.ownDeviceList(0)
		if err != nil {
			return err
		}
		outs, err = t.announceDevices(list, nil, "", true)
		return err
	})
	if err != nil {
		return err
	}
	c.publishIDs(ctx, outs)
	return nil
}
