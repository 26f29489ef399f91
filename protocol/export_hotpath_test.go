package protocol

import (
	"context"
	cryptorand "crypto/rand"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol/wire"
)

// ForgeNextMessage builds a publish on g's topic claiming to be victim's next group
// message (the iteration victim seals next, under victim's current epoch) with text:
// chain keys and outer layer right (any member can derive them), but signed with
// forger's installation key instead of victim's. It returns the topic and the payload.
func ForgeNextMessage(forger, victim *Client, g GroupID, text string) (string, []byte) {
	ctx := context.Background()
	var topic string
	var ep epoch.Epoch
	var next uint32
	var inst InstallationID
	if err := victim.tx(ctx, func(t *txn) error {
		rec, err := t.GroupState(g)
		if err != nil {
			return err
		}
		s, err := loadSchedule(rec)
		if err != nil {
			return err
		}
		if ep, err = s.Current(); err != nil {
			return err
		}
		topic, inst = rec.Topic, t.c.acct.inst
		ch, err := t.SenderChain(g, ep.ID)
		if err != nil {
			return err
		}
		var sc epoch.SenderChain
		if err := sc.UnmarshalBinary(ch.State); err != nil {
			return err
		}
		next = sc.Iteration()
		return nil
	}); err != nil {
		panic(err)
	}
	forger.mu.Lock()
	key := forger.acct.ident.SigningKey()
	forger.mu.Unlock()
	typ, body, err := Text(text).encode()
	if err != nil {
		panic(err)
	}
	pt, err := (&wire.GroupPlaintextV2{Clock: 1 << 20, Timestamp: uint64(victim.now().UnixMilli()), Type: typ, Body: body}).Marshal()
	if err != nil {
		panic(err)
	}
	sc := epoch.NewSenderChain(&ep, epoch.Installation(inst))
	if err := sc.SkipTo(next); err != nil {
		panic(err)
	}
	msg, err := sc.Seal(key, pt)
	if err != nil {
		panic(err)
	}
	frame, err := (&wire.FrameV2{Message: msg}).Marshal()
	if err != nil {
		panic(err)
	}
	payload, err := epoch.SealOuter(cryptorand.Reader, &ep, topic, frame)
	if err != nil {
		panic(err)
	}
	return topic, payload
}
