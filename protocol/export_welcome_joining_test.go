package protocol

import (
	"context"
	"errors"

	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/protocol/wire"
)

// SendOwnCreationWelcomeForTest has c (the creator of group g, its frontier still the
// creation event) send installation to the creation Welcome of g: the join of the
// creation event with its seed, g's secret and buckets, no log, no card; and publishes it.
func SendOwnCreationWelcomeForTest(c *Client, to InstallationID, g GroupID) error {
	ctx := context.Background()
	var outs []*storage.OutboxRecord
	err := c.tx(ctx, func(t *txn) error {
		rec, err := t.Group(g)
		if err != nil {
			return err
		}
		s, err := loadSchedule(rec)
		if err != nil {
			return err
		}
		f := s.Frontier()
		if len(f) != 1 {
			return errors.New("not the creation frontier")
		}
		seed, ok := s.Seed(f[0])
		if !ok {
			return errors.New("no seed for the creation event")
		}
		j, err := s.JoinFor(f[0], &seed)
		if err != nil {
			return err
		}
		jb, err := j.MarshalBinary()
		if err != nil {
			return err
		}
		body, err := (&wire.WelcomeV2{GroupID: g, ChatID: rec.ChatID, Secret: rec.Secret, Buckets: rec.Buckets,
			SentAt: uint64(c.now().UnixMilli()), Join: jb}).Marshal()
		if err != nil {
			return err
		}
		in, err := t.Installation(to)
		if err != nil {
			return err
		}
		outs, err = t.sendWelcomesV2([]*storage.InstallationRecord{in}, [][]byte{body}, "")
		return err
	})
	c.publishIDs(ctx, outs)
	return err
}
