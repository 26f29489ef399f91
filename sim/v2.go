package sim

import (
	"crypto/ecdh"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"runtime"
	"slices"
	"time"

	"github.com/chorus-im/chorus/doubleratchet"
	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/internal/chorustest"
	"github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/protocol/wire"
	"github.com/chorus-im/chorus/transport"
	"github.com/chorus-im/chorus/x3dh"
	"github.com/ethereum/go-ethereum/crypto"
)

// V2 holds figures of the group key schedule v2 (package epoch, spec/README.md protocol ›
// "Key schedule v2 (epochs)") for one group shape, measured in this process on real Double
// Ratchet sessions. The simulation's clients run v1 (cluster.go): these are the key
// schedule's own costs (slot sealing and opening, block sizes, epoch arithmetic), not a run
// of clients; storage and client overhead are not included.
type V2 struct {
	// Slots is the number of slots of a removal's rekey: every remaining installation but
	// the author.
	Slots int
	// BlockBytes is the removal's key block (it rides in the event's publish).
	BlockBytes int64
	// AddBlockBytes is an add's key block: one slot per existing installation but the
	// adder (newcomers get the seed in their Welcome).
	AddBlockBytes int64
	// AuthorCPU is the rekeying installation's thread CPU for one key event: seed, slot
	// seals, block encoding, outer seal of the block, its own schedule (median).
	AuthorCPU time.Duration
	// ReceiverCPU is one receiver's thread CPU for that key event: outer open of the
	// publish, block parse, its slot's Double Ratchet open with a DH ratchet turn (the worst
	// case), seed parse, schedule, new epoch and outer key (median).
	ReceiverCPU time.Duration
	// Creation at N × D, computed with the real encoders (not run): one creation message
	// with the CHAT_CREATED and MEMBERS_ADDED events, further messages with every
	// member's device list once (CreatePublishes publishes, CreatePublishBytes in all), and one
	// Welcome per other installation (CreateWelcomeBytes each, as published: an initial
	// X3DH inbox frame carrying the admin's device list and a Welcome v2 with a 68-byte join,
	// padded; CreateWelcomeUnpadded the same without padding).
	CreatePublishes                                               int
	CreatePublishBytes, CreateWelcomeBytes, CreateWelcomeUnpadded int64
	// MessageExtra is what an ordinary group message gains over v1 (the header names the
	// sender installation, 16 bytes, instead of an 8-byte key id).
	MessageExtra int
}

const v2Reps = 7

// v2AD stands in for the x3dh associated data of a pairwise session.
var v2AD = make([]byte, 2*33+2*16)

type v2Group struct {
	g          epoch.ID
	author     epoch.Installation
	recipients []epoch.Installation
	sessions   []*doubleratchet.Session
	sched      *epoch.Schedule
	prev       epoch.Epoch
}

func v2NewPair() (a, b *doubleratchet.Session, err error) {
	var sk [32]byte
	if _, err := io.ReadFull(rand.Reader, sk[:]); err != nil {
		return nil, nil, err
	}
	key, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	if a, err = doubleratchet.NewInitiator(rand.Reader, sk, [32]byte(key.PublicKey().Bytes())); err != nil {
		return nil, nil, err
	}
	b, err = doubleratchet.NewResponder(sk, key)
	return a, b, err
}

func newV2Group(slots int) (*v2Group, error) {
	vg := &v2Group{}
	rand.Read(vg.g[:])
	rand.Read(vg.author[:])
	vg.sched = epoch.NewSchedule(vg.g)
	for range slots {
		var id epoch.Installation
		rand.Read(id[:])
		a, _, err := v2NewPair()
		if err != nil {
			return nil, err
		}
		vg.recipients = append(vg.recipients, id)
		vg.sessions = append(vg.sessions, a)
	}
	var c epoch.ID
	var seed epoch.Seed
	rand.Read(c[:])
	rand.Read(seed[:])
	if err := vg.sched.Apply(epoch.Event{ID: c}); err != nil {
		return nil, err
	}
	if err := vg.sched.SetSeed(c, &seed); err != nil {
		return nil, err
	}
	var err error
	vg.prev, err = vg.sched.Current()
	return vg, err
}

const v2Topic = "/waku/2/chorus-v2/proto"

// rekey authors one rekey over the group's sessions and returns the publish.
func (vg *v2Group) rekey() (block, payload []byte, err error) {
	var nonce [epoch.NonceSize]byte
	var seed epoch.Seed
	rand.Read(nonce[:])
	rand.Read(seed[:])
	s := vg.sched.Clone()
	kb := epoch.NewRekey(vg.g, vg.author, nonce, s.Frontier())
	ctx := kb.Context(vg.g)
	ad := append(append(slices.Clone(v2AD), 0x03), ctx[:]...)
	pt, err := (&epoch.SlotPlaintext{Kind: epoch.SlotSeed, Seed: seed}).MarshalBinary()
	if err != nil {
		return nil, nil, err
	}
	kb.Slots = make([]epoch.Slot, len(vg.sessions))
	hinter := kb.Hinter()
	for i, sess := range vg.sessions {
		msg, err := sess.Encrypt(pt, ad)
		if err != nil {
			return nil, nil, err
		}
		kb.Slots[i] = epoch.Slot{Hint: hinter.Hint(vg.recipients[i]), Kind: epoch.SlotSession, Message: msg}
	}
	if block, err = kb.MarshalBinary(); err != nil {
		return nil, nil, err
	}
	frame := append(binary.BigEndian.AppendUint32([]byte{0x02, 0x01}, uint32(len(block))), block...) // version, flags: key block
	if payload, err = epoch.SealOuter(rand.Reader, &vg.prev, v2Topic, frame); err != nil {
		return nil, nil, err
	}
	if err := s.Apply(epoch.Event{ID: kb.Event, Prev: kb.Prev}); err != nil {
		return nil, nil, err
	}
	if err := s.SetSeed(kb.Event, &seed); err != nil {
		return nil, nil, err
	}
	_, err = s.Current()
	return block, payload, err
}

// receive is one recipient's processing of a rekey publish.
func (vg *v2Group) receive(me epoch.Installation, sess *doubleratchet.Session, payload []byte) error {
	s := vg.sched.Clone()
	frame, _, err := epoch.OpenOuter(s.Live(), v2Topic, payload)
	if err != nil {
		return err
	}
	kb, err := epoch.ParseKeyBlock(vg.g, frame[6:])
	if err != nil {
		return err
	}
	slot, ok := kb.Find(epoch.SlotHint(kb.Event, me))
	if !ok {
		return fmt.Errorf("sim: v2: no slot")
	}
	ctx := kb.Context(vg.g)
	pt, err := sess.Decrypt(rand.Reader, slot.Message, append(append(slices.Clone(v2AD), 0x03), ctx[:]...))
	if err != nil {
		return err
	}
	sp, err := epoch.ParseSlotPlaintext(pt)
	if err != nil {
		return err
	}
	if err := s.Apply(epoch.Event{ID: kb.Event, Prev: kb.Prev}); err != nil {
		return err
	}
	if err := s.SetSeed(kb.Event, &sp.Seed); err != nil {
		return err
	}
	ep, err := s.Current()
	if err != nil {
		return err
	}
	_ = ep.OuterKey()
	return nil
}

// measureV2 measures the v2 key schedule for N members × D installations: a removal of
// one member (its D installations) rekeyed by one remaining installation, one receiver,
// and the key block of an add. Runs on a goroutine locked to its thread (thread CPU).
func measureV2(n, d int) (V2, error) {
	type out struct {
		v   V2
		err error
	}
	ch := make(chan out, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		v, err := measureV2OnThread(n, d)
		ch <- out{v, err}
	}()
	o := <-ch
	return o.v, o.err
}

func measureV2OnThread(n, d int) (V2, error) {
	v := V2{Slots: n*d - d - 1, MessageExtra: epoch.InstallationSize - 8}
	vg, err := newV2Group(v.Slots)
	if err != nil {
		return v, err
	}
	var author, receiver []time.Duration
	for range v2Reps {
		// The receiver: a fresh session with the author, so that its open is a DH turn.
		a, b, err := v2NewPair()
		if err != nil {
			return v, err
		}
		me := len(vg.sessions) / 2
		vg.sessions[me] = a
		t0 := threadCPU()
		block, payload, err := vg.rekey()
		t1 := threadCPU()
		if err != nil {
			return v, err
		}
		author = append(author, time.Duration(t1-t0))
		v.BlockBytes = int64(len(block))
		t0 = threadCPU()
		err = vg.receive(vg.recipients[me], b, payload)
		t1 = threadCPU()
		if err != nil {
			return v, err
		}
		receiver = append(receiver, time.Duration(t1-t0))
	}
	v.AuthorCPU, v.ReceiverCPU = chorustest.Median(author), chorustest.Median(receiver)
	// An add: one slot per existing installation but the adder (N×D − 1); same slot size.
	per := float64(v.BlockBytes-int64(v2HeaderSize(vg))) / float64(max(v.Slots, 1))
	v.AddBlockBytes = int64(v2HeaderSize(vg)) + int64(per*float64(n*d-1))
	return v, nil
}

func v2HeaderSize(vg *v2Group) int {
	kb := epoch.KeyBlock{Kind: epoch.KindRekey, Prev: vg.sched.Frontier()}
	return kb.HeaderSize()
}

// transportMax is the largest payload one publish carries.
const transportMax = transport.MaxPayload

// deviceListSize is the size of the device list inside a contact code ("chorus1:" || base64url-nopad).
func deviceListSize(code string) int {
	cc, err := protocol.ParseContactCode(code)
	if err != nil {
		return 0
	}
	return len(cc.DeviceList)
}

// computeCreation fills the creation figures of the key schedule v2 for N members from the
// members' device list sizes (D installations each; spec: Welcome v2 and its budget). The total
// adds one Welcome per other installation (printed by the caller).
func (v *V2) computeCreation(n int, lists []int) error {
	if len(lists) < n {
		return fmt.Errorf("sim: v2: %d device lists for %d members", len(lists), n)
	}
	admin, err := crypto.GenerateKey()
	if err != nil {
		return err
	}
	chatID, err := membership.NewChatID(rand.Reader, &admin.PublicKey)
	if err != nil {
		return err
	}
	added := make([]string, 0, n-1)
	for range n - 1 {
		k, err := crypto.GenerateKey()
		if err != nil {
			return err
		}
		added = append(added, membership.PublicKeyString(&k.PublicKey))
	}
	var evs []membership.Event
	for _, ev := range []membership.Event{
		{Type: membership.ChatCreated, Clock: 1, Name: "scale"},
		{Type: membership.MembersAdded, Clock: 2, Members: membership.MembersOf(added...)},
	} {
		s, err := membership.SignEvent(admin, chatID, ev)
		if err != nil {
			return err
		}
		evs = append(evs, s)
	}
	log, err := (&membership.Message{ChatID: chatID, Events: evs}).MarshalBinary()
	if err != nil {
		return err
	}
	// Group messages under the new epoch: outer layer, frame (version, flags, u32), v2
	// message overhead, plaintext header (version, clock, timestamp, type, u32 body, empty
	// history) and the membership body u32<log> || u32<device lists>.
	const perMessage = epoch.OuterOverhead + 2 + 4 + epoch.MessageOverhead + 1 + 8 + 8 + 1 + 4 + 1 + 4 + 4
	v.CreatePublishes, v.CreatePublishBytes = 1, int64(perMessage+len(log))
	room, used := transportMax-perMessage, 0
	for _, c := range lists[:n] {
		if used+2+c > room {
			v.CreatePublishes++
			v.CreatePublishBytes += int64(perMessage + used)
			used = 0
		}
		used += 2 + c
	}
	if used > 0 {
		v.CreatePublishes++
		v.CreatePublishBytes += int64(perMessage + used)
	}
	// One Welcome as published.
	var seed epoch.Seed
	rand.Read(seed[:])
	var ev epoch.ID
	rand.Read(ev[:])
	join, err := epoch.Join{{Event: ev, Kind: epoch.SlotSeed, Value: seed}}.MarshalBinary()
	if err != nil {
		return err
	}
	w := &wire.WelcomeV2{ChatID: chatID, Buckets: 1, SentAt: uint64(time.Now().UnixMilli()), Join: join}
	rand.Read(w.GroupID[:])
	rand.Read(w.Secret[:])
	body, err := w.Marshal()
	if err != nil {
		return err
	}
	pm, err := (&wire.PairwiseMessage{DeviceList: make([]byte, lists[0]), Type: wire.PairwiseWelcomeV2, Body: body}).Marshal()
	if err != nil {
		return err
	}
	// As published (the pairwise message padded to its bucket inside the Double Ratchet
	// encryption: spec › Pairwise messages › Padding), and as it would be unpadded.
	if v.CreateWelcomeBytes, err = welcomeFrameSize(wire.PadInbox(pm)); err != nil {
		return err
	}
	v.CreateWelcomeUnpadded, err = welcomeFrameSize(pm)
	return err
}

// welcomeFrameSize is the size of an initial (X3DH) inbox frame carrying pt.
func welcomeFrameSize(pt []byte) (int64, error) {
	a, _, err := v2NewPair()
	if err != nil {
		return 0, err
	}
	dr, err := a.Encrypt(pt, v2AD)
	if err != nil {
		return 0, err
	}
	hdr, err := (&x3dh.Header{Version: x3dh.Version}).MarshalBinary()
	if err != nil {
		return 0, err
	}
	ip, err := (&wire.InitialPayload{Header: hdr, Message: dr}).Marshal()
	if err != nil {
		return 0, err
	}
	frame := (&wire.InboxFrame{Kind: wire.KindInitial, Body: make([]byte, 32+len(ip)+16)}).Marshal()
	return int64(len(frame)), nil
}
